package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// TestListQueriesAsAppsSendThem: the filters apps put on timelines, profiles and
// notifications are each honoured (or refused by name), in the spellings the apps use:
// Mastodon.py's 0/1, toot's True/False, go-mastodon's t.
func TestListQueriesAsAppsSendThem(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob, carol := s.user("alice"), s.user("bob"), s.user("carol")
	tok := s.personalToken(alice, "read write follow")
	for _, u := range []core.User{bob, carol} {
		code, body, _ := s.call(http.MethodPost, "/api/v1/statuses", s.personalToken(u, "write"),
			url.Values{"status": {"hi @alice from " + u.Username}})
		require.Equal(t, http.StatusOK, code, body)
	}
	s.waitFor(fmt.Sprintf("SELECT count(*) FROM notifications WHERE recipient_id = %d", alice.ID), 2)

	count := func(path string) int {
		t.Helper()
		code, body, _ := s.call(http.MethodGet, path, tok, nil)
		require.Equal(t, http.StatusOK, code, "%s: %s", path, body)
		var items []any
		require.NoError(t, json.Unmarshal([]byte(body), &items))
		return len(items)
	}
	statuses := fmt.Sprintf("/api/v1/accounts/%d/statuses", bob.ID)
	require.Equal(t, 1, count(statuses+"?pinned=0&only_media=0&exclude_replies=0&exclude_reblogs=0"), "Mastodon.py's defaults")
	require.Equal(t, 1, count(statuses+"?exclude_replies=True&exclude_reblogs=False"), "toot")
	require.Equal(t, 1, count(statuses+"?exclude_replies=true&limit=30"), "Elk")
	require.Equal(t, 0, count(statuses+"?pinned=1"), "nothing is pinned")
	require.Equal(t, 0, count(statuses+"?tagged=golang"), "a tag nobody used")
	require.Equal(t, 0, count(statuses+"?pinned=true"), "nothing is pinned")
	require.Equal(t, 0, count(statuses+"?only_media=true&exclude_replies=false"), "no post has media")
	require.Equal(t, 2, count("/api/v1/timelines/public?local=t"), "go-mastodon's local")
	require.Equal(t, 0, count("/api/v1/timelines/public?remote=1"))
	require.Equal(t, 0, count("/api/v1/timelines/public?only_media=True"))
	require.Equal(t, 0, count("/api/v1/timelines/home?only_media=true"))
	require.Equal(t, 2, count("/api/v1/notifications?exclude_types[]=follow&exclude_types[]=favourite"))
	require.Equal(t, 1, count(fmt.Sprintf("/api/v1/notifications?account_id=%d", carol.ID)), "notifications from one account")
	require.Equal(t, 0, count("/api/v1/notifications?types[]=follow"))
	require.Equal(t, 2, count("/api/v1/notifications?types[]=mention&supported_types[]=mention&supported_types[]=follow"))

	for _, bad := range []struct{ path, field string }{
		{statuses + "?tagged=" + url.QueryEscape("not a tag"), "tagged"},
		{statuses + "?colour=red", "colour"},
		{statuses + "?pinned=perhaps", "pinned"},
		{"/api/v1/timelines/home?colour=red", "colour"},
		{"/api/v1/notifications?account_id=x", "account_id"},
	} {
		code, body, _ := s.call(http.MethodGet, bad.path, tok, nil)
		require.Equal(t, http.StatusUnprocessableEntity, code, "%s: %s", bad.path, body)
		require.Contains(t, body, bad.field, bad.path)
	}
}

// TestFollowerListsPageBothWays: followers and following honour since_id and min_id as
// well as max_id (they used to ignore both and answer the first page again).
func TestFollowerListsPageBothWays(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	var ids []int64
	for i := range 5 {
		u := s.user(fmt.Sprintf("fan%d", i))
		_, err := s.core.Follow(t.Context(), u.ID, "alice")
		require.NoError(t, err)
		ids = append(ids, u.ID)
	}
	tok := s.personalToken(alice, "read")
	got := func(q string) []string {
		t.Helper()
		code, body, _ := s.call(http.MethodGet, fmt.Sprintf("/api/v1/accounts/%d/followers?%s", alice.ID, q), tok, nil)
		require.Equal(t, http.StatusOK, code, body)
		var accts []struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &accts))
		out := make([]string, len(accts))
		for i, a := range accts {
			out[i] = a.ID
		}
		return out
	}
	id := func(i int) string { return fmt.Sprint(ids[i]) }
	require.Equal(t, []string{id(4), id(3)}, got("since_id="+id(2)))
	require.Equal(t, []string{id(2), id(1)}, got("min_id="+id(0)+"&limit=2"))
	require.Equal(t, []string{id(2), id(1), id(0)}, got("max_id="+id(3)))
	require.Equal(t, []string{id(4), id(3), id(2), id(1), id(0)}, got(""))
	code, body, _ := s.call(http.MethodGet, fmt.Sprintf("/api/v1/accounts/%d/following?since_id=%d", ids[0], alice.ID-1), tok, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, fmt.Sprintf(`"id":"%d"`, alice.ID))
}

// TestNotificationsPageBothWays: notifications page through the same keyset helper as the
// timelines — max_id, since_id, min_id and limit each give the page Mastodon documents, and
// the Link header's next page continues where the first ended.
func TestNotificationsPageBothWays(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	bobTok := s.personalToken(bob, "write")
	for i := range 5 {
		code, body, _ := s.call(http.MethodPost, "/api/v1/statuses", bobTok, url.Values{"status": {fmt.Sprintf("@alice number %d", i)}})
		require.Equal(t, http.StatusOK, code, body)
	}
	s.waitFor(fmt.Sprintf("SELECT count(*) FROM notifications WHERE recipient_id = %d", alice.ID), 5)
	tok := s.personalToken(alice, "read")
	page := func(q string) ([]string, http.Header) {
		t.Helper()
		code, body, h := s.call(http.MethodGet, "/api/v1/notifications?"+q, tok, nil)
		require.Equal(t, http.StatusOK, code, body)
		var items []struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &items))
		out := make([]string, len(items))
		for i, n := range items {
			out[i] = n.ID
		}
		return out, h
	}
	all, _ := page("")
	require.Len(t, all, 5)
	first, h := page("limit=2")
	require.Equal(t, all[:2], first)
	require.Contains(t, h.Get("Link"), "max_id="+all[1], "the next page starts after the last one shown")
	next, _ := page("limit=2&max_id=" + all[1])
	require.Equal(t, all[2:4], next)
	since, _ := page("since_id=" + all[2])
	require.Equal(t, all[:2], since, "since_id: the newest above it")
	minPage, _ := page("limit=2&min_id=" + all[4])
	require.Equal(t, all[2:4], minPage, "min_id: the oldest just above it, newest first")
	between, _ := page("max_id=" + all[0] + "&min_id=" + all[3])
	require.Equal(t, all[1:3], between)
}
