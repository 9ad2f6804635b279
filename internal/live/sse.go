package live

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/reqid"
)

// Event is one SSE message to send for a delivery: its event name and data line.
type Event struct {
	Name string
	Data []byte
}

// Formatter turns a delivery into the SSE message of one stream format. An Event without
// a Name skips the delivery (it is not for this format, or its post is gone). An error
// means the event cannot be formatted now (the database is unreachable, say): the stream
// ends and the client resumes from the event before, so it misses nothing. It runs on the
// client's goroutine, or on one of the hub's writers. Its context carries the request id
// only, not the request's values (see streamContext): whatever depends on the viewer is
// bound into the Formatter when it is made.
type Formatter func(ctx context.Context, d *Delivery) (Event, error)

// ErrBadLastEventID is returned by ParseLastEventID for a value that is not a cursor of
// this server.
var ErrBadLastEventID = errors.New("Last-Event-ID is not an event id of this server")

// ResumePoint reads the Last-Event-ID header (or the last_event_id query parameter, for
// clients that cannot set headers). It returns the cursor to resume after and whether one
// was given; expired is true when the cursor is older than the retained log, or more than
// Options.MaxBacklog events behind the hub: such a client gets a reset rather than a
// replay.
func (h *Hub) ResumePoint(r *http.Request) (c events.Cursor, given, expired bool, err error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("last_event_id")
	}
	if v == "" {
		return events.Cursor{}, false, false, nil
	}
	c, err = events.ParseCursor(v)
	if err != nil {
		return events.Cursor{}, true, false, ErrBadLastEventID
	}
	switch err := h.evs.Check(r.Context(), c); {
	case errors.Is(err, events.ErrCursorExpired):
		return c, true, true, nil
	case errors.Is(err, events.ErrUnknownCursor):
		return events.Cursor{}, true, false, ErrBadLastEventID
	case err != nil:
		return events.Cursor{}, true, false, err
	}
	n, err := h.evs.CountRange(r.Context(), c, h.Head(), h.opts.MaxBacklog+1)
	if err != nil {
		return events.Cursor{}, true, false, err
	}
	return c, true, n > h.opts.MaxBacklog, nil
}

// Stream serves one SSE client, opened with cred (the zero Credential when anonymous):
// the events of f after resume (when given) and then live ones, each exactly once and in
// order, formatted by format. A client whose cursor has expired first gets a "reset" event
// (reload); a client cut off for not keeping up gets a final "resume" event and is
// disconnected, to reconnect with its Last-Event-ID; a client whose credential ends (see
// Watch) gets a final "reset" and is disconnected.
func (h *Hub) Stream(w http.ResponseWriter, r *http.Request, f Filter, cred core.Credential, resume events.Cursor, resuming, expired bool, format Formatter) {
	h.stream(w, r, f, cred, resume, resuming, expired, format, func() {})
}

// stream is Stream, calling release once the stream has ended, whether it ended in the
// handler or, detached (see detach), after the handler returned.
func (h *Hub) stream(w http.ResponseWriter, r *http.Request, f Filter, cred core.Credential, resume events.Cursor, resuming, expired bool, format Formatter, release func()) {
	ctx := r.Context()
	w8, unwatch := h.watch(cred, nil)
	ended := w8.done()
	sub, head, err := h.Subscribe(ctx, f)
	if err != nil {
		unwatch()
		release()
		return
	}
	finish := func() {
		sub.Close()
		unwatch()
		release()
	}
	detached := false
	defer func() {
		if !detached {
			finish()
		}
	}()

	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // streams outlive the server's write timeout
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// The ResponseWriter buffers already (4 KiB per connection); a second buffer here would
	// cost every idle stream another 8 KiB.
	bw := w
	write := func(s string, a ...any) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		if _, err := fmt.Fprintf(bw, s, a...); err != nil {
			h.WriteFailed.Add(1)
			return false
		}
		return true
	}
	flush := func() bool {
		_ = rc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		if rc.Flush() != nil {
			h.WriteFailed.Add(1)
			return false
		}
		return true
	}
	// event writes one event; the stream's first carries the reconnection delay for
	// browsers (retry:), which every parser reads as part of the event it is in.
	hint := "retry: 2000\n"
	event := func(s string, a ...any) bool {
		if hint != "" {
			if !write("%s", hint) {
				return false
			}
			hint = ""
		}
		return write(s, a...)
	}
	last := head
	send := func(d *Delivery) bool {
		if !last.Less(d.Cursor) {
			return true // already sent (resumed past it)
		}
		ev, ok := h.formatSSE(ctx, format, d)
		if !ok {
			return false
		}
		last = d.Cursor
		if ev.Name == "" {
			return true
		}
		return event("id: %s\nevent: %s\ndata: %s\n\n", d.ID(), ev.Name, ev.Data)
	}

	// The stream opens with a comment, as Mastodon's does: every SSE parser skips it. A
	// frame holding only the retry hint would be an event without data, which some parsers
	// (Mastodon.py's) take as malformed and end the stream on; the hint rides on the first
	// real event instead.
	if !write(":)\n\n") {
		return
	}
	switch {
	case expired:
		if !event("event: reset\ndata: {}\n\n") {
			return
		}
	case resuming:
		// One batch of the log at a time: the stream never holds more of its backlog.
		last = resume
		for batch, err := range h.Backlog(ctx, f, resume, head) {
			if err != nil {
				h.log.WarnContext(ctx, "live: reading a client's backlog failed", "err", err)
				return
			}
			for _, d := range batch {
				if !send(d) {
					return
				}
			}
		}
		if head.Less(resume) {
			last = resume // the client is ahead of this process: skip what it has
		} else {
			last = head
		}
	}
	if !flush() {
		return
	}
	if conn := detach(w, r); conn != nil {
		// From here the stream is a connection, a subscription and a goroutine reading
		// the connection: the server's goroutine, buffers and request end with this
		// handler, and the hub's writers send its events (see detached.go).
		detached = true
		h.Detached.Add(1)
		h.detachStream(streamContext(ctx), conn, sub, w8, last, format, hint, finish)
		return
	}
	heartbeat := time.NewTicker(h.opts.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Cut():
			event("%s", cutEvent(sub.Reason(), last))
			flush()
			return
		case <-ended:
			// Logged out or revoked: start over, as whoever the client now is.
			event("event: reset\ndata: {}\n\n")
			flush()
			return
		case <-heartbeat.C:
			if !write(": ping\n\n") || !flush() {
				return
			}
		case <-sub.Ready():
			// Write everything waiting before flushing once.
			sent := false
			for d := sub.Next(); d != nil; d = sub.Next() {
				if !send(d) {
					return
				}
				sent = true
			}
			if sent && !flush() {
				return
			}
		}
	}
}

// formatSSE formats d for an SSE stream; false (counted and logged) when it could not be,
// and the stream ends for its client to resume from the event before.
func (h *Hub) formatSSE(ctx context.Context, format Formatter, d *Delivery) (Event, bool) {
	ev, err := format(ctx, d)
	if err != nil {
		h.FormatFailed.Add(1)
		h.log.WarnContext(ctx, "live: formatting an event failed; the client will resume from the one before",
			"cursor", d.Cursor.String(), "err", err)
		return Event{}, false
	}
	return ev, true
}

// streamContext is what a stream that outlives its handler (a detached SSE stream, a
// WebSocket connection) keeps of the request's context: the request id its log lines
// carry. The rest (the request's span, which ended with the handler, the caller, the
// server's values) was a large part of what an idle stream cost; a Formatter reads
// nothing from its context but what it needs to query (a viewer is bound into the
// formatter itself).
func streamContext(ctx context.Context) context.Context {
	return reqid.With(context.Background(), reqid.From(ctx))
}

// cutEvent is the last event of a stream the hub cut off (reason is "resume" or
// "reconnect"). It carries the cursor of the last event the stream sent, or of where it
// began when it sent none: a client cut off before its first event still has a
// Last-Event-ID to come back with, and misses nothing.
func cutEvent(reason string, last events.Cursor) string {
	if last == (events.Cursor{}) {
		return "event: " + reason + "\ndata: {}\n\n"
	}
	return "id: " + last.String() + "\nevent: " + reason + "\ndata: {}\n\n"
}

// Serve is the whole of an SSE endpoint for a client (userID, 0 when anonymous, at address
// ip, authenticated by cred): it admits the stream (429 over the caps), reads the resume
// point and streams f, or answers a bad Last-Event-ID with fail (400) and other errors
// with fail (500).
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, userID int64, ip string, cred core.Credential, f Filter, format Formatter, fail func(w http.ResponseWriter, status int, msg string)) {
	release, ok := h.Admit(userID, ip)
	if !ok {
		w.Header().Set("Retry-After", "10")
		fail(w, http.StatusTooManyRequests, "Too many open streams")
		return
	}
	resume, given, expired, err := h.ResumePoint(r)
	if errors.Is(err, ErrBadLastEventID) {
		release()
		fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		release()
		// Most likely the database is out of reach: the client retries after a moment.
		h.log.WarnContext(r.Context(), "live: checking Last-Event-ID failed", "err", err)
		w.Header().Set("Retry-After", "2")
		fail(w, http.StatusServiceUnavailable, "The stream is briefly unavailable; try again in a moment")
		return
	}
	h.stream(w, r, f, cred, resume, given && !expired, expired, format, release) // releases when it ends
}
