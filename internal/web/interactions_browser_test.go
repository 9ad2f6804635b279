package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// TestBrowserReplyFavouriteBoost: in a real Chromium, with JavaScript and without it,
// alice opens bob's post, replies from its page, favourites it and boosts it. Without
// JavaScript every button is a form that comes back to the page (303); with it the post
// is updated in place, without a reload. Each action is checked in the database too.
func TestBrowserReplyFavouriteBoost(t *testing.T) {
	t.Parallel()
	for _, js := range []bool{true, false} {
		t.Run(fmt.Sprintf("javascript=%v", js), func(t *testing.T) {
			t.Parallel()
			s := newSite(t)
			ctx := newBrowser(t)
			css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
			bob, err := s.core.SignUp(context.Background(), core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: testPassword})
			require.NoError(t, err)
			post, _, err := s.core.Publish(context.Background(), bob, core.NewPost{Body: "Who wants lunch?"})
			require.NoError(t, err)
			page := fmt.Sprintf("%s/posts/%d", s.srv.URL, post.ID)
			browserSignUp(t, ctx, s.srv.URL, "alice")
			if !js {
				require.NoError(t, chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
					_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
					return err
				})))
			}
			count := func(q string) int {
				var n int
				require.NoError(t, s.pool.QueryRow(context.Background(), q, post.ID).Scan(&n))
				return n
			}

			// Reply from the post's page: the form starts with @bob.
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(page),
				chromedp.WaitVisible(css(`#reply textarea[name=body]`)),
				chromedp.SendKeys(css(`#reply textarea[name=body]`), "me, please"),
				chromedp.Click(css(`#reply button[type=submit]`)),
				chromedp.WaitVisible(css(`.flash`)),
				chromedp.WaitVisible(css(`.thread .reply-in-thread article.post`)),
			))
			text, err := chromedp.Run(ctx, chromedp.Text(css(`.thread .reply-in-thread`)))
			require.NoError(t, err)
			require.Contains(t, text, "me, please", "the reply shows in the thread")
			require.Equal(t, 1, count(`SELECT count(*) FROM posts WHERE in_reply_to_id = $1`))
			var body string
			require.NoError(t, s.pool.QueryRow(context.Background(), `SELECT body FROM posts WHERE in_reply_to_id = $1`, post.ID).Scan(&body))
			require.Contains(t, []string{"@bob me, please", "me, please@bob"}, body, "typed into the form that starts with @bob")

			if js {
				_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.starlingMarker = true`))
				require.NoError(t, err)
			}
			// Favourite, then boost, the post at the focus of the thread.
			focus := fmt.Sprintf(`.focus #post-%d`, post.ID)
			require.NoError(t, chromedp.Do(ctx, chromedp.Click(css(focus+` button.favourite`)),
				chromedp.WaitVisible(css(focus+` button.favourite[aria-pressed="true"]`))), "the button shows the favourite")
			require.Equal(t, 1, count(`SELECT count(*) FROM favourites WHERE post_id = $1`))
			require.NoError(t, chromedp.Do(ctx, chromedp.Click(css(focus+` button.boost`)),
				chromedp.WaitVisible(css(focus+` button.boost[aria-pressed="true"]`))), "the button shows the boost")
			require.Equal(t, 1, count(`SELECT count(*) FROM posts WHERE reblog_of_id = $1`))
			if js {
				stayed, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.starlingMarker === true`))
				require.NoError(t, err)
				require.True(t, stayed, "updated in place, no reload")
			}

			// Alice's profile lists the boost with bob's post inside.
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+"/@alice"), chromedp.WaitVisible(css(`article.boost`))))
			text, err = chromedp.Run(ctx, chromedp.Text(css(`article.boost`)))
			require.NoError(t, err)
			require.Contains(t, text, "boosted")
			require.Contains(t, text, "Who wants lunch?")
		})
	}
}
