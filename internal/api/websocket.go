package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

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
	ws.serve(r.Context(), r.URL.Query().Get("stream"))
}

type wsConn struct {
	s      *Server
	conn   *websocket.Conn
	caller *caller
	wmu    sync.Mutex
	mu     sync.Mutex
	subs   map[string]*live.Subscription
}

func (ws *wsConn) send(v any) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	ws.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return ws.conn.WriteJSON(v)
}

func (ws *wsConn) serve(ctx context.Context, first string) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		cancel()
		ws.mu.Lock()
		for _, sub := range ws.subs {
			sub.Close()
		}
		ws.mu.Unlock()
		ws.conn.Close()
	}()
	ws.conn.SetReadLimit(4096)
	if first != "" {
		ws.subscribe(ctx, cancel, first)
	}
	// Keep the connection alive and notice dead peers.
	go func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				ws.wmu.Lock()
				err := ws.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(10*time.Second))
				ws.wmu.Unlock()
				if err != nil {
					cancel()
					return
				}
			}
		}
	}()
	for {
		var m wsMessage
		if err := ws.conn.ReadJSON(&m); err != nil {
			return
		}
		switch m.Type {
		case "subscribe":
			ws.subscribe(ctx, cancel, m.Stream)
		case "unsubscribe":
			ws.mu.Lock()
			if sub := ws.subs[m.Stream]; sub != nil {
				sub.Close()
				delete(ws.subs, m.Stream)
			}
			ws.mu.Unlock()
		default:
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

func (ws *wsConn) subscribe(ctx context.Context, cancel context.CancelFunc, stream string) {
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
				cancel() // too slow: the client reconnects
				return
			case d, ok := <-sub.C():
				if !ok {
					return
				}
				ev, err := ws.s.mastodonEvent(ctx, d)
				if err != nil {
					// WebSocket streams have no resume point: closing the connection
					// tells the client to reconnect (and reload) rather than silently
					// skipping the event.
					ws.s.log.WarnContext(ctx, "streaming: formatting an event failed; closing the connection", "err", err)
					cancel()
					return
				}
				if ev.Name == "" {
					continue
				}
				if ws.send(wsEvent{Stream: []string{stream}, Event: ev.Name, Payload: string(ev.Data)}) != nil {
					cancel()
					return
				}
			}
		}
	}()
}
