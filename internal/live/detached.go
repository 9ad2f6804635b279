package live

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/starling-social/starling/internal/events"
)

// An SSE stream spends almost all its life idle, waiting for the next event. Served by
// net/http, each one holds the server's goroutine for its connection (with the stack of
// every middleware it went through), its read and write buffers, its request and its
// response writer. Once a stream is set up (resumed, flushed), detach takes the raw
// connection over, and idle serves the rest of the stream from a goroutine of its own that
// holds only the connection, the subscription and a heartbeat timer: a fraction of the
// memory per client.
//
// The response is HTTP/1.1 chunked, as net/http began it: idle writes each flush as one
// chunk, and the terminating chunk when the stream ends. Requests over HTTP/2 (which
// cannot be taken over) and HTTP/1.0 (not chunked) keep the handler's loop.

// detach takes the connection of w over, once everything written so far was flushed, and
// returns it; nil when it cannot (HTTP/2, HTTP/1.0, a writer without Hijack).
func detach(w http.ResponseWriter, r *http.Request) net.Conn {
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 {
		return nil
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil
	}
	if brw.Writer.Buffered() > 0 {
		// Not expected after a flush; write it through rather than lose it.
		if err := brw.Writer.Flush(); err != nil {
			conn.Close()
			return nil
		}
	}
	return conn
}

// idle serves a detached stream until it ends: its events as they come, a heartbeat when
// there are none, and a last event when the hub cuts it off or its credential ends. A
// write that fails or takes longer than Options.WriteTimeout ends it (the client resumes
// with its Last-Event-ID).
//
// hint, when not empty, is written before the stream's first event (see stream). The
// client going away is noticed at once (a read of the connection ends), as net/http
// notices it for the handler's loop, so the stream's place under the caps is given back.
func (h *Hub) idle(ctx context.Context, conn net.Conn, sub *Subscription, ended <-chan struct{}, last events.Cursor, format Formatter, hint string) {
	defer conn.Close()
	gone := make(chan struct{})
	_ = conn.SetReadDeadline(time.Time{}) // the server's read timeout was for the request
	go func() {
		// A client sends nothing more on a stream's connection; whatever it sends is
		// discarded, and the read ends when it closes (or when idle closes conn).
		defer close(gone)
		var b [1]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				return
			}
		}
	}()
	// pending is the next chunk: its framing and the events' data, which every stream of
	// the event shares (written with writev, never copied into a buffer of the stream's).
	// Slot 0 is kept for the chunk's size line.
	pending := net.Buffers{nil}
	size := 0
	add := func(b []byte) {
		pending = append(pending, b)
		size += len(b)
	}
	event := func(b []byte) {
		if hint != "" {
			add([]byte(hint))
			hint = ""
		}
		add(b)
	}
	// chunk writes what is pending as one HTTP chunk (and the last chunk when end).
	chunk := func(end bool) bool {
		out := pending[1:]
		if size > 0 {
			pending[0] = append(strconv.AppendInt(nil, int64(size), 16), "\r\n"...)
			pending = append(pending, crlf)
			out = pending
		}
		if end {
			out = append(out, lastChunk)
		}
		conn.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		_, err := out.WriteTo(conn)
		clear(pending)
		pending, size = pending[:1], 0
		if cap(pending) > 64 {
			pending = net.Buffers{nil} // a large backlog's slots are not kept by an idle stream
		}
		if err != nil {
			h.WriteFailed.Add(1)
			return false
		}
		return true
	}
	send := func(d *Delivery) bool {
		if !last.Less(d.Cursor) {
			return true
		}
		ev, err := format(ctx, d)
		if err != nil {
			h.FormatFailed.Add(1)
			h.log.WarnContext(ctx, "live: formatting an event failed; the client will resume from the one before",
				"cursor", d.Cursor.String(), "err", err)
			return false
		}
		last = d.Cursor
		if ev.Name != "" {
			event([]byte("id: " + d.ID() + "\nevent: " + ev.Name + "\ndata: "))
			add(ev.Data)
			add(frameEnd)
		}
		return true
	}
	heartbeat := time.NewTicker(h.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-gone:
			return
		case <-sub.Cut():
			event([]byte("event: " + sub.Reason() + "\ndata: {}\n\n"))
			chunk(true)
			return
		case <-ended:
			event([]byte("event: reset\ndata: {}\n\n"))
			chunk(true)
			return
		case <-heartbeat.C:
			add(ping)
			if !chunk(false) {
				return
			}
		case d := <-sub.C():
			ok := send(d)
			for more := ok; more; { // everything already waiting, in one chunk
				select {
				case d := <-sub.C():
					ok = send(d)
					more = ok
				default:
					more = false
				}
			}
			if !ok {
				// What was formatted goes out; the client resumes after it.
				chunk(true)
				return
			}
			if size > 0 && !chunk(false) {
				return
			}
		}
	}
}

// The fixed pieces of a detached stream's chunks.
var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n")
	frameEnd  = []byte("\n\n")
	ping      = []byte(": ping\n\n")
)

// WaitDetached waits, at most timeout, for the detached streams to end: after Shutdown,
// so that their last "reconnect" events are written before the process exits.
func (h *Hub) WaitDetached(timeout time.Duration) {
	done := make(chan struct{})
	go func() { h.detached.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}
