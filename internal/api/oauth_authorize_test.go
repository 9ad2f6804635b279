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
