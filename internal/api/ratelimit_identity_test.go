package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/httpx"
)

// TestRateLimitKeysOnValidTokensOnly: a made-up token — in Authorization, access_token or
// Sec-WebSocket-Protocol — counts against the client address like no token at all, so
// inventing tokens buys no allowance; a valid token has its own. (Before, each made-up
// token had an allowance of its own: the endpoints that need no token were unlimited.)
func TestRateLimitKeysOnValidTokensOnly(t *testing.T) {
	t.Parallel()
	s := newServer(t, &httpx.Limiter{Limit: 5, Window: time.Minute})
	tok := s.personalToken(s.user("alice"), "read")
	junk := func(i int) string { return fmt.Sprintf("made-up-token-%d", i) }
	for i := range 5 {
		st, _, h := s.call(http.MethodGet, "/api/v1/instance", junk(i), nil)
		require.Equal(t, http.StatusOK, st)
		require.Equal(t, strconv.Itoa(4-i), h.Get("X-RateLimit-Remaining"))
	}
	app := url.Values{"client_name": {"x"}, "redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}}
	client := url.Values{"client_id": {"x"}, "client_secret": {"y"}, "grant_type": {"client_credentials"}, "token": {"z"}}
	for i, c := range []struct {
		method, path string
		form         url.Values
		header       []string
	}{
		{http.MethodGet, "/api/v1/instance", nil, nil},
		{http.MethodPost, "/api/v1/apps", app, nil},
		{http.MethodPost, "/oauth/token", client, nil},
		{http.MethodPost, "/oauth/revoke", client, nil},
		{http.MethodGet, "/api/v1/timelines/public", nil, nil},
		{http.MethodGet, "/api/v1/streaming/public?access_token=" + junk(100), nil, []string{"Authorization", ""}},
		{http.MethodGet, "/api/v1/streaming", nil, []string{"Authorization", "", "Sec-WebSocket-Protocol", junk(101)}},
	} {
		st, body, h := s.call(c.method, c.path, junk(10+i), c.form, c.header...)
		require.Equal(t, http.StatusTooManyRequests, st, "%s %s with a made-up token: %s", c.method, c.path, body)
		require.NotEmpty(t, h.Get("Retry-After"))
	}
	// The valid token's allowance is its own, untouched by the made-up ones.
	for i := range 5 {
		st, _, h := s.call(http.MethodGet, "/api/v1/timelines/home", tok, nil)
		require.Equal(t, http.StatusOK, st)
		require.Equal(t, strconv.Itoa(4-i), h.Get("X-RateLimit-Remaining"))
	}
	st, _, _ := s.call(http.MethodGet, "/api/v1/instance", tok, nil)
	require.Equal(t, http.StatusTooManyRequests, st)
	// A revoked token is made up now.
	s2 := newServer(t, &httpx.Limiter{Limit: 2, Window: time.Minute})
	gone := s2.personalToken(s2.user("bob"), "read")
	_, err := s2.pool.Exec(t.Context(), `UPDATE oauth_tokens SET revoked_at = now()`)
	require.NoError(t, err)
	for range 2 {
		st, _, _ := s2.call(http.MethodGet, "/api/v1/instance", "", nil)
		require.Equal(t, http.StatusOK, st)
	}
	st, _, _ = s2.call(http.MethodGet, "/api/v1/instance", gone, nil)
	require.Equal(t, http.StatusTooManyRequests, st, "a revoked token counts against the address")
}

// TestAppRegistrationBounds: registrations per client address are limited, and an app
// has at most 20 redirect URIs of at most 2,000 characters each.
func TestAppRegistrationBounds(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, func(o *api.Options) { o.AppLimit = &httpx.Limiter{Limit: 4, Window: time.Hour} })
	uris := make([]string, 21)
	for i := range uris {
		uris[i] = fmt.Sprintf("https://client.example/cb/%d", i)
	}
	for _, c := range []struct {
		uris   []string
		status int
	}{
		{uris[:20], http.StatusOK},
		{uris, http.StatusUnprocessableEntity},
		{[]string{strings.Join(uris, " ")}, http.StatusUnprocessableEntity}, // one field, space-separated
		{[]string{"https://client.example/" + strings.Repeat("x", 1977)}, http.StatusOK},
	} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {"x"}, "redirect_uris": c.uris})
		require.Equal(t, c.status, st, body)
		if st != http.StatusOK {
			require.Regexp(t, `(?i)redirect.?uri`, body)
		}
	}
	st, body, h := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {"x"}, "redirect_uris": {"myapp://"}})
	require.Equal(t, http.StatusTooManyRequests, st, "the fifth registration from one address: %s", body)
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err)
	require.InDelta(t, 3600, retry, 5)
	var n int
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM oauth_apps`).Scan(&n))
	require.Equal(t, 2, n)
}
