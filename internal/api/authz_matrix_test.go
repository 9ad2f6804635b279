package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuthorizationMatrix tries every state-changing website route and API endpoint as an
// anonymous visitor, as another user, with too little OAuth scope and (for the website)
// from another origin. Every attempt must be refused and change nothing.
func TestAuthorizationMatrix(t *testing.T) {
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	aliceAll := s.personalToken(alice, "read write follow")
	bobWrite := s.personalToken(bob, "read write follow")
	aliceRead := s.personalToken(alice, "read")
	st, body, _ := s.call(http.MethodPost, "/api/v1/statuses", aliceAll, url.Values{"status": {"alice's post @bob"}})
	require.Equal(t, http.StatusOK, st, body)
	postID := decode[map[string]any](t, body)["id"].(string)
	s.waitFor(`SELECT count(*) FROM notifications`, 1)
	var notifID, tokenID int64
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id FROM notifications`).Scan(&notifID))
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id FROM oauth_tokens WHERE user_id = $1 ORDER BY id LIMIT 1`, alice.ID).Scan(&tokenID))

	state := func() string {
		var out []string
		for _, q := range []string{
			`SELECT count(*) FROM posts WHERE deleted_at IS NULL`, `SELECT count(*) FROM follows`,
			`SELECT count(*) FROM notifications`, `SELECT count(*) FROM notifications WHERE read_at IS NOT NULL`,
			`SELECT count(*) FROM oauth_tokens WHERE revoked_at IS NULL`, `SELECT count(*) FROM oauth_codes`,
			`SELECT count(*) FROM users WHERE display_name <> ''`,
		} {
			var n int
			require.NoError(t, s.pool.QueryRow(t.Context(), q).Scan(&n))
			out = append(out, fmt.Sprint(n))
		}
		return strings.Join(out, ",")
	}
	before := state()
	refused := func(what string, status int) {
		t.Helper()
		require.True(t, status >= 300, "%s was allowed (%d)", what, status)
		require.Equal(t, before, state(), "%s changed something", what)
	}

	// Website, anonymous and as bob (who may not touch alice's things), and cross-origin.
	anon := s.browser()
	bobB := s.browser()
	res, _ := bobB.do(http.MethodPost, "/login", url.Values{"login": {"bob"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	aliceB := s.browser()
	aliceB.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	webRoutes := []struct {
		path string
		form url.Values
	}{
		{"/posts", url.Values{"body": {"anonymous post"}}},
		{"/posts/" + postID + "/delete", url.Values{}},
		{"/@bob/follow", url.Values{}},
		{"/@alice/unfollow", url.Values{}},
		{"/settings", url.Values{"display_name": {"hacked"}}},
		{"/settings/tokens", url.Values{"name": {"x"}, "scopes": {"read"}}},
		{fmt.Sprintf("/settings/tokens/%d/revoke", tokenID), url.Values{}},
		{"/notifications/read", url.Values{}},
	}
	for _, rt := range webRoutes {
		res, _ := anon.do(http.MethodPost, rt.path, rt.form)
		require.Equal(t, http.StatusSeeOther, res.StatusCode, "anonymous %s", rt.path)
		require.True(t, strings.HasPrefix(res.Header.Get("Location"), "/login"), "anonymous %s goes to login", rt.path)
		refused("anonymous POST "+rt.path, res.StatusCode)
	}
	for _, path := range []string{"/posts/" + postID + "/delete", fmt.Sprintf("/settings/tokens/%d/revoke", tokenID)} {
		res, _ := bobB.do(http.MethodPost, path, url.Values{})
		require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, res.StatusCode, "bob %s", path)
		refused("bob POST "+path, res.StatusCode)
	}
	for _, rt := range webRoutes {
		req, _ := http.NewRequest(http.MethodPost, s.base+rt.path, strings.NewReader(rt.form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, err := aliceB.c.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, http.StatusForbidden, res.StatusCode, "cross-origin %s", rt.path)
		refused("cross-origin POST "+rt.path, res.StatusCode)
	}
	// (River UI's own refusal of non-admins is TestRiverUIIsForAdminsOnly in internal/web.)

	// API: anonymous, another user, too little scope.
	type call struct {
		method, path string
		form         url.Values
	}
	apiCalls := []call{
		{http.MethodPost, "/api/v1/statuses", url.Values{"status": {"x"}}},
		{http.MethodDelete, "/api/v1/statuses/" + postID, nil},
		{http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID), nil},
		{http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/unfollow", bob.ID), nil},
		{http.MethodPost, fmt.Sprintf("/api/v1/notifications/%d/dismiss", notifID), nil},
		{http.MethodPost, "/api/v1/notifications/clear", nil},
	}
	for _, c := range apiCalls {
		st, _, _ := s.call(c.method, c.path, "", c.form)
		require.Equal(t, http.StatusUnauthorized, st, "anonymous %s %s", c.method, c.path)
		refused("anonymous "+c.method+" "+c.path, st)
		st, _, _ = s.call(c.method, c.path, aliceRead, c.form)
		require.Equal(t, http.StatusForbidden, st, "read-only token %s %s", c.method, c.path)
		refused("read-only "+c.method+" "+c.path, st)
	}
	st, _, _ = s.call(http.MethodDelete, "/api/v1/statuses/"+postID, bobWrite, nil)
	require.Equal(t, http.StatusForbidden, st, "bob deleting alice's status")
	refused("bob DELETE status", st)
	// Bob's notification is his alone: alice cannot dismiss it.
	st, _, _ = s.call(http.MethodPost, fmt.Sprintf("/api/v1/notifications/%d/dismiss", notifID), aliceAll, nil)
	require.Equal(t, http.StatusNotFound, st)
	refused("alice dismissing bob's notification", st)
	st, _, _ = s.call(http.MethodPost, "/oauth/revoke", "", url.Values{"client_id": {"x"}, "client_secret": {"y"}, "token": {aliceAll}})
	require.Equal(t, http.StatusUnauthorized, st)
	refused("revoke by an unknown client", st)
}
