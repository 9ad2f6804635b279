package api_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
	"github.com/stretchr/testify/require"
)

// emptyCollections are collections a new account has nothing in — most of them of features
// not built yet (see docs/compatibility.md), some real ones (conversations, bookmarks,
// favourites) that start empty: each answers 200 [] to a signed-in app.
var emptyCollections = []string{
	"/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/followed_tags",
	"/api/v1/follow_requests", "/api/v1/announcements", "/api/v1/trends", "/api/v1/trends/tags",
	"/api/v1/trends/statuses", "/api/v1/trends/links", "/api/v2/suggestions",
	"/api/v1/scheduled_statuses", "/api/v1/domain_blocks", "/api/v1/conversations",
	"/api/v1/bookmarks", "/api/v1/favourites", "/api/v1/blocks", "/api/v1/mutes",
	"/api/v1/instance/rules", "/api/v1/instance/peers", "/api/v1/custom_emojis",
}

// TestCompatStartupJSONApp walks what a JSON-posting app (Ice Cubes, Elk, Phanpy) does from
// the first launch to the main screens: register with a custom-scheme redirect, log in by
// code and PKCE, discover the instance (with and without trailing slashes), read the
// account, preferences and markers, post, open the post and its thread, read the home
// timeline, notifications, a profile and every empty collection.
func TestCompatStartupJSONApp(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	bob := s.user("bob")
	js := "application/json"
	body := func(v any) []byte { b, _ := json.Marshal(v); return b }

	// Discovery before login, as apps do on the server-picker screen.
	for _, p := range []string{"/api/v1/instance", "/api/v1/instance/", "/api/v2/instance", "/api/v2/instance/"} {
		code, inst := s.raw(http.MethodGet, p, "", "", nil)
		require.Equal(t, http.StatusOK, code, p)
		require.Contains(t, inst["version"], "4.", p)
	}
	code, ni := s.raw(http.MethodGet, "/.well-known/nodeinfo", "", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotEmpty(t, ni["links"])

	// Register as Ice Cubes does: JSON, a custom-scheme redirect URI.
	const redirect = "icecubesapp://"
	code, app := s.raw(http.MethodPost, "/api/v1/apps", "", js, body(map[string]any{
		"client_name": "IceCubesApp", "redirect_uris": redirect, "scopes": "read write follow push",
		"website": "https://github.com/Dimillian/IceCubesApp"}))
	require.Equal(t, http.StatusOK, code, app)
	clientID, secret := app["client_id"].(string), app["client_secret"].(string)

	// Authorize with PKCE in a browser, then exchange the code in JSON.
	vb := make([]byte, 32)
	rand.Read(vb)
	verifier := base64.RawURLEncoding.EncodeToString(vb)
	sum := sha256.Sum256([]byte(verifier))
	authURL := "/oauth/authorize/?" + url.Values{"client_id": {clientID}, "redirect_uri": {redirect},
		"response_type": {"code"}, "scope": {"read write follow push"}, "state": {"xyz"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	back := s.browser().authorize(authURL, "alice", "approve")
	require.Equal(t, "icecubesapp", back.Scheme, back.String())
	require.Equal(t, "xyz", back.Query().Get("state"))
	code, tok := s.raw(http.MethodPost, "/oauth/token", "", js, body(map[string]any{
		"grant_type": "authorization_code", "client_id": clientID, "client_secret": secret,
		"redirect_uri": redirect, "code": back.Query().Get("code"), "code_verifier": verifier,
		"scope": "read write follow push"}))
	require.Equal(t, http.StatusOK, code, tok)
	token := tok["access_token"].(string)

	// Start-up calls.
	code, me := s.raw(http.MethodGet, "/api/v1/accounts/verify_credentials", token, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "alice", me["username"])
	require.NotNil(t, me["source"])
	code, prefs := s.raw(http.MethodGet, "/api/v1/preferences", token, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "public", prefs["posting:default:visibility"])
	code, _ = s.raw(http.MethodGet, "/api/v1/markers?timeline[]=home&timeline[]=notifications", token, "", nil)
	require.Equal(t, http.StatusOK, code)

	// Bob posts a mention; alice's app posts in JSON and reads it all back.
	bobTok := s.personalToken(bob, "read write")
	code, mention := s.raw(http.MethodPost, "/api/v1/statuses", bobTok, "application/x-www-form-urlencoded",
		[]byte("status=hi+%40alice&visibility=public"))
	require.Equal(t, http.StatusOK, code, mention)
	code, _ = s.raw(http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID), token, "", nil)
	require.Equal(t, http.StatusOK, code)
	code, st := s.raw(http.MethodPost, "/api/v1/statuses", token, js, body(map[string]any{
		"status": "hello from an app", "visibility": "public", "media_ids": []string{},
		"media_attributes": []any{}, "language": "en"}), "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusOK, code, st)
	require.Equal(t, "IceCubesApp", st["application"].(map[string]any)["name"])
	sid := st["id"].(string)
	code, got := s.raw(http.MethodGet, "/api/v1/statuses/"+sid, token, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "en", got["language"])
	code, ctxt := s.raw(http.MethodGet, "/api/v1/statuses/"+sid+"/context", token, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, map[string]any{"ancestors": []any{}, "descendants": []any{}}, ctxt)
	code, _ = s.raw(http.MethodGet, "/api/v1/statuses/999999/context", token, "", nil)
	require.Equal(t, http.StatusNotFound, code)

	code, inst := s.raw(http.MethodGet, "/api/v2/instance", "", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 2, inst["usage"].(map[string]any)["users"].(map[string]any)["active_month"], "alice and bob posted")

	code, home, _ := s.call(http.MethodGet, "/api/v1/timelines/home?limit=20", token, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, home, sid)
	require.Contains(t, home, mention["id"].(string))
	s.waitFor(fmt.Sprintf("SELECT count(*) FROM notifications WHERE recipient_id = %d", alice.ID), 1)
	code, notes, _ := s.call(http.MethodGet, "/api/v1/notifications?exclude_types[]=follow_request", token, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, notes, `"type":"mention"`)
	var noteList []map[string]any
	require.NoError(t, json.Unmarshal([]byte(notes), &noteList))

	// Markers: set both in JSON, read them back.
	code, set := s.raw(http.MethodPost, "/api/v1/markers", token, js, body(map[string]any{
		"home": map[string]any{"last_read_id": sid}, "notifications": map[string]any{"last_read_id": noteList[0]["id"]}}))
	require.Equal(t, http.StatusOK, code, set)
	code, markers := s.raw(http.MethodGet, "/api/v1/markers?timeline[]=home&timeline[]=notifications", token, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, sid, markers["home"].(map[string]any)["last_read_id"])
	require.Equal(t, noteList[0]["id"], markers["notifications"].(map[string]any)["last_read_id"])

	// A profile: account, its statuses, relationships, featured tags, familiar followers.
	code, prof := s.raw(http.MethodGet, fmt.Sprintf("/api/v1/accounts/%d", bob.ID), token, "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "bob", prof["username"])
	for _, p := range []string{
		fmt.Sprintf("/api/v1/accounts/%d/statuses?exclude_replies=true&limit=20", bob.ID),
		fmt.Sprintf("/api/v1/accounts/relationships?id[]=%d", bob.ID),
		fmt.Sprintf("/api/v1/accounts/%d/featured_tags", bob.ID),
		fmt.Sprintf("/api/v1/accounts/familiar_followers?id[]=%d", bob.ID),
	} {
		code, b, _ := s.call(http.MethodGet, p, token, nil)
		require.Equal(t, http.StatusOK, code, "%s: %s", p, b)
		require.True(t, strings.HasPrefix(b, "["), p)
	}

	for _, p := range emptyCollections {
		code, b, _ := s.call(http.MethodGet, p, token, nil)
		require.Equal(t, http.StatusOK, code, p)
		require.Equal(t, "[]", strings.TrimSpace(b), p)
	}
	code, ext := s.raw(http.MethodGet, "/api/v1/instance/extended_description", "", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.NotEmpty(t, ext["content"])
	code, wf := s.raw(http.MethodGet, "/.well-known/webfinger?resource=acct:alice@"+strings.TrimPrefix(s.base, "http://"), "", "", nil)
	require.Equal(t, http.StatusOK, code, wf)
}

// TestCompatGoMastodonPasswordLogin walks the same start-up with an unmodified client
// library, logging in by password as command-line clients and bots do.
func TestCompatGoMastodonPasswordLogin(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	bob := s.user("bob")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	app, err := mastodon.RegisterApp(ctx, &mastodon.AppConfig{Server: s.base + "/", ClientName: "bot",
		Scopes: "read write follow", RedirectURIs: "urn:ietf:wg:oauth:2.0:oob"})
	require.NoError(t, err)
	c := mastodon.NewClient(&mastodon.Config{Server: s.base, ClientID: app.ClientID, ClientSecret: app.ClientSecret})
	require.Error(t, c.Authenticate(ctx, "alice@example.com", "wrong password"))
	require.NoError(t, c.Authenticate(ctx, "alice@example.com", pw))

	inst, err := c.GetInstance(ctx)
	require.NoError(t, err)
	require.Contains(t, inst.Version, "4.")
	me, err := c.GetAccountCurrentUser(ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", me.Username)
	_, err = c.AccountFollow(ctx, mastodon.ID(fmt.Sprint(bob.ID)))
	require.NoError(t, err)

	st, err := c.PostStatus(ctx, &mastodon.Toot{Status: "from go-mastodon", Language: "fr"})
	require.NoError(t, err)
	require.Equal(t, "fr", st.Language)
	code, raw := s.raw(http.MethodGet, "/api/v1/statuses/"+string(st.ID), "", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "bot", raw["application"].(map[string]any)["name"], "the app it was posted with")
	dm, err := c.PostStatus(ctx, &mastodon.Toot{Status: "secret for @bob", Visibility: "direct"})
	require.NoError(t, err)
	require.Equal(t, "direct", dm.Visibility)
	code, _ = s.raw(http.MethodGet, "/api/v1/statuses/"+string(dm.ID), "", "", nil)
	require.Equal(t, http.StatusNotFound, code, "a direct post is hidden from the anonymous")
	_, err = c.PostStatus(ctx, &mastodon.Toot{Status: "nope", Visibility: "secret"})
	require.ErrorContains(t, err, "422")
	_, err = c.PostStatus(ctx, &mastodon.Toot{Status: "with a poll", Poll: &mastodon.TootPoll{Options: []string{"a", "b"}, ExpiresInSeconds: 3600}})
	require.ErrorContains(t, err, "poll")

	got, err := c.GetStatus(ctx, st.ID)
	require.NoError(t, err)
	require.Equal(t, st.ID, got.ID)
	thread, err := c.GetStatusContext(ctx, st.ID)
	require.NoError(t, err)
	require.Empty(t, thread.Ancestors)
	require.Empty(t, thread.Descendants)
	home, err := c.GetTimelineHome(ctx, nil)
	require.NoError(t, err)
	require.Len(t, home, 2, "the post and the direct one; the poll was refused, not published")
	require.Equal(t, dm.ID, home[0].ID)
	_, err = c.GetNotifications(ctx, nil)
	require.NoError(t, err)
	_, err = c.GetAccountStatuses(ctx, mastodon.ID(fmt.Sprint(bob.ID)), nil)
	require.NoError(t, err)

	// Empty collections through the library's own types.
	lists, err := c.GetLists(ctx)
	require.NoError(t, err)
	require.Empty(t, lists)
	filters, err := c.GetFilters(ctx)
	require.NoError(t, err)
	require.Empty(t, filters)
	for name, call := range map[string]func() (int, error){
		"favourites":      func() (int, error) { v, err := c.GetFavourites(ctx, nil); return len(v), err },
		"bookmarks":       func() (int, error) { v, err := c.GetBookmarks(ctx, nil); return len(v), err },
		"blocks":          func() (int, error) { v, err := c.GetBlocks(ctx, nil); return len(v), err },
		"mutes":           func() (int, error) { v, err := c.GetMutes(ctx, nil); return len(v), err },
		"follow requests": func() (int, error) { v, err := c.GetFollowRequests(ctx, nil); return len(v), err },
		"followed tags":   func() (int, error) { v, err := c.GetFollowedTags(ctx, nil); return len(v), err },
		"peers":           func() (int, error) { v, err := c.GetInstancePeers(ctx); return len(v), err },
		"trends":          func() (int, error) { v, err := c.GetTrendingStatuses(ctx, nil); return len(v), err },
	} {
		n, err := call()
		require.NoError(t, err, name)
		require.Zero(t, n, name)
	}
}
