package api

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/live"
)

// wsMessage is what a WebSocket client sends: {"type":"subscribe","stream":"public"}.
type wsMessage struct {
	Type   string `json:"type"`
	Stream string `json:"stream"`
}

// wsEvent is what the server sends, as Mastodon does: the payload is a JSON document in a
// string (or a bare id for delete).
type wsEvent struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload"`
}

// streamWebSocket serves /api/v1/streaming: subscribe and unsubscribe to streams over one
// WebSocket, with ?stream= for the first subscription. The token may come in the
// Authorization header, the access_token query parameter or Sec-WebSocket-Protocol (which
// is then echoed back, as browsers require).
func (s *Server) streamWebSocket(w http.ResponseWriter, r *http.Request) {
	if s.hub == nil {
		writeError(w, http.StatusServiceUnavailable, "Streaming is not available on this process")
		return
	}
	c := callerOf(r)
	release, ok := s.hub.Admit(viewerID(r), s.proxies.ClientIP(r))
	if !ok {
		w.Header().Set("Retry-After", "10")
		writeError(w, http.StatusTooManyRequests, "Too many open streams")
		return
	}
	defer release()
	up := websocket.Upgrader{
		ReadBufferSize: 1024, WriteBufferSize: 4096,
		CheckOrigin: func(*http.Request) bool { return true }, // bearer tokens, no cookies
	}
	if p := r.Header.Get("Sec-WebSocket-Protocol"); p != "" && r.Header.Get("Authorization") == "" && r.URL.Query().Get("access_token") == "" {
		up.Subprotocols = []string{p}
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader answered
	}
	ws := &wsConn{s: s, conn: conn, caller: c, subs: map[string]*live.Subscription{}}
	ws.serve(r.Context(), r.URL.Query().Get("stream"), credentialOf(r))
}

type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	caller *caller
	wmu    sync.Mutex
	mu     sync.Mutex
	subs   map[string]*live.Subscription
	ending sync.Once
}

// end closes the connection, first sending a close frame with code and reason when code
// is not 0 (best effort, for at most a second). Closing unblocks the read loop, which then
// ends every subscription of the connection and frees its stream slot. Any goroutine may
// call it, any number of times.
func (ws *wsConn) end(code int, reason string) {
	ws.ending.Do(func() {
		if code != 0 {
			_ = ws.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
		}
		ws.conn.Close()
	})
}

func (ws *wsConn) send(v any) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	ws.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.conn.WriteJSON(v)
}

// serve runs the connection until the client leaves, stops answering, or the server ends
// it: a client that sends nothing and answers no ping for two ping intervals is dropped, and
// so is one whose credential ends (cred, see live.Hub.Watch).
func (ws *wsConn) serve(ctx context.Context, first string, cred core.Credential) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		cancel()
		ws.mu.Lock()
		for _, sub := range ws.subs {
			sub.Close()
		}
		ws.mu.Unlock()
		ws.end(0, "")
	}()
	ended, unwatch := ws.s.hub.Watch(cred)
	defer unwatch()
	ping := ws.s.wsPing
	ws.conn.SetReadLimit(4096)
	alive := func() { _ = ws.conn.SetReadDeadline(time.Now().Add(2 * ping)) }
	alive()
	ws.conn.SetPongHandler(func(string) error { alive(); return nil })
	if first != "" {
		ws.subscribe(ctx, first)
	}
	// Ping the client, and end the connection when its credential ends.
	go func() {
		t := time.NewTicker(ping)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ended:
				ws.end(websocket.ClosePolicyViolation, "The access token was revoked")
				return
			case <-t.C:
				if ws.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second)) != nil {
					ws.end(0, "")
					return
				}
			}
		}
	}()
	for {
		// An error here is the end: the client left, the read deadline passed (no pong), or
		// end closed the connection.
		_, data, err := ws.conn.ReadMessage()
		if err != nil {
			return
		}
		alive()
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			ws.end(websocket.CloseInvalidFramePayloadData, "Messages must be JSON")
			return
		}
		switch m.Type {
		case "subscribe":
			ws.subscribe(ctx, m.Stream)
		case "unsubscribe":
			ws.mu.Lock()
			if sub := ws.subs[m.Stream]; sub != nil {
				sub.Close()
				delete(ws.subs, m.Stream)
			}
			ws.mu.Unlock()
		default:
			// As Mastodon does: an unknown type is answered, and the connection stays.
			ws.send(map[string]any{"error": "Unknown message type", "status": 400})
		}
	}
}

// filterFor maps a Mastodon stream name to a hub filter.
func (ws *wsConn) filterFor(stream string) (live.Filter, string) {
	uid := int64(0)
	if ws.caller != nil && ws.caller.user != nil {
		uid = ws.caller.user.ID
	}
	switch stream {
	case "public", "public:local":
		return live.Filter{Public: true}, ""
	case "user", "user:notification":
		if uid == 0 {
			return live.Filter{}, "Missing access token"
		}
		need := "read:statuses"
		if stream == "user:notification" {
			need = "read:notifications"
		}
		if !ws.caller.grant.Scopes.Allows(need) {
			return live.Filter{}, "This action is outside the authorized scopes"
		}
		if stream == "user" {
			return live.Filter{HomeOf: uid, NotificationsOf: uid}, ""
		}
		return live.Filter{NotificationsOf: uid}, ""
	}
	return live.Filter{}, "Unknown stream type"
}

// subscribe adds stream to the connection. The connection ends when the hub cuts the
// stream off (too slow, or shutting down), when an event cannot be formatted, or when a
// send fails: WebSocket streams have no resume point, so the client reconnects (and
// reloads) rather than silently missing an event.
func (ws *wsConn) subscribe(ctx context.Context, stream string) {
	f, problem := ws.filterFor(stream)
	if problem != "" {
		ws.send(map[string]any{"error": problem, "status": 400})
		return
	}
	ws.mu.Lock()
	if ws.subs[stream] != nil {
		ws.mu.Unlock()
		return
	}
	sub, _, err := ws.s.hub.Subscribe(ctx, f)
	if err != nil {
		ws.mu.Unlock()
		return
	}
	ws.subs[stream] = sub
	ws.mu.Unlock()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Cut():
				if sub.Reason() == "reconnect" {
					ws.end(websocket.CloseServiceRestart, "The server is restarting; reconnect")
				} else {
					ws.end(websocket.CloseTryAgainLater, "Too slow to keep up; reconnect")
				}
				return
			case d, ok := <-sub.C():
				if !ok {
					return
				}
				ev, err := ws.s.mastodonEvent(ctx, d)
				if err != nil {
					ws.s.hub.FormatFailed.Add(1)
					ws.s.log.WarnContext(ctx, "streaming: formatting an event failed; closing the connection", "err", err)
					ws.end(websocket.CloseInternalServerErr, "An event could not be sent; reconnect")
					return
				}
				if ev.Name == "" {
					continue
				}
				if ws.send(wsEvent{Stream: []string{stream}, Event: ev.Name, Payload: string(ev.Data)}) != nil {
					ws.s.hub.WriteFailed.Add(1)
					ws.end(0, "")
					return
				}
			}
		}
	}()
}
