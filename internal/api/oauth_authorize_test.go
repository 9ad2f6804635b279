package api_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuthorizeRefusesRedirectsNoLongerAllowed: a redirect URI stored under older rules
// (http to another host, or a javascript: URI) is never redirected to; the consent page
// says why instead. (Before, registration took http://client.example/cb and the consent
// page sent codes there.)
func TestAuthorizeRefusesRedirectsNoLongerAllowed(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	b := s.browser()
	res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	for i, uri := range []string{"http://client.example/cb", "javascript:alert(1)//"} {
		a := s.app("read", "https://client.example/cb")
		_, err := s.pool.Exec(t.Context(), `UPDATE oauth_apps SET redirect_uris = ARRAY[$1] WHERE client_id = $2`, uri, a.ClientID)
		require.NoError(t, err)
		for _, state := range []string{"logged in", "anonymous"} {
			client := b
			if state == "anonymous" {
				client = s.browser()
			}
			res, page := client.do(http.MethodGet, authURL(a, uri, "read"), nil)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, "%d %s %s", i, uri, state)
			require.Empty(t, res.Header.Get("Location"))
			require.Contains(t, page, "not allowed on this server")
		}
	}
}

// TestAuthorizeErrorsAreShown: an authorization request with an error is answered with a
// page saying what is wrong, never with a redirect, whether the visitor is anonymous or
// logged in, with the redirect_uri given or left to the app's only registered one; and
// a tampered answer is refused the same way. Only the person's answer goes back to the
// app. (Before, /oauth/authorize?client_id=X&response_type=x sent anyone straight to the
// app's URI, so any app's registration made this server an open redirector.)
func TestAuthorizeErrorsAreShown(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	const redirect = "https://evil.example/landing"
	a := s.app("read", redirect)
	two := s.app("read", "https://client.example/a https://client.example/b")
	anon, alice := s.browser(), s.browser()
	res, _ := alice.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	q := func(v ...string) string {
		u := url.Values{}
		for i := 0; i+1 < len(v); i += 2 {
			u.Set(v[i], v[i+1])
		}
		return "/oauth/authorize?" + u.Encode()
	}
	for _, c := range []struct{ url, msg string }{
		{q("client_id", a.ClientID, "response_type", "x"), "Only response_type=code"},
		{q("client_id", a.ClientID, "redirect_uri", redirect, "response_type", "x", "state", "s"), "Only response_type=code"},
		{q("client_id", a.ClientID, "response_type", "code", "scope", "admin:write"), "scope"},
		{q("client_id", a.ClientID, "response_type", "code", "scope", "write"), "exceeds the scopes registered"},
		{q("client_id", a.ClientID, "response_type", "code", "code_challenge", "short", "code_challenge_method", "S256"), "Invalid code_challenge"},
		{q("client_id", a.ClientID, "response_type", "code", "redirect_uri", "https://evil.example/other"), "redirect_uri does not match"},
		{q("client_id", "nobody", "response_type", "code", "redirect_uri", redirect), "Unknown client_id"},
		{q("response_type", "code"), "Unknown client_id"},
		{q("client_id", two.ClientID, "response_type", "code"), "redirect_uri does not match"}, // two registered: which one?
	} {
		for name, b := range map[string]*browser{"anonymous": anon, "logged in": alice} {
			res, page := b.do(http.MethodGet, c.url, nil)
			require.Equal(t, http.StatusBadRequest, res.StatusCode, "%s %s", name, c.url)
			require.Empty(t, res.Header.Get("Location"), "%s %s", name, c.url)
			require.Contains(t, page, c.msg, "%s %s", name, c.url)
		}
	}
	// A tampered answer (the form's fields changed) is refused without a redirect too.
	res, _ = alice.do(http.MethodPost, "/oauth/authorize", url.Values{"client_id": {a.ClientID}, "redirect_uri": {redirect},
		"response_type": {"token"}, "scope": {"read"}, "decision": {"approve"}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Empty(t, res.Header.Get("Location"))

	// The app's only URI stands in for an omitted redirect_uri (RFC 6749 3.1.2.3), and the
	// person's answer goes there.
	back := alice.authorize(q("client_id", a.ClientID, "response_type", "code", "scope", "read", "state", "s"), "alice", "deny")
	require.Equal(t, "evil.example", back.Host)
	require.Equal(t, "access_denied", back.Query().Get("error"))
	require.Equal(t, "s", back.Query().Get("state"))
}
