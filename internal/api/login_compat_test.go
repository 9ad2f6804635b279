package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/httpx"
)

// TestLoginRedirectURIs: the redirect URIs apps really register are accepted (their own
// schemes, the out-of-band URN, https, and http on loopback addresses); URIs that are
// dangerous or meaningless as a redirect, and http to any other host, are refused with 422.
func TestLoginRedirectURIs(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, good := range []string{
		"icecubesapp://", "myapp://", "myapp://oauth/callback", "com.example.app:/oauth", "com.example.app:/oauth?x=1",
		"urn:ietf:wg:oauth:2.0:oob", "https://client.example/cb", "http://localhost:4000/callback", "http://127.0.0.1:8765",
		"http://[::1]:8080/cb",
	} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {"app"}, "redirect_uris": {good}})
		require.Equal(t, http.StatusOK, st, "%s: %s", good, body)
		var got struct {
			RedirectURIs []string `json:"redirect_uris"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &got))
		require.Equal(t, []string{good}, got.RedirectURIs)
	}
	for _, bad := range []string{
		"javascript:alert(1)", "JavaScript://%0aalert(1)", "data:text/html,<b>hi</b>", "vbscript:msgbox(1)",
		"file:///etc/passwd", "blob:https://client.example/1", "about:blank",
		"https://client.example/cb#frag", "https://client.example/cb#", "myapp://cb#x",
		"/relative/cb", "//client.example/cb", "cb", "https://", "http:client.example", "1app://cb",
		"https://client.example/" + strings.Repeat("x", 2000),
		"http://client.example/cb", "http://10.0.0.1/cb", "http://localhost.evil.example/cb",
	} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {"app"}, "redirect_uris": {bad}})
		require.Equal(t, http.StatusUnprocessableEntity, st, "%s: %s", bad, body)
		require.Contains(t, body, `"error":"Validation failed: Redirect URI`, bad)
	}
	// One bad URI among good ones refuses the registration.
	st, _, _ := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {"app"}, "redirect_uris": {"myapp:// javascript:alert(1)"}})
	require.Equal(t, http.StatusUnprocessableEntity, st)
}

// TestLoginCustomSchemeWithPKCE: an app with its own scheme logs in by code and PKCE. The
// consent page allows its form's answer to go to that scheme (form-action), and the
// answer's redirect is to icecubesapp://?code=….
func TestLoginCustomSchemeWithPKCE(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	verifier := strings.Repeat("k", 64)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	for _, tt := range []struct{ redirect, prefix, formAction string }{
		{"icecubesapp://", "icecubesapp://?code=", "form-action 'self' icecubesapp:;"},
		{"com.example.app:/oauth", "com.example.app:/oauth?code=", "form-action 'self' com.example.app:;"},
		{"https://client.example:8443/cb?app=1", "https://client.example:8443/cb?app=1&code=", "form-action 'self' https://client.example:8443;"},
	} {
		a := s.app("read write", tt.redirect)
		u := authURL(a, tt.redirect, "read write", "code_challenge", challenge, "code_challenge_method", "S256")
		b := s.browser()
		loc := b.authorizeLocation(u, "alice", "approve")
		require.True(t, strings.HasPrefix(loc, tt.prefix), "redirect %s", loc)
		back, err := url.Parse(loc)
		require.NoError(t, err)
		require.Equal(t, "xyz", back.Query().Get("state"))

		// The consent page (now logged in) lets the form's redirect reach the app.
		res, _ := b.do(http.MethodGet, u, nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		csp := res.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, tt.formAction)
		require.Contains(t, csp, "frame-ancestors 'none'")
		require.Empty(t, res.Header.Get("X-Form-Action"), "the internal header does not leave the server")

		status, m := s.exchange(url.Values{"grant_type": {"authorization_code"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret},
			"code": {back.Query().Get("code")}, "redirect_uri": {tt.redirect}, "code_verifier": {verifier}})
		require.Equal(t, http.StatusOK, status, m)
		st, body, _ := s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", m["access_token"].(string), nil)
		require.Equal(t, http.StatusOK, st, body)
		require.Contains(t, body, `"username":"alice"`)
	}

	// The out-of-band URI shows the code instead of redirecting.
	a := s.app("read", "urn:ietf:wg:oauth:2.0:oob")
	b := s.browser()
	u := authURL(a, "urn:ietf:wg:oauth:2.0:oob", "read")
	res, _ := b.do(http.MethodGet, u, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc, _ := url.Parse(res.Header.Get("Location"))
	res, _ = b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}, "next": {loc.Query().Get("next")}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, page := b.do(http.MethodGet, u, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Security-Policy"), "form-action 'self';", "nothing to redirect to")
	form := url.Values{"decision": {"approve"}}
	for _, m := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	res, page = b.do(http.MethodPost, "/oauth/authorize", form)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Empty(t, res.Header.Get("Location"))
	require.Contains(t, page, "Authorization code")
}

// TestLoginPopupHeaders: every response a login popup meets (the consent page, the login
// and signup pages, and the redirects between them) keeps window.opener, so the web
// client that opened the popup hears the answer; framing stays denied. Other pages keep
// Cross-Origin-Opener-Policy: same-origin.
func TestLoginPopupHeaders(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	a := s.app("read", "https://client.example/cb")
	u := authURL(a, "https://client.example/cb", "read")
	b := s.browser()

	popup := func(res *http.Response, what string) {
		t.Helper()
		require.Equal(t, "unsafe-none", res.Header.Get("Cross-Origin-Opener-Policy"), what)
		require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), what)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", what)
	}
	res, _ := b.do(http.MethodGet, u, nil)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	popup(res, "consent page's redirect to the login page")
	next, _ := url.Parse(res.Header.Get("Location"))
	res, _ = b.do(http.MethodGet, next.String(), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	popup(res, "login page")
	res, _ = b.do(http.MethodGet, "/signup", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	popup(res, "signup page")
	res, _ = b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {"wrong"}, "next": {next.Query().Get("next")}})
	require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	popup(res, "login form with an error")
	res, _ = b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}, "next": {next.Query().Get("next")}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	popup(res, "login's redirect back to the consent page")
	res, page := b.do(http.MethodGet, res.Header.Get("Location"), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	popup(res, "consent page")
	form := url.Values{"decision": {"approve"}}
	for _, m := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	res, _ = b.do(http.MethodPost, "/oauth/authorize", form)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	require.True(t, strings.HasPrefix(res.Header.Get("Location"), "https://client.example/cb?"))
	popup(res, "consent's redirect to the app")

	// The rest of the site keeps the strict policy.
	for _, path := range []string{"/", "/home", "/settings", "/@alice"} {
		res, _ := b.do(http.MethodGet, path, nil)
		require.Equal(t, "same-origin", res.Header.Get("Cross-Origin-Opener-Policy"), path)
		require.Equal(t, "DENY", res.Header.Get("X-Frame-Options"), path)
	}
}

// passwordGrant asks /oauth/token for a token with the password grant.
func (s *server) passwordGrant(a appCreds, username, password, scope string) (int, map[string]any) {
	s.t.Helper()
	return s.exchange(url.Values{"grant_type": {"password"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret},
		"username": {username}, "password": {password}, "scope": {scope}})
}

// TestLoginPasswordGrant: grant_type=password as Mastodon offers it, for the login name or
// the email; wrong credentials get one answer whether or not the account exists.
func TestLoginPasswordGrant(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	a := s.app("read write follow", "urn:ietf:wg:oauth:2.0:oob")

	for _, login := range []string{"alice", "ALICE", "alice@example.com", " Alice@Example.com "} {
		status, m := s.passwordGrant(a, login, pw, "read write")
		require.Equal(t, http.StatusOK, status, "%s: %v", login, m)
		require.Equal(t, "Bearer", m["token_type"])
		require.Equal(t, "read write", m["scope"])
		require.NotZero(t, m["created_at"])
		st, body, _ := s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", m["access_token"].(string), nil)
		require.Equal(t, http.StatusOK, st, body)
		require.Contains(t, body, `"username":"alice"`)
	}
	// The token belongs to the app: verify_credentials of the app names it.
	status, m := s.passwordGrant(a, "alice", pw, "")
	require.Equal(t, http.StatusOK, status, m)
	require.Equal(t, "read", m["scope"], "no scope means read")
	st, body, _ := s.call(http.MethodGet, "/api/v1/apps/verify_credentials", m["access_token"].(string), nil)
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, body, `"name":"negative tests"`)

	// Wrong password and unknown account: the same answer.
	status, wrong := s.passwordGrant(a, "alice", "not the password", "read")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_grant", wrong["error"])
	require.NotEmpty(t, wrong["error_description"])
	status, unknown := s.passwordGrant(a, "nobody", pw, "read")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, wrong, unknown)

	// The client is checked first, and the scope against the app's.
	status, m = s.exchange(url.Values{"grant_type": {"password"}, "client_id": {a.ClientID}, "client_secret": {"wrong"},
		"username": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "invalid_client", m["error"])
	status, m = s.passwordGrant(a, "alice", pw, "read push")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_scope", m["error"])
	status, m = s.passwordGrant(a, "alice", "", "read")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_request", m["error"])

	// Client credentials in HTTP Basic work too (JSON body).
	req, _ := http.NewRequest(http.MethodPost, s.base+"/oauth/token", strings.NewReader(`{"grant_type":"password","username":"alice","password":"`+pw+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(a.ClientID, a.ClientSecret)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)

	// The metadata says so.
	st, body, _ = s.call(http.MethodGet, "/.well-known/oauth-authorization-server", "", nil)
	require.Equal(t, http.StatusOK, st)
	var meta struct {
		GrantTypes []string `json:"grant_types_supported"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &meta))
	require.Equal(t, []string{"authorization_code", "client_credentials", "password"}, meta.GrantTypes)
}

// TestLoginPasswordGrantLimits: the password grant and the login form draw on one
// allowance per account and client address, the same for the account's username and email
// (issue 13, item 10), and on one per client address. Another address is not held back.
func TestLoginPasswordGrantLimits(t *testing.T) {
	t.Parallel()
	proxies := httpx.Proxies{netip.MustParsePrefix("127.0.0.1/32")}
	s := newServerWith(t, func(o *api.Options) { o.LoginLimits, o.Proxies = httpx.NewLoginLimits(), proxies })
	s.user("alice")
	s.user("bob")
	a := s.app("read", "urn:ietf:wg:oauth:2.0:oob")
	grant := func(username, password, from string) (int, string, http.Header) {
		return s.call(http.MethodPost, "/oauth/token", "", url.Values{"grant_type": {"password"},
			"client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "username": {username}, "password": {password}},
			"X-Forwarded-For", from)
	}
	login := func(name, password, from string) int {
		req, err := http.NewRequest(http.MethodPost, s.base+"/login", strings.NewReader(url.Values{"login": {name}, "password": {password}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.base)
		req.Header.Set("X-Forwarded-For", from)
		res, err := s.browser().c.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res.StatusCode
	}
	const here, elsewhere = "203.0.113.5", "198.51.100.9"
	attempts := 0 // from here

	// Five wrong passwords for alice, by both ways in and by both her names.
	for i := range 3 {
		st, body, _ := grant("alice", "wrong "+strconv.Itoa(i), here)
		require.Equal(t, http.StatusBadRequest, st, body)
		attempts++
	}
	for range 2 {
		require.Equal(t, http.StatusUnprocessableEntity, login("Alice@Example.com", "wrong", here))
		attempts++
	}
	// Now alice is refused from here, by either name and either way, even with her password.
	status, body, h := grant(" ALICE ", pw, here)
	require.Equal(t, http.StatusTooManyRequests, status, body)
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, retry, 0)
	require.Contains(t, body, `"error":"Too many login attempts`)
	status, _, _ = grant("alice@example.com", pw, here)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, http.StatusTooManyRequests, login("alice", pw, here))
	// From elsewhere she logs in at once, both ways: the guesses cannot lock her out.
	status, body, _ = grant("alice", pw, elsewhere)
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, http.StatusSeeOther, login("alice@example.com", pw, elsewhere))

	// Bob is another account: still allowed here.
	status, body, _ = grant("bob", pw, here)
	require.Equal(t, http.StatusOK, status, body)
	attempts++

	// The address's allowance (30 per 5 minutes) runs out for every name.
	for ; attempts < 30; attempts++ {
		st, body, _ := grant("someone"+strconv.Itoa(attempts), "guess", here)
		require.Equal(t, http.StatusBadRequest, st, body)
	}
	status, _, _ = grant("carol", pw, here)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, http.StatusTooManyRequests, login("dave", pw, here))
}

// TestLoginPasswordGrantOff: with the setting off, the grant is refused as unsupported
// and no longer advertised.
func TestLoginPasswordGrantOff(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, func(o *api.Options) { o.NoPasswordGrant = true })
	s.user("alice")
	a := s.app("read", "urn:ietf:wg:oauth:2.0:oob")
	status, m := s.passwordGrant(a, "alice", pw, "read")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "unsupported_grant_type", m["error"])
	require.NotContains(t, m["error_description"], "password")

	st, body, _ := s.call(http.MethodGet, "/.well-known/oauth-authorization-server", "", nil)
	require.Equal(t, http.StatusOK, st)
	require.Contains(t, body, `"grant_types_supported":["authorization_code","client_credentials"]`)
}

// TestLoginTrailingSlash: API and OAuth paths with a trailing slash answer as without it,
// for GET and POST (the body survives: the path is rewritten, not redirected). The
// website's other paths do not change.
func TestLoginTrailingSlash(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")

	for _, path := range []string{"/api/v1/instance", "/api/v2/instance", "/.well-known/nodeinfo", "/api/v1/timelines/public"} {
		st0, want, _ := s.call(http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusOK, st0, path)
		st, got, _ := s.call(http.MethodGet, path+"/", "", nil)
		require.Equal(t, http.StatusOK, st, path+"/")
		if !strings.Contains(path, "timelines") {
			require.JSONEq(t, want, got, path)
		}
	}
	st, body, _ := s.call(http.MethodPost, "/api/v1/apps/", "", url.Values{"client_name": {"slash"}, "redirect_uris": {"myapp://"}, "scopes": {"read write"}})
	require.Equal(t, http.StatusOK, st, body)
	var a appCreds
	require.NoError(t, json.Unmarshal([]byte(body), &a))
	st, body, _ = s.call(http.MethodPost, "/oauth/token/", "", url.Values{"grant_type": {"password"},
		"client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "username": {"alice"}, "password": {pw}, "scope": {"read write"}})
	require.Equal(t, http.StatusOK, st, body)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &tok))
	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/verify_credentials/", tok.AccessToken, nil)
	require.Equal(t, http.StatusOK, st, body)
	st, body, _ = s.call(http.MethodPost, "/api/v1/statuses/", tok.AccessToken, url.Values{"status": {"from a slash"}})
	require.Equal(t, http.StatusOK, st, body)
	require.Contains(t, body, "from a slash")

	// The consent page, with a slash, all the way to the app.
	loc := s.browser().authorizeLocation(strings.Replace(authURL(a, "myapp://", "read"), "/oauth/authorize?", "/oauth/authorize/?", 1), "alice", "approve")
	require.True(t, strings.HasPrefix(loc, "myapp://?code="), loc)
	st, body, _ = s.call(http.MethodPost, "/oauth/revoke/", "", url.Values{"client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "token": {tok.AccessToken}})
	require.Equal(t, http.StatusOK, st, body)

	// Unknown API paths stay 404, and the website's own paths are not rewritten.
	st, _, _ = s.call(http.MethodGet, "/api/v1/no_such_thing/", "", nil)
	require.Equal(t, http.StatusNotFound, st)
	for _, path := range []string{"/login/", "/signup/", "/stats/"} {
		st, _, _ = s.call(http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusNotFound, st, path)
	}
}
