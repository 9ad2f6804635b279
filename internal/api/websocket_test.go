package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"
)

type wsEvent struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload"`
}

func TestWebSocketStreaming(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	aliceTok := s.personalToken(alice, "read write")
	bobTok := s.personalToken(bob, "read")

	// Bob connects with his token as the subprotocol, which must be echoed.
	wsURL := "ws" + strings.TrimPrefix(s.base, "http") + "/api/v1/streaming"
	d := websocket.Dialer{Subprotocols: []string{bobTok}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(wsURL, nil)
	require.NoError(t, err)
	defer conn.Close()
	require.Equal(t, bobTok, res.Header.Get("Sec-WebSocket-Protocol"), "the subprotocol token is echoed")
	require.Equal(t, bobTok, conn.Subprotocol())
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "subscribe", "stream": "public"}))
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "subscribe", "stream": "user"}))
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "subscribe", "stream": "hashtag", "tag": "Socket"}))
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "subscribe", "stream": "list"}))
	time.Sleep(300 * time.Millisecond)

	// A second client uses ?stream= and ?access_token=.
	conn2, _, err := websocket.DefaultDialer.Dial(wsURL+"?stream=public&access_token="+url.QueryEscape(aliceTok), nil)
	require.NoError(t, err)
	defer conn2.Close()
	time.Sleep(200 * time.Millisecond)

	st, body, _ := s.call(http.MethodPost, "/api/v1/statuses", aliceTok, url.Values{"status": {"hey @bob, over the #socket"}})
	require.Equal(t, http.StatusOK, st, body)
	var posted struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &posted))

	got := map[string]bool{}
	var sawError bool
	read := func(c *websocket.Conn, until func() bool) {
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		for !until() {
			_, msg, err := c.ReadMessage()
			require.NoError(t, err)
			var e wsEvent
			require.NoError(t, json.Unmarshal(msg, &e))
			if e.Event == "" {
				sawError = strings.Contains(string(msg), "Unknown stream type")
				continue
			}
			switch e.Event {
			case "update":
				var status struct {
					ID      string
					Account struct{ Username string }
				}
				require.NoError(t, json.Unmarshal([]byte(e.Payload), &status), "payload is a JSON string")
				require.Equal(t, posted.ID, status.ID)
				require.Equal(t, "alice", status.Account.Username)
			case "delete":
				require.Equal(t, posted.ID, e.Payload)
			case "notification":
				var n struct {
					Type   string
					Status struct{ ID string }
				}
				require.NoError(t, json.Unmarshal([]byte(e.Payload), &n))
				require.Equal(t, "mention", n.Type)
				require.Equal(t, posted.ID, n.Status.ID)
			}
			if e.Stream[0] == "hashtag" {
				require.Equal(t, []string{"hashtag", "Socket"}, e.Stream, "a hashtag stream is named with its tag")
			}
			got[fmt.Sprintf("%s:%s", e.Stream[0], e.Event)] = true
		}
	}
	read(conn, func() bool { return got["public:update"] && got["user:notification"] && got["hashtag:update"] })
	require.True(t, sawError, "an unknown stream is refused with an error message")

	st, _, _ = s.call(http.MethodDelete, "/api/v1/statuses/"+posted.ID, aliceTok, nil)
	require.Equal(t, http.StatusOK, st)
	read(conn, func() bool { return got["public:delete"] })

	clear(got)
	read(conn2, func() bool { return got["public:update"] && got["public:delete"] })

	// Unauthenticated clients may not follow a user stream.
	conn3, _, err := websocket.DefaultDialer.Dial(wsURL+"?stream=user", nil)
	require.NoError(t, err)
	defer conn3.Close()
	conn3.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, msg, err := conn3.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(msg), "Missing access token")
}

// TestWebSocketBurstArrivesInOrder: no goroutine waits on an idle WebSocket subscription;
// the hub's wake-up starts one that sends what is queued and ends. A burst of posts, made
// while two subscriptions of one connection and a second connection listen, arrives
// whole and in order on each, and a post after a quiet spell arrives too (the writer
// starts again).
func TestWebSocketBurstArrivesInOrder(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	tok := s.personalToken(alice, "read write")
	one := dialWS(t, s, "stream=public", tok)
	require.NoError(t, one.WriteJSON(map[string]string{"type": "subscribe", "stream": "user"}))
	two := dialWS(t, s, "stream=public", "")
	require.Eventually(t, func() bool { return s.hub.Subscribers() == 3 }, 5*time.Second, 10*time.Millisecond)

	const n = 40
	var ids []string
	post := func(i int) {
		st, body, _ := s.call(http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {fmt.Sprintf("burst %d", i)}})
		require.Equal(t, http.StatusOK, st, body)
		var p struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(body), &p))
		ids = append(ids, p.ID)
	}
	for i := range n {
		post(i)
	}
	// updates reads want updates from c and returns their ids by stream name.
	updates := func(c *websocket.Conn, want int) map[string][]string {
		got := map[string][]string{}
		total := 0
		require.NoError(t, c.SetReadDeadline(time.Now().Add(15*time.Second)))
		for total < want {
			_, msg, err := c.ReadMessage()
			require.NoError(t, err)
			var e wsEvent
			require.NoError(t, json.Unmarshal(msg, &e))
			if e.Event != "update" {
				continue
			}
			var status struct{ ID string }
			require.NoError(t, json.Unmarshal([]byte(e.Payload), &status))
			got[e.Stream[0]] = append(got[e.Stream[0]], status.ID)
			total++
		}
		return got
	}
	byStream := updates(one, 2*n)
	require.Equal(t, ids, byStream["public"], "public, whole and in order")
	require.Equal(t, ids, byStream["user"], "user, whole and in order")
	require.Equal(t, ids, updates(two, n)["public"], "the other connection too")

	time.Sleep(300 * time.Millisecond) // the writers have ended
	post(n)
	require.Equal(t, ids[n:], updates(two, 1)["public"], "a post after a quiet spell arrives")
}
