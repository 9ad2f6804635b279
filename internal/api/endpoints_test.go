package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	return v
}

func TestAccountsFollowsAndNotificationsEndpoints(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	at := s.personalToken(alice, "read write follow")
	bt := s.personalToken(bob, "read write")
	aid, bid := fmt.Sprint(alice.ID), fmt.Sprint(bob.ID)

	st, body, _ := s.call(http.MethodGet, "/api/v1/accounts/lookup?acct=@BOB", "", nil)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, bid, decode[map[string]any](t, body)["id"])
	st, _, _ = s.call(http.MethodGet, "/api/v1/accounts/lookup?acct=nobody", "", nil)
	require.Equal(t, http.StatusNotFound, st)
	st, _, _ = s.call(http.MethodGet, "/api/v1/accounts/999999", "", nil)
	require.Equal(t, http.StatusNotFound, st)
	st, _, _ = s.call(http.MethodGet, "/api/v1/accounts/not-a-number", "", nil)
	require.Equal(t, http.StatusNotFound, st)

	// Follow, relationships, followers and following.
	st, body, _ = s.call(http.MethodPost, "/api/v1/accounts/"+bid+"/follow", at, nil)
	require.Equal(t, http.StatusOK, st, body)
	require.Equal(t, true, decode[map[string]any](t, body)["following"])
	st, _, _ = s.call(http.MethodPost, "/api/v1/accounts/"+aid+"/follow", at, nil)
	require.Equal(t, http.StatusUnprocessableEntity, st, "following oneself")
	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/relationships?id[]="+bid+"&id[]=999", at, nil)
	require.Equal(t, http.StatusOK, st)
	rels := decode[[]map[string]any](t, body)
	require.Len(t, rels, 1)
	require.Equal(t, true, rels[0]["following"])
	require.Equal(t, false, rels[0]["followed_by"])
	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/"+bid+"/followers", "", nil)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "alice", decode[[]map[string]any](t, body)[0]["username"])
	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/"+aid+"/following", "", nil)
	require.Equal(t, "bob", decode[[]map[string]any](t, body)[0]["username"])
	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/"+bid, "", nil)
	require.EqualValues(t, 1, decode[map[string]any](t, body)["followers_count"])

	// Bob posts; it is on alice's home timeline and bob's account statuses.
	st, _, _ = s.call(http.MethodPost, "/api/v1/statuses", bt, url.Values{"status": {"hi @alice"}})
	require.Equal(t, http.StatusOK, st)
	st, body, _ = s.call(http.MethodGet, "/api/v1/timelines/home", at, nil)
	require.Len(t, decode[[]map[string]any](t, body), 1)
	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/"+bid+"/statuses", "", nil)
	require.Len(t, decode[[]map[string]any](t, body), 1)
	st, _, _ = s.call(http.MethodPost, "/api/v1/accounts/"+bid+"/unfollow", at, nil)
	require.Equal(t, http.StatusOK, st)
	st, body, _ = s.call(http.MethodGet, "/api/v1/timelines/home", at, nil)
	require.Empty(t, decode[[]map[string]any](t, body))

	// Notifications: list, filter, get, dismiss, clear.
	s.waitFor(`SELECT count(*) FROM notifications`, 1)
	st, body, _ = s.call(http.MethodGet, "/api/v1/notifications", at, nil)
	ns := decode[[]map[string]any](t, body)
	require.Len(t, ns, 1)
	nid := ns[0]["id"].(string)
	st, body, _ = s.call(http.MethodGet, "/api/v1/notifications?types[]=follow", at, nil)
	require.Equal(t, "[]", body)
	st, _, _ = s.call(http.MethodGet, "/api/v1/notifications/"+nid, at, nil)
	require.Equal(t, http.StatusOK, st)
	st, _, _ = s.call(http.MethodGet, "/api/v1/notifications/"+nid, bt, nil)
	require.Equal(t, http.StatusNotFound, st, "someone else's notification")
	st, _, _ = s.call(http.MethodPost, "/api/v1/notifications/"+nid+"/dismiss", at, nil)
	require.Equal(t, http.StatusOK, st)
	st, _, _ = s.call(http.MethodGet, "/api/v1/notifications/"+nid, at, nil)
	require.Equal(t, http.StatusNotFound, st)
	st, _, _ = s.call(http.MethodPost, "/api/v1/notifications/clear", at, nil)
	require.Equal(t, http.StatusOK, st)

	// Server information.
	st, body, _ = s.call(http.MethodGet, "/api/v2/instance", "", nil)
	require.Equal(t, http.StatusOK, st)
	v2 := decode[map[string]any](t, body)
	require.Equal(t, "ws"+strings.TrimPrefix(s.base, "http"), v2["configuration"].(map[string]any)["urls"].(map[string]any)["streaming"])
	st, body, _ = s.call(http.MethodGet, "/.well-known/nodeinfo", "", nil)
	require.Contains(t, body, "/nodeinfo/2.0")
	st, body, _ = s.call(http.MethodGet, "/nodeinfo/2.0", "", nil)
	require.Equal(t, "starling", decode[map[string]any](t, body)["software"].(map[string]any)["name"])
	st, body, _ = s.call(http.MethodGet, "/api/v1/custom_emojis", "", nil)
	require.Equal(t, "[]", body)
	st, body, _ = s.call(http.MethodGet, "/api/v1/starling/stats/daily", "", nil)
	require.Equal(t, http.StatusOK, st)
	st, body, _ = s.call(http.MethodGet, "/api/v1/streaming/health", "", nil)
	require.Equal(t, "OK", body)
	st, _, _ = s.call(http.MethodGet, "/api/v1/no/such/thing", "", nil)
	require.Equal(t, http.StatusNotFound, st)

	// CORS preflight for browser clients.
	st, _, h := s.call(http.MethodOptions, "/api/v1/statuses", "", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "POST")
	require.Equal(t, http.StatusNoContent, st)
	require.Equal(t, "*", h.Get("Access-Control-Allow-Origin"))
	require.Contains(t, h.Get("Access-Control-Allow-Headers"), "Authorization")
}

func TestSettingsPageListsAndRevokesTokens(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	b := s.browser()
	res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)

	// Create a personal token on the settings page; it is shown once and works.
	res, page := b.do(http.MethodPost, "/settings/tokens", url.Values{"name": {"deploy bot"}, "scopes": {"read", "write"}, "current_password": {pw}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	tok := regexp.MustCompile(`id="secret">(stl_[^<]+)<`).FindStringSubmatch(page)
	require.NotNil(t, tok, page)
	st, _, _ := s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", tok[1], nil)
	require.Equal(t, http.StatusOK, st)
	s.personalToken(alice, "read") // a second one

	_, page = b.do(http.MethodGet, "/settings", nil)
	require.Contains(t, page, "deploy bot")
	require.NotContains(t, page, tok[1], "the token is never shown again")
	ids := regexp.MustCompile(`/settings/tokens/(\d+)/revoke`).FindAllStringSubmatch(page, -1)
	require.Len(t, ids, 2)
	// Revoke "deploy bot" (the newest is listed first, so find its id by name order).
	var target string
	for _, m := range ids {
		if strings.Index(page, "deploy bot") < strings.Index(page, "/settings/tokens/"+m[1]+"/revoke") {
			target = m[1]
			break
		}
	}
	res, _ = b.do(http.MethodPost, "/settings/tokens/"+target+"/revoke", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	st, _, _ = s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", tok[1], nil)
	require.Equal(t, http.StatusUnauthorized, st)

	// Someone else cannot revoke alice's tokens.
	s.user("mallory")
	m := s.browser()
	m.do(http.MethodPost, "/login", url.Values{"login": {"mallory"}, "password": {pw}})
	for _, id := range ids {
		res, _ := m.do(http.MethodPost, "/settings/tokens/"+id[1]+"/revoke", url.Values{})
		require.Equal(t, http.StatusNotFound, res.StatusCode)
	}
}
