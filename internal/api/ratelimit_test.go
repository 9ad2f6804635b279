package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/httpx"
)

func TestRateLimitPerTokenAndIP(t *testing.T) {
	t.Parallel()
	s := newServer(t, &httpx.Limiter{Limit: 5, Window: time.Minute})
	tok := s.personalToken(s.user("alice"), "read")
	for i := range 5 {
		st, _, h := s.call(http.MethodGet, "/api/v1/timelines/home", tok, nil)
		require.Equal(t, http.StatusOK, st)
		require.Equal(t, "5", h.Get("X-RateLimit-Limit"))
		require.Equal(t, strconv.Itoa(4-i), h.Get("X-RateLimit-Remaining"))
		reset, err := time.Parse(time.RFC3339, h.Get("X-RateLimit-Reset"))
		require.NoError(t, err)
		require.WithinDuration(t, time.Now().Add(time.Minute), reset, 5*time.Second)
	}
	st, body, h := s.call(http.MethodGet, "/api/v1/timelines/home", tok, nil)
	require.Equal(t, http.StatusTooManyRequests, st)
	require.JSONEq(t, `{"error":"Too many requests"}`, body)
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err)
	require.InDelta(t, 60, retry, 5)

	// Anonymous calls count against the IP, separately from the token.
	for range 5 {
		st, _, _ := s.call(http.MethodGet, "/api/v1/timelines/public", "", nil)
		require.Equal(t, http.StatusOK, st)
	}
	st, _, _ = s.call(http.MethodGet, "/api/v1/timelines/public", "", nil)
	require.Equal(t, http.StatusTooManyRequests, st)
}

func TestStreamCapsPerUser(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := s.personalToken(s.user("alice"), "read")
	var bodies []*http.Response
	defer func() {
		for _, b := range bodies {
			b.Body.Close()
		}
	}()
	for i := range 21 {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/streaming/user", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		bodies = append(bodies, res)
		if i < 20 {
			require.Equal(t, http.StatusOK, res.StatusCode, "stream %d", i)
			continue
		}
		require.Equal(t, http.StatusTooManyRequests, res.StatusCode, "the 21st stream of one user")
		require.Equal(t, "10", res.Header.Get("Retry-After"))
	}
}

// TestPostLimitPerAccount: the per-account posting allowance holds across all of an
// account's tokens (and, in the binary, the website: both get the same Limiter); another
// account is not affected.
func TestPostLimitPerAccount(t *testing.T) {
	t.Parallel()
	posts := &httpx.Limiter{Limit: 3, Window: time.Minute}
	s := newServerApp(t, func(*api.Options) {}, func(o *app.Options) { o.PostLimit = posts })
	alice := s.user("alice")
	tok1, tok2 := s.personalToken(alice, "read write"), s.personalToken(alice, "write")
	for i, tok := range []string{tok1, tok2, tok1} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"post " + strconv.Itoa(i)}})
		require.Equal(t, http.StatusOK, st, body)
	}
	st, body, h := s.call(http.MethodPost, "/api/v1/statuses", tok2, url.Values{"status": {"one too many"}})
	require.Equal(t, http.StatusTooManyRequests, st)
	require.Contains(t, body, `"error"`)
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	require.NoError(t, err)
	require.InDelta(t, 60, retry, 5)
	var n int
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM posts`).Scan(&n))
	require.Equal(t, 3, n)

	bob := s.personalToken(s.user("bob"), "write")
	st, body, _ = s.call(http.MethodPost, "/api/v1/statuses", bob, url.Values{"status": {"bob is fine"}})
	require.Equal(t, http.StatusOK, st, body)
	// Reading is not posting.
	st, _, _ = s.call(http.MethodGet, "/api/v1/timelines/home", tok1, nil)
	require.Equal(t, http.StatusOK, st)
}
