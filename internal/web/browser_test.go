package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// chromiumPath finds a Chromium to drive. `make test` installs Debian's chromium when it is
// missing and sets STARLING_REQUIRE_BROWSER=1, so there a missing browser fails the test.
func chromiumPath(t *testing.T) string {
	if p := os.Getenv("STARLING_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("STARLING_REQUIRE_BROWSER") != "" {
		t.Fatal("no Chromium found, and STARLING_REQUIRE_BROWSER is set: install Debian's chromium package")
	}
	// Reason: plain `go test` on a machine without a browser; `make test` always runs this.
	t.Skip("no Chromium installed; `make test` installs it and runs this test")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, no network chatter of its own.
// browserSignUp signs name up through the form at base in the browser tab ctx (password
// testPassword), and waits for the home page's compose box.
func browserSignUp(t *testing.T, ctx context.Context, base, name string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/signup"),
		chromedp.WaitVisible(chromedp.CSS(`#f-username`)),
		chromedp.SendKeys(chromedp.CSS(`#f-username`), name),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), name+"@example.com"),
		chromedp.SendKeys(chromedp.CSS(`#f-password`), testPassword),
		chromedp.Submit(chromedp.CSS(`#f-password`)),
		chromedp.WaitVisible(chromedp.CSS(`textarea[name=body]`)),
	))
}

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank"))) // starts the browser
	return ctx
}

func TestBrowserSignupPostLogout(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := newBrowser(t)
	base := s.srv.URL
	const post = "Hello from a real browser, @bob! https://example.com"
	_, err := s.core.SignUp(context.Background(), core.SignUpInput{Username: "bob", Email: "bob@example.com", Password: testPassword})
	require.NoError(t, err)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }

	// Sign up through the form.
	browserSignUp(t, ctx, base, "alice")
	flash, err := chromedp.Run(ctx, chromedp.Text(css(`.flash`)))
	require.NoError(t, err)
	require.Contains(t, flash, "Welcome to Starling, @alice!")

	// Log out, log in again through the form, and post from the home page.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(css(`form[action="/logout"] button`)),
		chromedp.WaitVisible(css(`a[href="/login"]`)),
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(css(`#f-login`)),
		chromedp.SendKeys(css(`#f-login`), "alice"),
		chromedp.SendKeys(css(`#f-password`), testPassword),
		chromedp.Submit(css(`#f-password`)),
		chromedp.WaitVisible(css(`a[href="/home"]`)),
		chromedp.Navigate(base+"/home"),
		chromedp.WaitVisible(css(`textarea[name=body]`)),
		chromedp.SendKeys(css(`textarea[name=body]`), post),
		chromedp.Click(css(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(css(`article.post`)),
	))
	homeText, err := chromedp.Run(ctx, chromedp.Text(css(`main`)))
	require.NoError(t, err)
	require.Contains(t, homeText, post)

	s.waitFor(`SELECT count(*) FROM mentions`, 1) // the mentions worker links @bob

	// Log out and read the public timeline as anyone would.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(css(`form[action="/logout"] button`)),
		chromedp.WaitVisible(css(`a[href="/login"]`)),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(css(`article.post`)),
	))
	publicText, err := chromedp.Run(ctx, chromedp.Text(css(`.timeline`)))
	require.NoError(t, err)
	require.Contains(t, publicText, post, "the post is on the public timeline for a logged-out reader")
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`article.post a.mention`), "href"))
	require.NoError(t, err)
	require.Equal(t, "/@bob", href.Value)
	boxes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('textarea').length`))
	require.NoError(t, err)
	require.Zero(t, boxes, "logged out: no compose box")
	require.True(t, strings.Contains(s.logs.String(), `"path":"/logout"`))
}

// TestBrowserLiveTimelineAndBadge: two people in two browser contexts (separate cookies).
// What one posts appears on the other's open timeline without a reload, and a mention
// updates the other's notification badge.
func TestBrowserLiveTimelineAndBadge(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	browser := newBrowser(t)
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	alice, cancelA := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelA()
	bob, cancelB := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancelB()
	browserSignUp(t, alice, s.srv.URL, "alice")
	browserSignUp(t, bob, s.srv.URL, "bob")

	// Bob watches the public timeline; a marker tells whether the page reloads.
	require.NoError(t, chromedp.Do(bob,
		chromedp.Navigate(s.srv.URL+"/"),
		chromedp.WaitVisible(css(`#timeline`)),
	))
	_, err := chromedp.Run(bob, chromedp.Evaluate[bool](`window.starlingMarker = true`))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return s.hubSubscribers() >= 2 }, 10*time.Second, 20*time.Millisecond)

	const text = "Live from another browser, @bob!"
	require.NoError(t, chromedp.Do(alice,
		chromedp.Navigate(s.srv.URL+"/"),
		chromedp.WaitVisible(css(`textarea[name=body]`)),
		chromedp.SendKeys(css(`textarea[name=body]`), text),
		chromedp.Click(css(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(css(`article.post`)),
	))
	start := time.Now()
	// The post waits behind a button that says so (and a polite announcement), instead of
	// pushing bob's page down.
	offer, err := chromedp.Run(bob, chromedp.Poll[string](
		`(b => b && !b.hidden && b.textContent)(document.getElementById("new-posts"))`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "bob is offered the new post")
	t.Logf("alice's post reached bob's browser %s after she posted", time.Since(start).Round(time.Millisecond))
	require.Equal(t, "Show 1 new post", offer)
	announced, err := chromedp.Run(bob, chromedp.Evaluate[string](`document.getElementById("live-status").textContent`))
	require.NoError(t, err)
	require.Equal(t, "1 new post", announced)
	shown, err := chromedp.Run(bob, chromedp.Evaluate[bool](`document.getElementById("timeline").innerText.includes("Live from another browser")`))
	require.NoError(t, err)
	require.False(t, shown, "not inserted until bob asks")
	require.NoError(t, chromedp.Do(bob, chromedp.Click(css(`#new-posts`))))
	_, err = chromedp.Run(bob, chromedp.Poll[bool](
		`document.getElementById("timeline").innerText.includes("Live from another browser")`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the post appears on bob's open timeline")
	focused, err := chromedp.Run(bob, chromedp.Evaluate[bool](`document.activeElement.matches("#timeline article.fresh") && document.getElementById("new-posts").hidden`))
	require.NoError(t, err)
	require.True(t, focused, "the focus moves to the new post, and the button goes")

	// Relative times keep up while the page stays open.
	ago, err := chromedp.Run(bob, chromedp.Evaluate[string](`(t => {
		t.setAttribute("datetime", new Date(Date.now() - 5*60*1000).toISOString());
		document.dispatchEvent(new Event("visibilitychange"));
		return t.textContent;
	})(document.querySelector("#timeline article.fresh .time time"))`))
	require.NoError(t, err)
	require.Equal(t, "5m", ago)
	linked, err := chromedp.Run(bob, chromedp.Evaluate[bool](`document.querySelector('#timeline article.fresh a.mention[href="/@bob"]') !== null`))
	require.NoError(t, err)
	require.True(t, linked, "the pushed post links @bob as a reloaded page does")
	controls, err := chromedp.Run(bob, chromedp.Evaluate[bool](`document.querySelector('#timeline article.fresh button.favourite') !== null`))
	require.NoError(t, err)
	require.True(t, controls, "and carries bob's own controls")
	badge, err := chromedp.Run(bob, chromedp.Poll[string](
		`(function(){ var b = document.getElementById("unread"); return b && !b.hidden && b.textContent; })()`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the mention updates bob's badge")
	require.Equal(t, "1", badge)
	stillThere, err := chromedp.Run(bob, chromedp.Evaluate[bool](`window.starlingMarker === true`))
	require.NoError(t, err)
	require.True(t, stillThere, "no reload happened")

	// A deleted post disappears from bob's page.
	var id int64
	require.NoError(t, s.pool.QueryRow(context.Background(), `SELECT id FROM posts`).Scan(&id))
	require.NoError(t, chromedp.Do(alice, chromedp.Click(css(`#post-`+strconv.FormatInt(id, 10)+` form.delete button`)),
		chromedp.WaitVisible(css(`button.danger-fill`)), chromedp.Click(css(`button.danger-fill`)),
		chromedp.WaitVisible(css(`.flash`))), "asked first, then deleted")
	_, err = chromedp.Run(bob, chromedp.Poll[bool](`document.getElementById("post-`+strconv.FormatInt(id, 10)+`") === null`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the deleted post disappears without a reload")
}

// TestBrowserComposeWithAPicture: in Chromium, a picture chosen in the compose form's
// file input, with its description, is posted; the post shows it (loaded by the browser)
// with the description as its alt text. A sensitive post shows only its blurhash until
// its summary is clicked.
func TestBrowserComposeWithAPicture(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	ctx := newBrowser(t)
	base := s.srv.URL
	_, err := s.core.SignUp(context.Background(), core.SignUpInput{Username: "alice", Email: "alice@example.com", Password: testPassword})
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "valley.jpg")
	require.NoError(t, os.WriteFile(file, photoJPEG(t, 240, 160), 0o644))
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(css(`#f-login`)),
		chromedp.SendKeys(css(`#f-login`), "alice"),
		chromedp.SendKeys(css(`#f-password`), testPassword),
		chromedp.Submit(css(`#f-password`)),
		chromedp.WaitVisible(css(`a[href="/home"]`)),
		chromedp.Navigate(base+"/home"),
		chromedp.WaitVisible(css(`textarea[name=body]`)),
		chromedp.SendKeys(css(`textarea[name=body]`), "the valley"),
		chromedp.Click(css(`details.media summary`)),
		chromedp.WaitVisible(css(`#image1`)),
		chromedp.SetUploadFiles(css(`#image1`), []string{file}),
		chromedp.SendKeys(css(`#alt1`), "A green valley at dawn"),
		chromedp.Click(css(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(css(`article.post figure.picture img`)),
	))
	alt, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`article.post figure.picture img`), "alt"))
	require.NoError(t, err)
	require.Equal(t, "A green valley at dawn", alt.Value)
	require.Eventually(t, func() bool {
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelector('article.post figure.picture img').naturalWidth`))
		return err == nil && w > 0
	}, 10*time.Second, 50*time.Millisecond, "the browser loaded the picture")

	// Sensitive: hidden behind the blurhash until clicked.
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(css(`textarea[name=body]`), "careful"),
		chromedp.Click(css(`details.media summary`)),
		chromedp.WaitVisible(css(`#image1`)),
		chromedp.SetUploadFiles(css(`#image1`), []string{file}),
		chromedp.SendKeys(css(`#alt1`), "The same valley"),
		chromedp.Click(css(`input[name=sensitive]`)),
		chromedp.Click(css(`form.compose button[type=submit]`)),
		chromedp.WaitVisible(css(`details.attachments.sensitive summary img.blur`)),
	))
	hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const img = document.querySelector('details.attachments.sensitive figure img'); return !img.checkVisibility() && !img.closest('details').open })()`))
	require.NoError(t, err)
	require.True(t, hidden, "the sensitive picture is not shown before the click")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Click(css(`details.attachments.sensitive summary`)),
		chromedp.WaitVisible(css(`details.attachments.sensitive figure img`)),
	))
}
