package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// marker is a Marker entity as a client decodes it.
type marker struct {
	LastReadID string `json:"last_read_id"`
	Version    int    `json:"version"`
	UpdatedAt  string `json:"updated_at"`
}

// postMarkersJSON posts body as JSON to /api/v1/markers and returns the status and body.
func postMarkersJSON(t *testing.T, s *server, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/api/v1/markers", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// getMarkers calls GET /api/v1/markers with query and decodes the answer.
func getMarkers(t *testing.T, s *server, token, query string) map[string]marker {
	t.Helper()
	st, body, _ := s.call(http.MethodGet, "/api/v1/markers?"+query, token, nil)
	require.Equal(t, http.StatusOK, st, body)
	return decode[map[string]marker](t, body)
}

// TestMarkers saves and reads markers as apps do: form fields (Tusky) and JSON objects
// (Ice Cubes), one timeline or both, each user apart.
func TestMarkers(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	at := s.personalToken(alice, "read write")
	bt := s.personalToken(bob, "read write")
	both := "timeline[]=home&timeline[]=notifications"

	require.Empty(t, getMarkers(t, s, at, both), "no marker saved yet")
	st, body, _ := s.call(http.MethodGet, "/api/v1/markers", at, nil)
	require.Equal(t, http.StatusOK, st)
	require.JSONEq(t, `{}`, body, "no timeline asked for gives {}, as in Mastodon")

	// Home by form: a new marker is version 1, and only home is answered.
	before := time.Now().Add(-time.Second)
	st, body, _ = s.call(http.MethodPost, "/api/v1/markers", at, url.Values{"home[last_read_id]": {"103206604258487607"}})
	require.Equal(t, http.StatusOK, st, body)
	saved := decode[map[string]marker](t, body)
	require.Len(t, saved, 1)
	require.Equal(t, "103206604258487607", saved["home"].LastReadID)
	require.Equal(t, 1, saved["home"].Version)
	updated, err := time.Parse("2006-01-02T15:04:05.000Z", saved["home"].UpdatedAt)
	require.NoError(t, err, "updated_at is UTC with milliseconds")
	require.True(t, updated.After(before), updated)

	// Notifications by JSON, the way Ice Cubes sends it (null for the other timeline).
	st, body = postMarkersJSON(t, s, at, `{"notifications":{"last_read_id":"35098814"},"home":null}`)
	require.Equal(t, http.StatusOK, st, body)
	saved = decode[map[string]marker](t, body)
	require.Equal(t, map[string]marker{"notifications": {LastReadID: "35098814", Version: 1, UpdatedAt: saved["notifications"].UpdatedAt}}, saved)

	// Every save adds one to the version, also when the id does not change; an id may
	// come as a JSON number.
	st, body = postMarkersJSON(t, s, at, `{"home":{"last_read_id":103206604258487608}}`)
	require.Equal(t, http.StatusOK, st, body)
	require.Equal(t, 2, decode[map[string]marker](t, body)["home"].Version)
	st, body, _ = s.call(http.MethodPost, "/api/v1/markers", at, url.Values{
		"home[last_read_id]": {"103206604258487608"}, "notifications[last_read_id]": {"35098815"}})
	require.Equal(t, http.StatusOK, st, body)
	saved = decode[map[string]marker](t, body)
	require.Equal(t, 3, saved["home"].Version)
	require.Equal(t, 2, saved["notifications"].Version)

	// Reading: both, one (timeline[] or timeline), the same as what was saved.
	got := getMarkers(t, s, at, both)
	require.Equal(t, saved, got)
	require.Equal(t, map[string]marker{"notifications": saved["notifications"]}, getMarkers(t, s, at, "timeline[]=notifications"))
	require.Equal(t, map[string]marker{"home": saved["home"]}, getMarkers(t, s, at, "timeline=home"))

	// Bob's markers are his own.
	require.Empty(t, getMarkers(t, s, bt, both))
	st, body, _ = s.call(http.MethodPost, "/api/v1/markers", bt, url.Values{"home[last_read_id]": {"5"}})
	require.Equal(t, http.StatusOK, st, body)
	require.Equal(t, map[string]marker{"home": {LastReadID: "5", Version: 1, UpdatedAt: decode[map[string]marker](t, body)["home"].UpdatedAt}},
		getMarkers(t, s, bt, both))
	require.Equal(t, got, getMarkers(t, s, at, both), "bob's save left alice's markers alone")

	// Posting nothing saves nothing, as in Mastodon.
	st, body, _ = s.call(http.MethodPost, "/api/v1/markers", at, url.Values{})
	require.Equal(t, http.StatusOK, st, body)
	require.JSONEq(t, `{}`, body)
	require.Equal(t, got, getMarkers(t, s, at, both))
}

// TestMarkersConcurrentSaves saves one marker from 20 requests at once: every one
// succeeds, and no version increment is lost.
func TestMarkersConcurrentSaves(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	at := s.personalToken(alice, "read write")
	const n = 20
	var wg sync.WaitGroup
	versions := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			form := url.Values{"home[last_read_id]": {fmt.Sprint(1000 + i)}, "notifications[last_read_id]": {fmt.Sprint(1 + i)}}
			req, err := http.NewRequest(http.MethodPost, s.base+"/api/v1/markers", strings.NewReader(form.Encode()))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+at)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				errs[i] = fmt.Errorf("status %d: %s", res.StatusCode, b)
				return
			}
			var saved map[string]marker
			if err := json.Unmarshal(b, &saved); err != nil {
				errs[i] = err
				return
			}
			versions[i] = saved["home"].Version
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	slices.Sort(versions)
	for i, v := range versions {
		require.Equal(t, i+1, v, "each save got its own version: %v", versions)
	}
	got := getMarkers(t, s, at, "timeline[]=home&timeline[]=notifications")
	require.Equal(t, n, got["home"].Version)
	require.Equal(t, n, got["notifications"].Version)
}

// TestMarkersRefuseBadInput: an unknown timeline or field, or an id that is not one, is
// 422 naming the field, and nothing is saved.
func TestMarkersRefuseBadInput(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	at := s.personalToken(alice, "read write")
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"home[last_read_id]": {"abc"}}, "home[last_read_id]"},
		{url.Values{"home[last_read_id]": {"-3"}}, "home[last_read_id]"},
		{url.Values{"home[last_read_id]": {"0"}}, "home[last_read_id]"},
		{url.Values{"notifications[last_read_id]": {""}}, "notifications[last_read_id]"},
		{url.Values{"home[last_read_id]": {"99999999999999999999"}}, "home[last_read_id]"},
		{url.Values{"conversations[last_read_id]": {"1"}}, "conversations"},
		{url.Values{"home[last_read_id]": {"1"}, "home[version]": {"3"}}, "home[version]"},
		{url.Values{"home": {"1"}}, "home"},
	} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/markers", at, tc.form)
		require.Equal(t, http.StatusUnprocessableEntity, st, "%v: %s", tc.form, body)
		require.Contains(t, body, tc.field, tc.form)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"home":"5"}`, "home"},
		{`{"home":{}}`, "home[last_read_id]"},
		{`{"home":{"last_read_id":true}}`, "home[last_read_id]"},
		{`{"home":{"last_read_id":"1.5"}}`, "home[last_read_id]"},
		{`{"notifications":{"last_read_id":"1"},"lists":{"last_read_id":"1"}}`, "lists"},
	} {
		st, body := postMarkersJSON(t, s, at, tc.body)
		require.Equal(t, http.StatusUnprocessableEntity, st, "%s: %s", tc.body, body)
		require.Contains(t, body, tc.field, tc.body)
	}
	st, body := postMarkersJSON(t, s, at, `{"home":`)
	require.Equal(t, http.StatusBadRequest, st, body)

	st, body, _ = s.call(http.MethodGet, "/api/v1/markers?timeline[]=home&timeline[]=bogus", at, nil)
	require.Equal(t, http.StatusUnprocessableEntity, st, body)
	require.Contains(t, body, "timeline[]")
	require.Contains(t, body, "bogus")

	require.Empty(t, getMarkers(t, s, at, "timeline[]=home&timeline[]=notifications"), "nothing was saved")
}

// TestMarkersAndPreferencesNeedTheirScopes: no token or a bad one is 401, a token without
// the endpoint's scope 403.
func TestMarkersAndPreferencesNeedTheirScopes(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	readStatuses := s.personalToken(alice, "read:statuses")
	readAccounts := s.personalToken(alice, "read:accounts")
	form := url.Values{"home[last_read_id]": {"1"}}
	for _, tc := range []struct {
		method, path, token string
		form                url.Values
		want                int
	}{
		{http.MethodGet, "/api/v1/markers?timeline[]=home", "", nil, http.StatusUnauthorized},
		{http.MethodPost, "/api/v1/markers", "", form, http.StatusUnauthorized},
		{http.MethodGet, "/api/v1/preferences", "", nil, http.StatusUnauthorized},
		{http.MethodGet, "/api/v1/markers?timeline[]=home", "not-a-token", nil, http.StatusUnauthorized},
		{http.MethodGet, "/api/v1/markers?timeline[]=home", readAccounts, nil, http.StatusForbidden},
		{http.MethodPost, "/api/v1/markers", readStatuses, form, http.StatusForbidden},
		{http.MethodGet, "/api/v1/preferences", readStatuses, nil, http.StatusForbidden},
		{http.MethodGet, "/api/v1/markers?timeline[]=home", readStatuses, nil, http.StatusOK},
		{http.MethodGet, "/api/v1/preferences", readAccounts, nil, http.StatusOK},
	} {
		st, body, _ := s.call(tc.method, tc.path, tc.token, tc.form)
		require.Equal(t, tc.want, st, "%s %s: %s", tc.method, tc.path, body)
	}
	require.Empty(t, getMarkers(t, s, readStatuses, "timeline[]=home"), "the refused save saved nothing")
}
