package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/core"
)

// TestMembersOnlyServer: with STARLING_MEMBERS_ONLY, nothing is readable without logging
// in — no page, no API read, no stream — while a member reads everything a member of a
// public server would. What an app or a browser needs to log in stays open.
func TestMembersOnlyServer(t *testing.T) {
	t.Parallel()
	s := newServerApp(t, func(*api.Options) {}, func(o *app.Options) { o.Config.MembersOnly = true })
	alice := s.user("alice")
	post, _, err := s.core.Publish(t.Context(), alice, core.NewPost{Body: "inside news"})
	require.NoError(t, err)
	tok := s.personalToken(alice, "read")
	reads := []string{
		fmt.Sprintf("/api/v1/statuses/%d", post.ID),
		fmt.Sprintf("/api/v1/statuses/%d/context", post.ID),
		fmt.Sprintf("/api/v1/statuses/%d/favourited_by", post.ID),
		fmt.Sprintf("/api/v1/statuses/%d/history", post.ID),
		"/api/v1/timelines/public",
		fmt.Sprintf("/api/v1/accounts/%d", alice.ID),
		fmt.Sprintf("/api/v1/accounts/%d/statuses", alice.ID),
		fmt.Sprintf("/api/v1/accounts/%d/followers", alice.ID),
		"/api/v1/accounts/lookup?acct=alice",
	}
	for _, path := range reads {
		code, body, _ := s.call(http.MethodGet, path, "", nil)
		require.Equal(t, http.StatusUnauthorized, code, "anonymous %s", path)
		require.NotContains(t, body, "inside news")
		code, body, _ = s.call(http.MethodGet, path, tok, nil)
		require.Equal(t, http.StatusOK, code, "member %s: %s", path, body)
	}
	// Streams: SSE and WebSocket refuse the anonymous.
	code, _, _ := s.call(http.MethodGet, "/api/v1/streaming/public", "", nil)
	require.Equal(t, http.StatusUnauthorized, code)
	_, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.base, "http")+"/api/v1/streaming?stream=public", nil)
	require.Error(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)

	// The website: every page that shows posts or people sends the anonymous to log in.
	anon := s.browser()
	for _, path := range []string{"/", fmt.Sprintf("/posts/%d", post.ID), "/@alice", "/@alice/followers", "/@alice/following", "/stats"} {
		res, body := anon.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "anonymous %s", path)
		require.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), path)
		require.NotContains(t, body, "inside news")
	}
	res, _ = anon.do(http.MethodGet, "/events?stream=public", nil)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode)
	// What logging in needs stays open.
	for _, path := range []string{"/login", "/signup", "/static/style.css", "/healthz"} {
		res, _ := anon.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
	}
	code, _, _ = s.call(http.MethodGet, "/api/v1/instance", "", nil)
	require.Equal(t, http.StatusOK, code)

	// A member reads the site.
	member := s.browser()
	res, _ = member.do(http.MethodPost, "/login", map[string][]string{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	for _, path := range []string{"/", fmt.Sprintf("/posts/%d", post.ID), "/@alice"} {
		res, body := member.do(http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.Contains(t, body, "inside news", path)
	}
}
