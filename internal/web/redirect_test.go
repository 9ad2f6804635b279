package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// browserTarget resolves a Location the way a browser does: tabs and newlines dropped
// anywhere, a backslash read as '/', then resolved against the page's URL.
func browserTarget(t *testing.T, base, location string) *url.URL {
	t.Helper()
	loc := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(location)
	b, err := url.Parse(base)
	require.NoError(t, err)
	ref, err := url.Parse(loc)
	require.NoError(t, err, "location %q", location)
	return b.ResolveReference(ref)
}

// TestNextStaysOnSite: the login form (GET and POST) and the compose form (POST /posts)
// redirect only to this site, whatever next holds, as the browser reads it (issue 13,
// item 1: "/<TAB>/evil.example" became "//evil.example").
func TestNextStaysOnSite(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice := s.client()
	alice.signup("alice")
	host := strings.TrimPrefix(s.srv.URL, "http://")

	offSite := []string{
		"/\t/evil.example/x", "/\n/evil.example/x", "/\r\n/evil.example/x", "\t//evil.example/x",
		"/\t\\evil.example/x", "/\\evil.example/x", "\\\\evil.example/x", "\\/evil.example/x",
		"//evil.example/x", "///evil.example/x", "https://evil.example/x", " //evil.example/x",
		"/\x01/evil.example/x", "http:evil.example", "javascript:alert(1)",
	}
	check := func(route, next, location string) {
		t.Helper()
		target := browserTarget(t, s.srv.URL, location)
		require.Equal(t, host, target.Host, "%s with next=%q redirected to %q", route, next, location)
		require.Equal(t, "http", target.Scheme, "%s with next=%q redirected to %q", route, next, location)
	}
	for _, next := range offSite {
		res := alice.get("/login?next=" + url.QueryEscape(next))
		require.Equal(t, http.StatusSeeOther, res.status)
		check("GET /login", next, res.location)
		require.Equal(t, "/", res.location)

		anon := s.client()
		res = anon.post("/login", url.Values{"login": {"alice"}, "password": {testPassword}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, res.status)
		check("POST /login", next, res.location)
		require.Equal(t, "/", res.location)

		res = alice.post("/posts", url.Values{"body": {"hello"}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		check("POST /posts", next, res.location)
		require.Equal(t, "/", res.location)
	}
	// Paths on this site still work; a backslash comes back as the '/' a browser reads.
	for next, want := range map[string]string{"/@alice": "/@alice", "/home?x=1": "/home?x=1", "/a\\b": "/a/b", "/%09/x": "/%09/x"} {
		res := alice.get("/login?next=" + url.QueryEscape(next))
		require.Equal(t, want, res.location, next)
		res = alice.post("/posts", url.Values{"body": {"hello " + next}, "next": {next}})
		require.Equal(t, want, res.location, next)
	}
	// The login page keeps only a safe next in its form.
	res := s.client().get("/login?next=" + url.QueryEscape("/\t/evil.example/x"))
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.body, `name="next" value="/"`)
}
