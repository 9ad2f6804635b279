package web_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUserTextIsIsolated: display names, usernames, bios and post bodies are shown
// isolated (<bdi>, dir="auto", or U+2068…U+2069 in the title), so that a right-to-left
// override in them cannot reverse the page around them; the settings refuse such a
// display name (issue 13, item 13).
func TestUserTextIsIsolated(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice, bob := s.client(), s.client()
	alice.signup("alice")
	bob.signup("bob")
	const rlo = "\u202E"

	res := alice.post("/settings", url.Values{"display_name": {"Alice" + rlo + "nimda"}, "bio": {"bio " + rlo + "reversed"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "invisible formatting characters")
	res = alice.post("/settings", url.Values{"display_name": {"Alice"}, "bio": {"bio " + rlo + "reversed"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	// A display name stored before the rule existed.
	_, err := s.pool.Exec(context.Background(), `UPDATE users SET display_name = $1 WHERE username = 'alice'`, "Ali"+rlo+"ce")
	require.NoError(t, err)
	res = alice.post("/posts", url.Values{"body": {"hi @bob " + rlo + "txet"}})
	require.Equal(t, http.StatusSeeOther, res.status)

	page := bob.get("/")
	require.Contains(t, page.body, `<strong><bdi>Ali`+rlo+`ce</bdi></strong> <span class="handle"><bdi>@alice</bdi></span>`)
	require.Contains(t, page.body, `<div class="body" dir="auto">hi`)
	require.Contains(t, page.body, `<a href="/@bob"><bdi>@bob</bdi></a>`, "the viewer's own name in the header")

	profile := bob.get("/@alice")
	require.Contains(t, profile.body, `<h1><bdi>Ali`+rlo+`ce</bdi> <span class="handle"><bdi>@alice</bdi></span></h1>`)
	require.Contains(t, profile.body, `<p class="bio" dir="auto">bio `+rlo+`reversed</p>`)
	require.Contains(t, profile.body, "<title>\u2068Ali"+rlo+"ce\u2069 (@alice) · Starling</title>")

	s.waitFor(`SELECT count(*) FROM notifications`, 1)
	require.Contains(t, bob.get("/notifications").body, `<strong><bdi>Ali`+rlo+`ce</bdi></strong></a> mentioned you`)
	require.Contains(t, alice.get("/settings").body, `name="bio" dir="auto"`)
}
