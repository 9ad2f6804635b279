package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFirstRun: what a new visitor of a new server sees (issue 20, item 3): an empty
// public timeline that says what the site is and offers signup and login, an icon for
// the browser's first /favicon.ico, and a login that lands on the home timeline.
func TestFirstRun(t *testing.T) {
	t.Parallel()
	s := newSite(t)

	visitor := s.client()
	home := visitor.get("/")
	require.Equal(t, http.StatusOK, home.status)
	require.Contains(t, home.body, "This is a Starling server: a microblog for a team.")
	require.Contains(t, home.body, `<a class="button" href="/signup">Sign up</a>`)
	require.Contains(t, home.body, `<a href="/login">log in</a>`)
	require.Contains(t, home.body, `<link rel="icon" href="/static/icon.png" type="image/png">`)

	ico := visitor.get("/favicon.ico")
	require.Equal(t, http.StatusOK, ico.status)
	require.Equal(t, "image/x-icon", ico.header.Get("Content-Type"))
	require.Equal(t, "\x00\x00\x01\x00", ico.body[:4], "an ICO file")
	icon := visitor.get("/static/icon.png")
	require.Equal(t, http.StatusOK, icon.status)
	require.Equal(t, "\x89PNG", icon.body[:4])

	alice := s.client()
	alice.signup("alice")
	res := alice.get("/home")
	require.Contains(t, res.body, "Your home timeline shows your posts and those of the people you follow.")
	res = alice.get("/")
	require.Contains(t, res.body, "Nothing has been posted here yet. Write the first post above")
	require.NotContains(t, res.body, "This is a Starling server")

	// Logging in without a page to go back to lands on /home; with one, there.
	res = s.client().post("/login", url.Values{"login": {"alice"}, "password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/home", res.location)
	res = s.client().post("/login", url.Values{"login": {"alice"}, "password": {testPassword}, "next": {"/@alice"}})
	require.Equal(t, "/@alice", res.location)
	res = s.client().post("/login", url.Values{"login": {"alice"}, "password": {testPassword}, "next": {"https://evil.example/"}})
	require.Equal(t, "/", res.location, "never off the site")

	// Once there is a post, the welcome is gone.
	res = alice.post("/posts", url.Values{"body": {"the first post"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	res = s.client().get("/")
	require.Contains(t, res.body, "the first post")
	require.NotContains(t, res.body, "This is a Starling server")
}
