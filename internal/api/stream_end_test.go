package api_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
)

// openSSE opens path with token, reads the opening comment, and returns a function that
// waits until the stream ends and returns the names of the events it sent.
func openSSE(t *testing.T, s *server, path, token string) (rest func(timeout time.Duration) []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	require.True(t, sc.Scan())
	require.Equal(t, ":)", sc.Text())
	return func(timeout time.Duration) []string {
		done := make(chan []string, 1)
		go func() {
			var names []string
			for sc.Scan() {
				if n, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
					names = append(names, n)
				}
			}
			done <- names
		}()
		select {
		case names := <-done:
			return names
		case <-time.After(timeout):
			t.Fatalf("%s: the stream is still open after %s", path, timeout)
			return nil
		}
	}
}

// dialWS opens /api/v1/streaming with query (and the token, when given).
func dialWS(t *testing.T, s *server, query, token string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if token != "" {
		d.Subprotocols = []string{token}
	}
	conn, _, err := d.Dial("ws"+strings.TrimPrefix(s.base, "http")+"/api/v1/streaming?"+query, nil)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closeCode reads from conn until it ends and returns the close code the server sent.
func closeCode(t *testing.T, conn *websocket.Conn, timeout time.Duration) int {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(timeout)))
	for {
		_, _, err := conn.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		}
		t.Fatalf("the connection did not end with a close frame: %v", err)
	}
}

// TestRevokedTokenEndsItsStreams (issue 13, item 9): revoking a token closes its open SSE
// and WebSocket streams within seconds (the hub re-checks every 2 s), frees their slots,
// and the token cannot open another. Before, both streams ran on until the client left.
func TestRevokedTokenEndsItsStreams(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	tok, other := s.personalToken(alice, "read"), s.personalToken(bob, "read")
	sse := openSSE(t, s, "/api/v1/streaming/user", tok)
	openSSE(t, s, "/api/v1/streaming/public", other) // bob's stream, which stays
	ws := dialWS(t, s, "stream=user", tok)
	require.Eventually(t, func() bool { return s.hub.Subscribers() == 3 }, 5*time.Second, 10*time.Millisecond)

	g, err := s.oauth.Lookup(context.Background(), tok)
	require.NoError(t, err)
	require.NoError(t, s.oauth.RevokeForUser(context.Background(), alice.ID, g.TokenID))
	start := time.Now()
	require.Equal(t, []string{"reset"}, sse(5*time.Second), "the SSE stream says start over, then ends")
	require.Equal(t, websocket.ClosePolicyViolation, closeCode(t, ws, 5*time.Second))
	t.Logf("both streams ended %s after the revocation", time.Since(start).Round(time.Millisecond))
	require.Eventually(t, func() bool { return s.hub.Admitted() == 1 }, 5*time.Second, 10*time.Millisecond,
		"the revoked token's slots are free; bob's stream stays")
	require.Equal(t, int64(2), s.hub.Ended.Load())

	st, _, _ := s.call(http.MethodGet, "/api/v1/streaming/user", tok, nil)
	require.Equal(t, http.StatusUnauthorized, st, "reconnecting with the revoked token")
}

// TestWebSocketDropsSilentClient (issue 13, item 15): a client that answers no ping and
// sends nothing is dropped after two ping intervals, and its stream slot is freed; one
// that answers stays. Before, the read loop waited for it forever.
func TestWebSocketDropsSilentClient(t *testing.T) {
	t.Parallel()
	s := newServerWith(t, func(o *api.Options) { o.WebSocketPing = 100 * time.Millisecond })
	dialWS(t, s, "stream=public", "") // never reads, so never answers a ping
	alive := dialWS(t, s, "stream=public", "")
	go func() { // reading answers pings
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				return
			}
		}
	}()
	require.Eventually(t, func() bool { return s.hub.Admitted() == 2 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return s.hub.Admitted() == 1 && s.hub.Subscribers() == 1 }, 5*time.Second, 10*time.Millisecond,
		"the silent client is dropped with its slot and subscription")
	time.Sleep(time.Second) // ten pings later, the answering client is still there
	require.Equal(t, 1, s.hub.Admitted())
}

// TestWebSocketEndsWhenItsStreamEnds (issue 13, item 15): when the hub cuts a stream off
// (the slow-client cut, or a shutdown) the connection closes with a close frame and frees
// its slot; a client frame that is not JSON closes it too. Before, a cut only stopped the
// stream's goroutine, and the read loop kept the silent connection and its slot.
func TestWebSocketEndsWhenItsStreamEnds(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	bad := dialWS(t, s, "stream=public", "")
	require.NoError(t, bad.WriteMessage(websocket.TextMessage, []byte("{not json")))
	require.Equal(t, websocket.CloseInvalidFramePayloadData, closeCode(t, bad, 5*time.Second))

	conn := dialWS(t, s, "", "")
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "subscribe", "stream": "public"}))
	require.NoError(t, conn.WriteJSON(map[string]string{"type": "no such type"}))
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, msg, err := conn.ReadMessage()
	require.NoError(t, err)
	require.Contains(t, string(msg), "Unknown message type", "an unknown type is answered, as Mastodon does")
	require.Eventually(t, func() bool { return s.hub.Subscribers() == 1 && s.hub.Admitted() == 1 }, 5*time.Second, 10*time.Millisecond)

	s.hub.Shutdown() // cuts every stream off, as a full buffer cuts one
	require.Equal(t, websocket.CloseServiceRestart, closeCode(t, conn, 5*time.Second))
	require.Eventually(t, func() bool { return s.hub.Admitted() == 0 }, 5*time.Second, 10*time.Millisecond, "the slot is free")
}
