package api_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/httpx"
)

// TestPasswordChangeEndsEveryToken: a password change revokes every OAuth and personal
// token of the account, as the settings page says, and a personal token is made only
// with the current password (issue 13, item 4).
func TestPasswordChangeEndsEveryToken(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	bob := s.user("bob")
	tokens := map[string]string{
		"personal": s.personalToken(alice, "read"),
		"app":      s.appToken(alice, "Some app", "read write"),
	}
	a := s.app("read", "urn:ietf:wg:oauth:2.0:oob")
	st, grant := s.passwordGrant(a, "alice", pw, "read")
	require.Equal(t, http.StatusOK, st, grant)
	tokens["password grant"] = grant["access_token"].(string)
	bobs := s.personalToken(bob, "read")
	works := func(tok string) bool {
		st, _, _ := s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", tok, nil)
		return st == http.StatusOK
	}
	for what, tok := range tokens {
		require.True(t, works(tok), what)
	}

	b := s.browser()
	res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, page := b.do(http.MethodGet, "/settings", nil)
	require.Contains(t, page, "Changing it logs out your other sessions and revokes every app and access token.")

	// A stolen cookie alone makes no token: the current password is asked for.
	countTokens := func() int {
		var n int
		require.NoError(t, s.pool.QueryRow(context.Background(), `SELECT count(*) FROM oauth_tokens WHERE user_id = $1`, alice.ID).Scan(&n))
		return n
	}
	before := countTokens()
	for _, form := range []url.Values{
		{"name": {"stolen"}, "scopes": {"read"}},
		{"name": {"stolen"}, "scopes": {"read"}, "current_password": {"not the password"}},
	} {
		res, _ = b.do(http.MethodPost, "/settings/tokens", form)
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		require.Equal(t, "/settings", res.Header.Get("Location"))
		_, page = b.do(http.MethodGet, "/settings", nil)
		require.Contains(t, page, "No token was made: That is not your current password.")
	}
	require.Equal(t, before, countTokens())
	res, page = b.do(http.MethodPost, "/settings/tokens", url.Values{"name": {"mine"}, "scopes": {"read"}, "current_password": {pw}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	made := regexp.MustCompile(`id="secret">(stl_[^<]+)<`).FindStringSubmatch(page)
	require.NotNil(t, made, page)
	tokens["made on the settings page"] = made[1]
	require.True(t, works(made[1]))

	// The password change ends them all; bob's token is not touched.
	res, _ = b.do(http.MethodPost, "/settings/password", url.Values{"current_password": {pw}, "new_password": {"another long passphrase"}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	_, page = b.do(http.MethodGet, "/settings", nil)
	require.Contains(t, page, "Password changed. Your other sessions are logged out, and every app and access token is revoked.")
	for what, tok := range tokens {
		require.False(t, works(tok), "%s token still works after the password change", what)
	}
	require.True(t, works(bobs))
	require.Contains(t, page, "No app can use your account.")
}

// TestCurrentPasswordChecksAreLimited: checking the current password (a password change, a
// new personal token) draws on the login allowances of the account, so a stolen session
// cannot guess it faster than the login form allows (issue 13, item 10).
func TestCurrentPasswordChecksAreLimited(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, func(o *api.Options) { o.LoginLimits = httpx.NewLoginLimits() })
	s.user("alice")
	b := s.browser()
	res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	for i := range 3 {
		res, _ := b.do(http.MethodPost, "/settings/password", url.Values{"current_password": {"guess " + strconv.Itoa(i)}, "new_password": {"another long passphrase"}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
	}
	for i := range 2 {
		res, _ := b.do(http.MethodPost, "/settings/tokens", url.Values{"name": {"x"}, "current_password": {"token guess " + strconv.Itoa(i)}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
	}
	// Five wrong: the next check waits, even with the right password, by either form and by login.
	res, page := b.do(http.MethodPost, "/settings/password", url.Values{"current_password": {pw}, "new_password": {"another long passphrase"}})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, page)
	retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err)
	require.Greater(t, retry, 0)
	res, _ = b.do(http.MethodPost, "/settings/tokens", url.Values{"name": {"x"}, "current_password": {pw}})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode)
	res, _ = s.browser().do(http.MethodPost, "/login", url.Values{"login": {"alice@example.com"}, "password": {pw}})
	require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "the same address and account")
}
