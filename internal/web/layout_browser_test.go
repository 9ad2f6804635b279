package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// TestPagesFitPhonesAndDesktops opens the main pages in Chromium at a phone's width
// (390 px) and a desktop's (1280 px): nothing is wider than the screen (no sideways
// scrolling), and the sticky header stays one line high. With STARLING_SCREENSHOTS set
// to a folder, it also saves a full-page PNG of each page at each width there (how the
// screenshots in docs/website.md were made).
func TestPagesFitPhonesAndDesktops(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := newBrowser(t)
	bg := context.Background()
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	shots := os.Getenv("STARLING_SCREENSHOTS")

	bob, err := s.core.SignUp(bg, core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: testPassword,
		DisplayName: "Bob from the kitchen"})
	require.NoError(t, err)
	lunch, _, err := s.core.Publish(bg, bob, core.NewPost{Body: "Who wants #lunch? The menu is at https://example.com/menu/today-and-tomorrow-and-the-day-after"})
	require.NoError(t, err)
	_, err = s.pool.Exec(bg, `INSERT INTO daily_stats (day, posts, active_authors, new_users, mentions, notifications_emailed)
		SELECT d, 100 + i, 10 + i % 7, i % 3, 20 + i, 12345 + i FROM generate_series(1, 30) i,
		LATERAL (SELECT (current_date - i)::date AS d) x`)
	require.NoError(t, err)

	browserSignUp(t, ctx, s.srv.URL, "alice")
	require.NoError(t, s.core.GrantAdmin(bg, "alice"))
	_, _, err = s.core.Publish(bg, bob, core.NewPost{Body: "@alice the standup moved to 10:30", SpoilerText: "work"})
	require.NoError(t, err)
	s.waitFor(`SELECT count(*) FROM notifications`, 1)

	pages := []struct{ name, path, waitFor string }{
		{"public", "/", "article.post"},
		{"home", "/home", "textarea[name=body]"},
		{"post", fmt.Sprintf("/posts/%d", lunch.ID), ".focus article.post"},
		{"profile", "/@bob", ".profile"},
		{"notifications", "/notifications", "main h1"},
		{"settings", "/settings", "#f-display_name"},
		{"stats", "/stats", "table.stats"},
		{"search", "/search?q=lunch", "form.search"},
		{"admin", "/admin", "main h1"},
	}
	for _, vp := range []struct {
		name          string
		width, height int64
	}{{"mobile", 390, 844}, {"desktop", 1280, 800}} {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(vp.width, vp.height)))
		for _, p := range pages {
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(s.srv.URL+p.path), chromedp.WaitVisible(css(p.waitFor))), p.path)
			m, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
				ScrollWidth  int     `json:"scrollWidth"`
				ClientWidth  int     `json:"clientWidth"`
				HeaderHeight float64 `json:"headerHeight"`
				Widest       string  `json:"widest"`
			}](`(() => {
				const doc = document.documentElement;
				let widest = "";
				document.querySelectorAll("body *").forEach(el => {
					const r = el.getBoundingClientRect();
					if (r.right > doc.clientWidth + 1 && !widest) widest = el.tagName + "." + el.className + " (" + Math.round(r.right) + " px)";
				});
				return {scrollWidth: doc.scrollWidth, clientWidth: doc.clientWidth,
					headerHeight: document.querySelector("header.site").getBoundingClientRect().height, widest};
			})()`))
			require.NoError(t, err)
			require.LessOrEqual(t, m.ScrollWidth, m.ClientWidth, "%s at %s: wider than the screen: %s", p.path, vp.name, m.Widest)
			require.LessOrEqual(t, m.HeaderHeight, 60.0, "%s at %s: the sticky header takes %.0f px", p.path, vp.name, m.HeaderHeight)
			if shots != "" {
				png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(shots, p.name+"-"+vp.name+".png"), png, 0o644))
			}
		}
	}
}

// TestThemeFollowsTheDeviceOrTheChoice: the website is light or dark as the device is
// set, until the user chooses one in Settings; the choice is stored with the account (a
// second browser, logged in as the same user, has it too), and a theme that is not one
// of the three is refused, naming the field.
func TestThemeFollowsTheDeviceOrTheChoice(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	browser := newBrowser(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	const light, dark = "rgb(246, 247, 249)", "rgb(18, 22, 27)"
	background := func(ctx context.Context, scheme string) string {
		setColorScheme(ctx, t, scheme)
		bg, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.documentElement).backgroundColor`))
		require.NoError(t, err)
		return bg
	}
	one, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	browserSignUp(t, one, s.srv.URL, "alice")
	require.Equal(t, light, background(one, "light"), "follows the device: light")
	require.Equal(t, dark, background(one, "dark"), "follows the device: dark")

	choose := func(theme string) {
		require.NoError(t, chromedp.Do(one,
			chromedp.Navigate(s.srv.URL+"/settings"),
			chromedp.WaitVisible(css(`#f-theme`)),
			chromedp.SetValue(css(`#f-theme`), theme),
			chromedp.Submit(css(`#f-theme`)),
			chromedp.WaitVisible(css(`.flash`)),
		))
	}
	choose("light")
	require.Equal(t, light, background(one, "dark"), "chosen light, on a dark device")
	choose("dark")
	require.Equal(t, dark, background(one, "light"), "chosen dark, on a light device")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM users WHERE username = 'alice' AND theme = 'dark'`))

	two, cancel2 := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel2()
	require.NoError(t, chromedp.Do(two,
		chromedp.Navigate(s.srv.URL+"/login"),
		chromedp.WaitVisible(css(`#f-login`)),
		chromedp.SendKeys(css(`#f-login`), "alice"),
		chromedp.SendKeys(css(`#f-password`), testPassword),
		chromedp.Submit(css(`#f-password`)),
		chromedp.WaitVisible(css(`a[href="/home"]`)),
	))
	require.Equal(t, dark, background(two, "light"), "the choice goes with the account")

	choose("system")
	require.Equal(t, light, background(one, "light"), "back to following the device")

	c := s.client()
	c.signup("bob")
	res := c.post("/settings", url.Values{"display_name": {"Bob"}, "theme": {"sepia"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, `<a href="#f-theme">Choose the system&#39;s theme, light or dark.</a>`)
}
