package api_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type appCreds struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
}

func (s *server) app(scopes string, redirect string) appCreds {
	s.t.Helper()
	status, body, _ := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{
		"client_name": {"negative tests"}, "redirect_uris": {redirect}, "scopes": {scopes}})
	require.Equal(s.t, http.StatusOK, status, body)
	var a appCreds
	require.NoError(s.t, json.Unmarshal([]byte(body), &a))
	return a
}

func authURL(a appCreds, redirect, scope string, extra ...string) string {
	v := url.Values{"client_id": {a.ClientID}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {scope}, "state": {"xyz"}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return "/oauth/authorize?" + v.Encode()
}

// exchange posts to /oauth/token and returns the status and decoded body.
func (s *server) exchange(v url.Values) (int, map[string]any) {
	s.t.Helper()
	status, body, _ := s.call(http.MethodPost, "/oauth/token", "", v)
	var m map[string]any
	require.NoError(s.t, json.Unmarshal([]byte(body), &m), body)
	return status, m
}

func TestOAuthRefusesWhatItMust(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	bob := s.user("bob")
	const redirect = "https://client.example/cb"
	a := s.app("read write", redirect)
	b := s.browser()

	// An unregistered redirect URI is shown as an error, never followed.
	res, page := b.do(http.MethodGet, authURL(a, "https://evil.example/cb", "read"), nil)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, page, "redirect_uri does not match")
	require.Empty(t, res.Header.Get("Location"))

	// Errors before the person answers are shown, not redirected (TestAuthorizeErrorsAreShown).
	refused := func(u, msg string) {
		res, page := b.do(http.MethodGet, u, nil)
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.Empty(t, res.Header.Get("Location"))
		require.Contains(t, page, msg)
	}
	// plain PKCE is refused.
	refused(authURL(a, redirect, "read", "code_challenge", strings.Repeat("a", 43), "code_challenge_method", "plain"), "Only the S256 code_challenge_method")
	// A scope beyond the app's registration is refused.
	refused(authURL(a, redirect, "read follow"), "exceeds the scopes registered")
	// Deny: the person's answer goes back to the app, with the state.
	back := b.authorize(authURL(a, redirect, "read"), "alice", "deny")
	require.Equal(t, "access_denied", back.Query().Get("error"))
	require.Equal(t, "xyz", back.Query().Get("state"))

	code := func(extra ...string) string {
		back := b.authorize(authURL(a, redirect, "read write", extra...), "alice", "approve")
		require.Equal(t, "xyz", back.Query().Get("state"))
		require.NotEmpty(t, back.Query().Get("code"))
		return back.Query().Get("code")
	}
	grant := func(c, ru, secret string, extra ...string) url.Values {
		v := url.Values{"grant_type": {"authorization_code"}, "client_id": {a.ClientID}, "client_secret": {secret}, "code": {c}, "redirect_uri": {ru}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}

	// Wrong client secret.
	status, m := s.exchange(grant(code(), redirect, "not-the-secret"))
	require.Equal(t, http.StatusUnauthorized, status)
	require.Equal(t, "invalid_client", m["error"])
	// Wrong redirect URI at the exchange.
	status, m = s.exchange(grant(code(), "https://client.example/other", a.ClientSecret))
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_grant", m["error"])
	// Expired code.
	c := code()
	s.clock.Store(int64(11 * time.Minute))
	status, m = s.exchange(grant(c, redirect, a.ClientSecret))
	s.clock.Store(0)
	require.Equal(t, "invalid_grant", m["error"], "expired code")
	require.Equal(t, http.StatusBadRequest, status)

	// PKCE: a wrong verifier fails, the right one works once.
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	c = code("code_challenge", challenge, "code_challenge_method", "S256")
	status, m = s.exchange(grant(c, redirect, a.ClientSecret, "code_verifier", strings.Repeat("w", 50)))
	require.Equal(t, "invalid_grant", m["error"], "bad PKCE verifier")
	require.Equal(t, http.StatusBadRequest, status)
	c = code("code_challenge", challenge, "code_challenge_method", "S256")
	status, m = s.exchange(grant(c, redirect, a.ClientSecret, "code_verifier", verifier))
	require.Equal(t, http.StatusOK, status, m)
	token := m["access_token"].(string)
	require.Equal(t, "Bearer", m["token_type"])
	st, _, _ := s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", token, nil)
	require.Equal(t, http.StatusOK, st)

	// Reusing a code fails, and revokes what it was exchanged for.
	status, m = s.exchange(grant(c, redirect, a.ClientSecret, "code_verifier", verifier))
	require.Equal(t, "invalid_grant", m["error"], "reused code")
	st, body, _ := s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", token, nil)
	require.Equal(t, http.StatusUnauthorized, st, body)

	// A revoked token is refused.
	status, m = s.exchange(grant(code(), redirect, a.ClientSecret))
	require.Equal(t, http.StatusOK, status)
	token = m["access_token"].(string)
	st, _, _ = s.call(http.MethodPost, "/oauth/revoke", "", url.Values{"client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "token": {token}})
	require.Equal(t, http.StatusOK, st)
	st, body, _ = s.call(http.MethodGet, "/api/v1/timelines/home", token, nil)
	require.Equal(t, http.StatusUnauthorized, st)
	require.JSONEq(t, `{"error":"The access token is invalid"}`, body)

	// Missing scope: a read-only token cannot post.
	readOnly := s.personalToken(alice, "read")
	st, body, _ = s.call(http.MethodPost, "/api/v1/statuses", readOnly, url.Values{"status": {"nope"}})
	require.Equal(t, http.StatusForbidden, st, body)
	require.Contains(t, body, "outside the authorized scopes")
	// Another user's token cannot delete alice's status.
	aliceTok := s.personalToken(alice, "read write")
	st, body, _ = s.call(http.MethodPost, "/api/v1/statuses", aliceTok, url.Values{"status": {"mine"}})
	require.Equal(t, http.StatusOK, st)
	var posted struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &posted))
	st, _, _ = s.call(http.MethodDelete, "/api/v1/statuses/"+posted.ID, s.personalToken(bob, "write"), nil)
	require.Equal(t, http.StatusForbidden, st)
	st, _, _ = s.call(http.MethodGet, "/api/v1/statuses/"+posted.ID, "", nil)
	require.Equal(t, http.StatusOK, st, "still there")

	// An app token (no user) cannot act as a user.
	status, m = s.exchange(url.Values{"grant_type": {"client_credentials"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret}, "scope": {"read"}})
	require.Equal(t, http.StatusOK, status)
	st, _, _ = s.call(http.MethodGet, "/api/v1/timelines/home", m["access_token"].(string), nil)
	require.Equal(t, http.StatusUnprocessableEntity, st)
	// Unknown grant types and missing tokens.
	status, m = s.exchange(url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {a.ClientID}, "client_secret": {a.ClientSecret}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "unsupported_grant_type", m["error"])
	st, _, _ = s.call(http.MethodGet, "/api/v1/notifications", "", nil)
	require.Equal(t, http.StatusUnauthorized, st)
	st, _, _ = s.call(http.MethodGet, "/api/v1/timelines/public", "garbage-token", nil)
	require.Equal(t, http.StatusUnauthorized, st, "a bad token is refused even where none is needed")
}

func TestAppRegistrationValidation(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, bad := range []url.Values{
		{"client_name": {""}, "redirect_uris": {"https://x.example/cb"}},
		{"client_name": {"x"}, "redirect_uris": {"not a uri"}},
		{"client_name": {"x"}, "redirect_uris": {"https://x.example/cb"}, "scopes": {"read admin:write"}},
	} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/apps", "", bad)
		require.Equal(t, http.StatusUnprocessableEntity, st, body)
		require.Contains(t, body, `"error":"Validation failed`)
	}
	// JSON with an array of redirect URIs, and the out-of-band URN.
	req, _ := http.NewRequest(http.MethodPost, s.base+"/api/v1/apps", strings.NewReader(
		`{"client_name":"json app","redirect_uris":["urn:ietf:wg:oauth:2.0:oob","https://a.example/cb"],"scopes":"read write"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var got map[string]any
	require.NoError(t, json.NewDecoder(res.Body).Decode(&got))
	require.Equal(t, []any{"urn:ietf:wg:oauth:2.0:oob", "https://a.example/cb"}, got["redirect_uris"])
	require.Equal(t, []any{"read", "write"}, got["scopes"])
}
