package live

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/starling-social/starling/internal/core"
)

// WebSocketClient describes one client of a WebSocket endpoint (see Hub.ServeWebSocket):
// who it is, which streams its names select and how their events are formatted.
type WebSocketClient struct {
	// UserID is the client's user, 0 when anonymous, and IP its address: the keys of the
	// stream caps (see Admit).
	UserID int64
	IP     string
	// Cred is the client's credential, re-checked while the connection runs (see Watch);
	// the zero Credential when anonymous.
	Cred core.Credential
	// Streams maps a stream name the client subscribes to onto its filter, or returns a
	// problem, which the client is told instead (as {"error":problem,"status":400}).
	Streams func(name, tag string) (f Filter, problem string)
	// Format turns a delivery into the message sent: its Name is the message's event and
	// its Data the payload. Without a Name the delivery is skipped.
	Format Formatter
	// Subprotocol, when set, is echoed back in Sec-WebSocket-Protocol: browsers require the
	// echo when they sent the access token there.
	Subprotocol string
	// Ping is the interval of the pings sent to the client: one that sends nothing and
	// answers no ping for two intervals is dropped. Defaults to 30 seconds.
	Ping time.Duration
}

// wsMessage is what a WebSocket client sends: {"type":"subscribe","stream":"public"},
// with "tag" for the hashtag streams.
type wsMessage struct {
	Type   string `json:"type"`
	Stream string `json:"stream"`
	Tag    string `json:"tag"`
}

// names is how the connection's events name the stream: [stream], or [stream, tag] for a
// hashtag stream, as Mastodon does.
func (m wsMessage) names() []string {
	if m.Tag != "" {
		return []string{m.Stream, m.Tag}
	}
	return []string{m.Stream}
}

// key is the subscription's key among the connection's.
func (m wsMessage) key() string { return m.Stream + "\x00" + m.Tag }

// wsEvent is what the server sends, as Mastodon does: the payload is a JSON document in a
// string (or a bare id for delete).
type wsEvent struct {
	Stream  []string `json:"stream"`
	Event   string   `json:"event"`
	Payload string   `json:"payload"`
}

// ServeWebSocket is the whole of a WebSocket streaming endpoint, in Mastodon's protocol:
// it admits the connection (429 through fail over the caps), upgrades it, subscribes to the
// stream named by ?stream= if any, and then to the streams the client subscribes to and
// unsubscribes from with {"type":"subscribe","stream":NAME} messages. Every event goes
// out as {"stream":[NAME],"event":…,"payload":…}.
//
// WebSocket streams have no resume point, so rather than silently miss an event the
// connection ends — and the client reconnects and reloads — when the hub cuts a stream off
// (too slow: close code 1013; shutting down: 1012), when an event cannot be formatted
// (1011) or a write fails, when the client's credential ends (1008), or when the client
// stops answering pings.
func (h *Hub) ServeWebSocket(w http.ResponseWriter, r *http.Request, c WebSocketClient, fail func(w http.ResponseWriter, status int, msg string)) {
	release, ok := h.Admit(c.UserID, c.IP)
	if !ok {
		w.Header().Set("Retry-After", "10")
		fail(w, http.StatusTooManyRequests, "Too many open streams")
		return
	}
	if c.Ping <= 0 {
		c.Ping = 30 * time.Second
	}
	up := websocket.Upgrader{
		// Clients send only small subscribe messages; the write buffer is taken from a
		// pool for each write, so an idle connection holds none.
		ReadBufferSize: 512, WriteBufferSize: 4096, WriteBufferPool: &wsWriteBuffers,
		CheckOrigin: func(*http.Request) bool { return true }, // bearer tokens, no cookies
	}
	if c.Subprotocol != "" {
		up.Subprotocols = []string{c.Subprotocol}
	}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		release()
		return // the upgrader answered
	}
	// The connection is the upgrader's now: it is served from a goroutine of its own,
	// and the server's goroutine for it (with the stack of every middleware it went
	// through) ends with this handler, as for a detached SSE stream.
	ws := &wsConn{hub: h, conn: conn, client: c, subs: map[string]*Subscription{}}
	first := wsMessage{Stream: r.URL.Query().Get("stream"), Tag: r.URL.Query().Get("tag")}
	ctx := streamContext(r.Context())
	h.detached.Add(1)
	go func() {
		defer h.detached.Done()
		defer release()
		ws.serve(ctx, first)
	}()
}

// wsWriteBuffers lends WebSocket connections their write buffers, one write at a time.
var wsWriteBuffers sync.Pool

// wsConn is one WebSocket connection and its subscriptions, by stream name.
type wsConn struct {
	hub    *Hub
	conn   *websocket.Conn
	client WebSocketClient
	wmu    sync.Mutex
	mu     sync.Mutex
	subs   map[string]*Subscription
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
	ws.conn.SetWriteDeadline(time.Now().Add(ws.hub.opts.WriteTimeout))
	return ws.conn.WriteJSON(v)
}

// serve runs the connection until the client leaves, stops answering, or the server ends
// it: a client that sends nothing and answers no ping for two ping intervals is dropped, and
// so is one whose credential ends (see Hub.Watch).
func (ws *wsConn) serve(ctx context.Context, first wsMessage) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		ws.mu.Lock()
		for _, sub := range ws.subs {
			sub.Close()
		}
		ws.mu.Unlock()
		ws.end(0, "")
	}()
	// End the connection when its credential ends (an anonymous one has none to watch).
	unwatch := ws.hub.WatchFunc(ws.client.Cred, func() {
		ws.end(websocket.ClosePolicyViolation, "The access token was revoked")
	})
	defer unwatch()
	ping := ws.client.Ping
	ws.conn.SetReadLimit(4096)
	alive := func() { _ = ws.conn.SetReadDeadline(time.Now().Add(2 * ping)) }
	alive()
	ws.conn.SetPongHandler(func(string) error { alive(); return nil })
	if first.Stream != "" {
		ws.subscribe(ctx, first)
	}
	// Ping the client every interval, from a timer rather than a goroutine of its own.
	pinger := every(ping, func() bool {
		if ctx.Err() != nil {
			return false
		}
		if ws.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(ws.hub.opts.WriteTimeout)) != nil {
			ws.end(0, "")
			return false
		}
		return true
	})
	defer pinger.Stop()
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
			ws.subscribe(ctx, m)
		case "unsubscribe":
			ws.mu.Lock()
			if sub := ws.subs[m.key()]; sub != nil {
				sub.Close()
				delete(ws.subs, m.key())
			}
			ws.mu.Unlock()
		default:
			// As Mastodon does: an unknown type is answered, and the connection stays.
			ws.send(map[string]any{"error": "Unknown message type", "status": 400})
		}
	}
}

// subscribe adds stream to the connection. The connection ends when the hub cuts the
// stream off (too slow, or shutting down), when an event cannot be formatted, or when a
// send fails: WebSocket streams have no resume point, so the client reconnects (and
// reloads) rather than silently missing an event.
func (ws *wsConn) subscribe(ctx context.Context, m wsMessage) {
	f, problem := ws.client.Streams(m.Stream, m.Tag)
	if problem != "" {
		ws.send(map[string]any{"error": problem, "status": 400})
		return
	}
	ws.mu.Lock()
	if ws.subs[m.key()] != nil {
		ws.mu.Unlock()
		return
	}
	sub, _, err := ws.hub.Subscribe(ctx, f)
	if err != nil {
		ws.mu.Unlock()
		return
	}
	ws.subs[m.key()] = sub
	ws.mu.Unlock()
	// No goroutine waits on an idle subscription: the hub's wake-up (under its lock, after
	// it queues events or cuts the stream off) starts one that sends what is queued and
	// ends.
	w := &wsWriter{ws: ws, ctx: ctx, sub: sub, names: m.names()}
	sub.setWake(w.wake)
	w.wake() // whatever came between the subscription and now
}

// wsWriter sends one subscription's events to its WebSocket connection, from a goroutine
// that runs only while there is something to send.
type wsWriter struct {
	ws      *wsConn
	ctx     context.Context
	sub     *Subscription
	names   []string
	running atomic.Bool
}

// wake starts the sending goroutine unless it runs already. It must not block: the hub
// calls it under its lock.
func (w *wsWriter) wake() {
	if w.running.CompareAndSwap(false, true) {
		go w.drain()
	}
}

// drain sends the queued events and ends when there are none, the stream is cut off
// (ending the connection, which has no resume point), or the connection is over.
func (w *wsWriter) drain() {
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.sub.Cut():
			if w.sub.Reason() == "reconnect" {
				w.ws.end(websocket.CloseServiceRestart, "The server is restarting; reconnect")
			} else {
				w.ws.end(websocket.CloseTryAgainLater, "Too slow to keep up; reconnect")
			}
			return
		default:
		}
		if d := w.sub.Next(); d != nil {
			if !w.send(d) {
				return
			}
			continue
		}
		w.running.Store(false)
		// A wake-up between the empty queue and the line above found the goroutine
		// running and started none: look again, and go on if nobody else has.
		if w.sub.Waiting() == 0 && !w.cut() || !w.running.CompareAndSwap(false, true) {
			return
		}
	}
}

func (w *wsWriter) cut() bool {
	select {
	case <-w.sub.Cut():
		return true
	default:
		return false
	}
}

// send formats d and writes it; false means the connection is ending.
func (w *wsWriter) send(d *Delivery) bool {
	ev, err := w.ws.client.Format(w.ctx, d)
	if err != nil {
		w.ws.hub.FormatFailed.Add(1)
		w.ws.hub.log.WarnContext(w.ctx, "live: formatting an event failed; closing the WebSocket connection",
			"cursor", d.Cursor.String(), "err", err)
		w.ws.end(websocket.CloseInternalServerErr, "An event could not be sent; reconnect")
		return false
	}
	if ev.Name == "" {
		return true
	}
	if w.ws.send(wsEvent{Stream: w.names, Event: ev.Name, Payload: string(ev.Data)}) != nil {
		w.ws.hub.WriteFailed.Add(1)
		w.ws.end(0, "")
		return false
	}
	return true
}
