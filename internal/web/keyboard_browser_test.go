package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// TestKeyboardOnly: a person who uses no mouse signs up, posts, replies, favourites and
// logs out, in Chromium, with nothing but Tab, typing and Enter. Each step moves the
// focus with Tab to the control it needs (so each control is reachable in the tab order),
// and the focused control shows a focus ring.
func TestKeyboardOnly(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := newBrowser(t)
	bg := context.Background()
	bob, err := s.core.SignUp(bg, core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: testPassword})
	require.NoError(t, err)
	lunch, _, err := s.core.Publish(bg, bob, core.NewPost{Body: "Who wants lunch?"})
	require.NoError(t, err)

	// tabTo presses Tab until the focus is on sel (at most 80 times), and checks that the
	// focus can be seen.
	tabTo := func(sel string) {
		t.Helper()
		for range 80 {
			require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)))
			on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`document.activeElement.matches(%q)`, sel)))
			require.NoError(t, err)
			if on {
				ring, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(s => s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0)(getComputedStyle(document.activeElement))`))
				require.NoError(t, err)
				require.True(t, ring, "%s has a visible focus ring", sel)
				return
			}
		}
		t.Fatalf("Tab never reached %s", sel)
	}
	typeText := func(text string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(text)))
	}
	enter := func(waitFor string) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(waitFor))))
	}

	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`article.post`))))
	tabTo(`a.skip`) // the first stop: skip to the content
	tabTo(`header a[href="/signup"]`)
	enter(`#f-username`)
	tabTo(`#f-username`)
	typeText("alice")
	tabTo(`#f-email`)
	typeText("alice@example.com")
	tabTo(`#f-password`)
	typeText(testPassword)
	enter(`textarea[name=body]`) // Enter in the last field sends the form
	require.Equal(t, 1, s.count(`SELECT count(*) FROM users WHERE username = 'alice'`))

	// Post from the home page.
	tabTo(`#compose-body`)
	typeText("Typed without a mouse")
	tabTo(`form.compose button[type=submit]`)
	enter(`#timeline article.post`) // the home timeline was empty before
	require.Equal(t, 1, s.count(`SELECT count(*) FROM posts WHERE body = 'Typed without a mouse'`))

	// Open bob's post from the public timeline by its time link, and reply.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`article.post`))))
	tabTo(fmt.Sprintf(`#post-%d a.time`, lunch.ID))
	enter(`#reply textarea`)
	tabTo(`#reply textarea`)
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(kb.End)))
	typeText(" me, please")
	tabTo(`#reply button[type=submit]`)
	enter(`.thread .reply-in-thread article.post`)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM posts WHERE in_reply_to_id = $1`, lunch.ID))

	// Favourite it (live.js sends it and swaps the post in place), then log out.
	tabTo(fmt.Sprintf(`.focus #post-%d button.favourite`, lunch.ID))
	enter(fmt.Sprintf(`.focus #post-%d button.favourite[aria-pressed="true"]`, lunch.ID))
	require.Equal(t, 1, s.count(`SELECT count(*) FROM favourites WHERE post_id = $1`, lunch.ID))
	tabTo(`form[action="/logout"] button`)
	enter(`header a[href="/login"]`)
}
