package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSettingsPageAfterInvalidFormListsTokens: the settings page re-rendered after a
// validation error on any of its forms still lists the account's tokens (issue 14, bug 1:
// it said "No app can use your account." there).
func TestSettingsPageAfterInvalidFormListsTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	s.personalToken(alice, "read")
	b := s.browser()
	res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	for path, form := range map[string]url.Values{
		"/settings":          {"display_name": {strings.Repeat("x", 51)}, "bio": {""}},
		"/settings/password": {"current_password": {"not it"}, "new_password": {"another long passphrase"}},
		"/settings/email":    {"email_password": {"not it"}, "email": {"new@example.com"}},
	} {
		res, page := b.do(http.MethodPost, path, form)
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode, path)
		require.Contains(t, page, "/revoke", "%s: the token is listed", path)
		require.NotContains(t, page, "No app can use your account.", path)
	}
}
