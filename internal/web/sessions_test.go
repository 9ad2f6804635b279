package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAnonymousVisitorsGetNoSessionRow: reading pages, failing to log in, a refused
// cross-site form and POST /logout without a session store no session and set no session
// cookie; logging out deletes the row and still shows its message once (issue 13, item 11).
func TestAnonymousVisitorsGetNoSessionRow(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice := s.client()
	alice.signup("alice")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM sessions`))

	anon := s.client()
	noSession := func(what string, res response) {
		t.Helper()
		for _, c := range res.header.Values("Set-Cookie") {
			require.False(t, strings.HasPrefix(c, "starling_session="), "%s sets a session cookie: %s", what, c)
		}
		require.Equal(t, 1, s.count(`SELECT count(*) FROM sessions`), "%s stores a session", what)
	}
	for _, path := range []string{"/", "/login", "/login?next=/home", "/signup", "/@alice", "/stats", "/home", "/nope", "/posts/1"} {
		noSession("GET "+path, anon.get(path))
	}
	noSession("POST /logout", anon.post("/logout", url.Values{}))
	res := anon.post("/logout", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.status)
	noSession("failed login", anon.post("/login", url.Values{"login": {"alice"}, "password": {"wrong password!"}}))
	noSession("failed signup", anon.post("/signup", url.Values{"username": {"b c"}}))
	noSession("cross-site form", anon.post("/posts", url.Values{"body": {"x"}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"))
	noSession("POST /posts", anon.post("/posts", url.Values{"body": {"x"}}))

	// A stale cookie is not a session either.
	stale := s.client()
	u, _ := url.Parse(s.srv.URL)
	stale.http.Jar.SetCookies(u, []*http.Cookie{{Name: "starling_session", Value: "made-up"}})
	noSession("POST /logout with a made-up cookie", stale.post("/logout", url.Values{}))

	// Logging out removes the row; the message still shows, once.
	res = alice.post("/logout", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, 0, s.count(`SELECT count(*) FROM sessions`))
	page := alice.get("/")
	require.Contains(t, page.body, "You are logged out.")
	require.Equal(t, 0, s.count(`SELECT count(*) FROM sessions`))
	require.NotContains(t, alice.get("/").body, "You are logged out.")

	// So does logging out everywhere.
	res = alice.post("/login", url.Values{"login": {"alice"}, "password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM sessions`))
	res = alice.post("/settings/logout-everywhere", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, 0, s.count(`SELECT count(*) FROM sessions`))
	require.Contains(t, alice.get("/").body, "You are logged out everywhere")
	require.Equal(t, 0, s.count(`SELECT count(*) FROM sessions`))
}
