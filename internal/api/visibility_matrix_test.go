package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/core"
)

// seenIDs collects the status ids a stream delivered, by event name.
type seenIDs struct {
	mu  sync.Mutex
	ids map[string][]string // "update" / "notification" → status ids
}

func (c *seenIDs) add(event, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids[event] = append(c.ids[event], id)
}

func (c *seenIDs) has(event, id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.ids[event], id)
}

// statusIDOf returns the id of the status an update or notification payload carries.
func statusIDOf(event, data string) string {
	var v struct {
		ID     string `json:"id"`
		Status *struct {
			ID string `json:"id"`
		} `json:"status"`
	}
	if json.Unmarshal([]byte(data), &v) != nil {
		return ""
	}
	if event == "notification" {
		if v.Status == nil {
			return ""
		}
		return v.Status.ID
	}
	return v.ID
}

// sseIDs follows an SSE stream (client c, with its cookies, or a bearer token) and records
// the status ids of its update/post and notification events.
func sseIDs(t *testing.T, ctx context.Context, c *http.Client, target, token string) *seenIDs {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, target)
	seen := &seenIDs{ids: map[string][]string{}}
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data := strings.TrimPrefix(line, "data: ")
				switch event {
				case "update", "notification":
					seen.add(event, statusIDOf(event, data))
				case "post": // the website's stream
					var v struct {
						ID int64 `json:"id"`
					}
					if json.Unmarshal([]byte(data), &v) == nil {
						seen.add("update", fmt.Sprint(v.ID))
					}
				}
			}
		}
	}()
	return seen
}

// wsIDs follows a WebSocket subscription and records the same.
func wsIDs(t *testing.T, base, stream, token string) *seenIDs {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/streaming?stream=" + stream
	if token != "" {
		u += "&access_token=" + url.QueryEscape(token)
	}
	conn, _, err := websocket.DefaultDialer.Dial(u, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	seen := &seenIDs{ids: map[string][]string{}}
	go func() {
		for {
			var e wsEvent
			if conn.ReadJSON(&e) != nil {
				return
			}
			if e.Event == "update" || e.Event == "notification" {
				seen.add(e.Event, statusIDOf(e.Event, e.Payload))
			}
		}
	}()
	return seen
}

// TestVisibilityMatrix posts one post of each visibility by alice, each mentioning mia,
// and checks, for every viewer and every read surface, that exactly the allowed
// combinations see it: anonymous, alice (the author), fred (her follower), mia (mentioned,
// not a follower) and sam (neither; on a members-only server, the other member) — on a
// public server and on a members-only one. Surfaces: the status, its context, favourited_by, the
// public, home and tag timelines, alice's statuses, search, the notifications, the SSE and
// WebSocket streams (public, user, hashtag), the website's post page, profile, public
// timeline, tag page, search page and live stream, and the mention email jobs. Every post
// has the tag #matrix, which sam follows: its listed posts, and only those, reach his home.
func TestVisibilityMatrix(t *testing.T) {
	t.Parallel()
	for _, membersOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("members-only=%v", membersOnly), func(t *testing.T) {
			t.Parallel()
			visibilityMatrix(t, membersOnly)
		})
	}
}

// visibilityMatrix is TestVisibilityMatrix on a public or a members-only server. On a
// members-only server the anonymous viewer sees nothing anywhere, and sam is the other
// member, who sees what he would see on a public server.
func visibilityMatrix(t *testing.T, membersOnly bool) {
	s := newServerApp(t, func(*api.Options) {}, func(o *app.Options) { o.Config.MembersOnly = membersOnly })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice, fred, mia, sam := s.user("alice"), s.user("fred"), s.user("mia"), s.user("sam")
	_, err := s.core.Follow(ctx, fred.ID, "alice")
	require.NoError(t, err)
	_, err = s.core.FollowTag(ctx, sam, "matrix")
	require.NoError(t, err)
	type viewer struct {
		name  string
		user  *core.User
		token string
		web   *browser
	}
	viewers := []*viewer{{name: "anonymous", web: s.browser()}}
	for _, u := range []core.User{alice, fred, mia, sam} {
		v := &viewer{name: u.Username, user: &u, token: s.personalToken(u, "read write"), web: s.browser()}
		res, _ := v.web.do(http.MethodPost, "/login", url.Values{"login": {u.Username}, "password": {pw}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		viewers = append(viewers, v)
	}
	everyone := []string{"anonymous", "alice", "fred", "mia", "sam"}
	if membersOnly {
		everyone = everyone[1:]
	}
	mayView := map[string][]string{ // visibility → who may see the post at all
		core.VisibilityPublic:   everyone,
		core.VisibilityUnlisted: everyone,
		core.VisibilityPrivate:  {"alice", "fred", "mia"},
		core.VisibilityDirect:   {"alice", "mia"},
	}
	shut := func(v *viewer) bool { return membersOnly && v.user == nil } // the anonymous, shut out

	// Streams, opened before anything is posted.
	type streams struct{ sse, ws, web, tagSSE, tagWS *seenIDs }
	live := map[string]streams{}
	for _, v := range viewers {
		if shut(v) { // every stream refuses them
			for _, path := range []string{"/events?stream=user:alice", "/api/v1/streaming/public"} {
				code, _, _ := s.call(http.MethodGet, path, "", nil)
				require.Equal(t, http.StatusUnauthorized, code, path)
			}
			_, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.base, "http")+"/api/v1/streaming?stream=public", nil)
			require.Error(t, err)
			require.Equal(t, http.StatusUnauthorized, res.StatusCode)
			none := &seenIDs{ids: map[string][]string{}}
			live[v.name] = streams{sse: none, ws: none, web: none, tagSSE: none, tagWS: none}
			continue
		}
		st := streams{web: sseIDs(t, ctx, v.web.c, s.base+"/events?stream=user:alice", ""),
			tagSSE: sseIDs(t, ctx, http.DefaultClient, s.base+"/api/v1/streaming/hashtag?tag=Matrix", v.token),
			tagWS:  wsIDs(t, s.base, "hashtag&tag=matrix", v.token)}
		if v.user == nil {
			st.sse = sseIDs(t, ctx, http.DefaultClient, s.base+"/api/v1/streaming/public", "")
			st.ws = wsIDs(t, s.base, "public", "")
		} else {
			st.sse = sseIDs(t, ctx, http.DefaultClient, s.base+"/api/v1/streaming/user", v.token)
			st.ws = wsIDs(t, s.base, "user", v.token)
		}
		live[v.name] = st
	}
	time.Sleep(300 * time.Millisecond)

	// A public thread root, one reply of each visibility below it, each mentioning mia.
	root, _, err := s.core.Publish(ctx, alice, core.NewPost{Body: "the root of the thread"})
	require.NoError(t, err)
	ids := map[string]string{}
	pictures := map[string]core.Media{}
	for _, vis := range []string{core.VisibilityPublic, core.VisibilityUnlisted, core.VisibilityPrivate, core.VisibilityDirect} {
		m, err := s.core.Upload(ctx, alice, pngOf(t, picture(8, 6)), core.MediaInput{Description: vis}, true)
		require.NoError(t, err)
		p, _, err := s.core.Publish(ctx, alice, core.NewPost{Body: "a " + vis + " post for @mia #matrix", Visibility: vis, InReplyTo: root.ID,
			MediaIDs: []int64{m.ID}})
		require.NoError(t, err)
		ids[vis] = fmt.Sprint(p.ID)
		pictures[vis] = m
		_, err = s.core.Favourite(ctx, alice, p.ID)
		require.NoError(t, err)
	}
	s.waitFor(fmt.Sprintf(`SELECT count(*) FROM notifications WHERE recipient_id = %d`, mia.ID), 4)
	s.waitFor(`SELECT count(*) FROM post_search`, 5) // the search consumer indexed them
	// A last public post marks the end of what the streams must have delivered.
	marker, _, err := s.core.Publish(ctx, alice, core.NewPost{Body: "the end #matrix"})
	require.NoError(t, err)
	markerID := fmt.Sprint(marker.ID)
	for _, v := range viewers {
		st := live[v.name]
		if shut(v) {
			continue
		}
		require.Eventually(t, func() bool { return st.web.has("update", markerID) }, 20*time.Second, 20*time.Millisecond, "%s web stream", v.name)
		require.Eventually(t, func() bool { return st.tagSSE.has("update", markerID) && st.tagWS.has("update", markerID) },
			20*time.Second, 20*time.Millisecond, "%s hashtag streams", v.name)
		if v.user == nil || v.user.ID == alice.ID || v.user.ID == fred.ID || v.user.ID == sam.ID { // streams the marker reaches
			require.Eventually(t, func() bool { return st.sse.has("update", markerID) && st.ws.has("update", markerID) },
				20*time.Second, 20*time.Millisecond, "%s api streams", v.name)
		}
	}
	time.Sleep(300 * time.Millisecond) // for the streams the marker does not reach

	apiIDs := func(v *viewer, path string) []string {
		code, body, _ := s.call(http.MethodGet, path, v.token, nil)
		if shut(v) {
			require.Equal(t, http.StatusUnauthorized, code, "%s %s: %s", v.name, path, body)
			return nil
		}
		require.Equal(t, http.StatusOK, code, "%s %s: %s", v.name, path, body)
		var sts []map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &sts))
		var out []string
		for _, st := range sts {
			out = append(out, st["id"].(string))
		}
		return out
	}
	var contextIDs = map[string][]string{}
	for _, v := range viewers {
		code, body, _ := s.call(http.MethodGet, fmt.Sprintf("/api/v1/statuses/%d/context", root.ID), v.token, nil)
		if shut(v) {
			require.Equal(t, http.StatusUnauthorized, code)
			continue
		}
		require.Equal(t, http.StatusOK, code)
		var c struct{ Descendants []map[string]any }
		require.NoError(t, json.Unmarshal([]byte(body), &c))
		for _, d := range c.Descendants {
			contextIDs[v.name] = append(contextIDs[v.name], d["id"].(string))
		}
	}

	searchIDs := func(v *viewer) []string {
		code, body, _ := s.call(http.MethodGet, "/api/v2/search?type=statuses&q=post+for", v.token, nil)
		if shut(v) {
			require.Equal(t, http.StatusUnauthorized, code)
			return nil
		}
		require.Equal(t, http.StatusOK, code, body)
		var res struct{ Statuses []map[string]any }
		require.NoError(t, json.Unmarshal([]byte(body), &res))
		var out []string
		for _, st := range res.Statuses {
			out = append(out, st["id"].(string))
		}
		return out
	}

	checked := 0
	for vis, id := range ids {
		for _, v := range viewers {
			may := slices.Contains(mayView[vis], v.name)
			is := func(name string) bool { return v.name == name }
			expect := func(surface string, want, got bool) {
				t.Helper()
				checked++
				require.Equal(t, want, got, "%s post, viewer %s, %s", vis, v.name, surface)
			}
			code, status, _ := s.call(http.MethodGet, "/api/v1/statuses/"+id, v.token, nil)
			expect("GET status", may, code == http.StatusOK)
			// The post's picture: by the browser's session at its plain address, and at the
			// address the API showed the viewer (signed when not public), with no session.
			res, _ := v.web.do(http.MethodGet, pictures[vis].Path(core.VariantSmall), nil)
			expect("picture by session", may, res.StatusCode == http.StatusOK)
			var st struct {
				Media []struct {
					URL string `json:"url"`
				} `json:"media_attachments"`
			}
			shown := false
			if code == http.StatusOK && json.Unmarshal([]byte(status), &st) == nil && len(st.Media) == 1 {
				pc, _, _ := fetch(t, s, st.Media[0].URL)
				shown = pc == http.StatusOK
			}
			expect("picture at the API's address", may, shown)
			code, _, _ = s.call(http.MethodGet, "/api/v1/statuses/"+id+"/favourited_by", v.token, nil)
			expect("favourited_by", may, code == http.StatusOK)
			expect("context", may, slices.Contains(contextIDs[v.name], id))
			listed := vis == core.VisibilityPublic && !shut(v)
			expect("public timeline", listed, slices.Contains(apiIDs(v, "/api/v1/timelines/public"), id))
			expect("account statuses", may, slices.Contains(apiIDs(v, fmt.Sprintf("/api/v1/accounts/%d/statuses", alice.ID)), id))
			expect("tag timeline", listed, slices.Contains(apiIDs(v, "/api/v1/timelines/tag/matrix"), id))
			searchable := may && (vis != core.VisibilityUnlisted || is("alice")) // unlisted stays out of others' search
			expect("search", searchable, slices.Contains(searchIDs(v), id))
			expect("SSE hashtag stream", listed, live[v.name].tagSSE.has("update", id))
			expect("WebSocket hashtag stream", listed, live[v.name].tagWS.has("update", id))
			if v.user != nil {
				inHome := (is("alice") || is("fred")) && may || is("sam") && listed // sam follows #matrix
				expect("home timeline", inHome, slices.Contains(apiIDs(v, "/api/v1/timelines/home"), id))
				_, ns, _ := s.call(http.MethodGet, "/api/v1/notifications?types[]=mention", v.token, nil)
				expect("notifications", is("mia"), strings.Contains(ns, `"id":"`+id+`"`))
				expect("SSE user stream", inHome, live[v.name].sse.has("update", id))
				expect("WebSocket user stream", inHome, live[v.name].ws.has("update", id))
				expect("SSE notification", is("mia"), live[v.name].sse.has("notification", id))
				expect("WebSocket notification", is("mia"), live[v.name].ws.has("notification", id))
				var jobs int
				require.NoError(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM river_job j JOIN notifications n ON n.id = (j.args->>'notification_id')::bigint
					WHERE j.kind = 'mention_email' AND n.post_id = $1 AND n.recipient_id = $2`, id, v.user.ID).Scan(&jobs))
				expect("mention email", is("mia"), jobs == 1)
			} else {
				expect("SSE public stream", listed, live[v.name].sse.has("update", id))
				expect("WebSocket public stream", listed, live[v.name].ws.has("update", id))
			}
			res, _ = v.web.do(http.MethodGet, "/posts/"+id, nil)
			expect("web post page", may, res.StatusCode == http.StatusOK)
			_, profile := v.web.do(http.MethodGet, "/@alice", nil)
			expect("web profile", may, strings.Contains(profile, "a "+vis+" post for"))
			_, home := v.web.do(http.MethodGet, "/", nil)
			expect("web public timeline", listed, strings.Contains(home, "a "+vis+" post for"))
			_, tagPage := v.web.do(http.MethodGet, "/tags/matrix", nil)
			expect("web tag page", listed, strings.Contains(tagPage, "a "+vis+" post for"))
			_, found := v.web.do(http.MethodGet, "/search?q=post+for", nil)
			expect("web search page", searchable, strings.Contains(found, "a "+vis+" post for"))
			expect("web live stream", may, live[v.name].web.has("update", id))
		}
	}
	t.Logf("%d combinations checked", checked)
}
