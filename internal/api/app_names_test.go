package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAppNamesRefuseHiddenFormatting: an app name with a bidirectional control or a
// zero-width character is refused with 422 naming client_name; an app name already stored
// is shown isolated on the consent page (issue 13, item 13).
func TestAppNamesRefuseHiddenFormatting(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	const redirect = "https://client.example/cb"
	for _, name := range []string{"Good\u202Eppa", "\u2066x\u2069", "a\u200Bb", "\uFEFFapp", "a\u200Eb"} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {name}, "redirect_uris": {redirect}})
		require.Equal(t, http.StatusUnprocessableEntity, st, "%q: %s", name, body)
		require.Contains(t, body, "client_name", "%q", name)
	}
	var n int
	require.NoError(t, s.pool.QueryRow(context.Background(), `SELECT count(*) FROM oauth_apps`).Scan(&n))
	require.Zero(t, n)

	a := s.app("read", redirect)
	_, err := s.pool.Exec(context.Background(), `UPDATE oauth_apps SET name = $1 WHERE client_id = $2`, "Good\u202Eppa", a.ClientID)
	require.NoError(t, err)
	b := s.browser()
	res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	res, page := b.do(http.MethodGet, authURL(a, redirect, "read"), nil)
	require.Equal(t, http.StatusOK, res.StatusCode, page)
	require.Contains(t, page, "<h1>Authorize <bdi>Good\u202Eppa</bdi>?</h1>")
	require.Contains(t, page, "<strong><bdi>Good\u202Eppa</bdi></strong>")
	require.Contains(t, page, "<title>Authorize \u2068Good\u202Eppa\u2069 · Starling</title>")
}
