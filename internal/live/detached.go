package live

import (
	"context"
	"errors"
	"math"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/starling-social/starling/internal/events"
)

// An SSE stream spends almost all its life idle, waiting for the next event. Served by
// net/http, each one holds the server's goroutine for its connection (with the stack of
// every middleware it went through), its read and write buffers, its request and its
// response writer. Once a stream is set up (resumed, flushed), detach takes the raw
// connection over and the stream becomes a detachedStream: the connection, the
// subscription, a heartbeat timer and one goroutine blocked reading the connection (to
// notice the client leaving). No goroutine waits for its events: when the hub queues one
// for it, or cuts it off, or its heartbeat is due, the stream is put on the hub's ready
// queue, and one of a few writer goroutines (see writers) writes everything it has in
// one writev. So an event for 10,000 streams wakes a handful of goroutines, not 10,000,
// and everything else the process does (a post being written, a page being read) is not
// queued behind them.
//
// A writer never waits for a client: a client whose socket is full would otherwise hold
// up every stream behind it. On Linux a writer's writev takes what the socket takes at
// once, with no deadline to set (writeNow); elsewhere a write gets only a moment
// (writerPatience). What a write could not finish is handed, with the rest of its bytes,
// to a goroutine of the stream's own, which
// finishes it within Options.WriteTimeout (or ends the stream, as before) and serves the
// stream until it is idle again. Backpressure is the hub's, unchanged: a stream whose
// deliveries pile up past Options.Buffer is cut off with "resume".
//
// The response is HTTP/1.1 chunked, as net/http began it: each write is one chunk, and the
// terminating chunk ends the stream. Requests over HTTP/2 (which cannot be taken over) and
// HTTP/1.0 (not chunked) keep the handler's loop.

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

// detachedStream is an SSE stream served by the hub's writers (see above).
type detachedStream struct {
	h      *Hub
	ctx    context.Context
	conn   net.Conn
	sub    *Subscription
	ended  <-chan struct{}
	format Formatter
	finish func()
	// state is 0 when idle, 1 when queued or being written, 2 when more came while it was
	// being written: whoever moves it off 0 owns the stream until it moves it back.
	state atomic.Int32
	// gone and ping are set by the connection's reader and the heartbeat timer; closed
	// once the stream has ended (the timer then stops re-arming itself).
	gone, ping, closed atomic.Bool
	heartbeat          *time.Timer
	// raw is the connection's descriptor (nil when it has none), for the writers'
	// writes; fd is its number and watched true when the hub's hangups watch it.
	raw     syscall.RawConn
	fd      int32
	watched bool

	// Owned by whoever holds the stream (state ≠ 0):
	last    events.Cursor
	hint    string
	pending net.Buffers // the next chunk: slot 0 is its size line
	size    int
	done    bool
}

// detachStream serves the rest of an SSE stream, whose connection detach took over, from
// the hub's writers. hint, when not empty, goes before the stream's first event (see
// stream); finish is called once the stream has ended.
func (h *Hub) detachStream(ctx context.Context, conn net.Conn, sub *Subscription, w *watch, last events.Cursor, format Formatter, hint string, finish func()) {
	h.startWriters()
	s := &detachedStream{h: h, ctx: ctx, conn: conn, sub: sub, format: format, finish: finish,
		last: last, hint: hint, pending: net.Buffers{nil}}
	s.ended = w.done()
	if sc, ok := conn.(syscall.Conn); ok {
		s.raw, _ = sc.SyscallConn() // once: every write uses it
	}
	if w != nil {
		h.mu.Lock()
		w.then = s.wake
		h.mu.Unlock()
	}
	h.detached.Add(1)
	s.heartbeat = every(h.opts.Heartbeat, func() bool {
		if s.closed.Load() {
			return false
		}
		s.ping.Store(true)
		s.wake()
		return true
	})
	_ = conn.SetReadDeadline(time.Time{}) // the server's read timeout was for the request
	if h.hangups != nil && h.hangups.watch(s) {
		sub.setWake(s.wake)
		s.wake()
		return
	}
	go func() {
		// A client sends nothing more on a stream's connection; whatever it sends is
		// discarded, and the read ends when it closes (or when the stream closes conn).
		var b [1]byte
		for {
			if _, err := conn.Read(b[:]); err != nil {
				s.gone.Store(true)
				s.wake()
				return
			}
		}
	}()
	sub.setWake(s.wake)
	s.wake() // whatever came between the subscription and now
}

// wake puts the stream on the ready queue, unless it is there or being written already
// (then it is written again once more).
func (s *detachedStream) wake() {
	for {
		switch st := s.state.Load(); st {
		case 0:
			if s.state.CompareAndSwap(0, 1) {
				s.h.writable.push(s)
				return
			}
		case 1:
			if s.state.CompareAndSwap(1, 2) {
				return
			}
		default:
			return
		}
	}
}

// serve writes what the stream has until nothing more came meanwhile, and gives the
// stream up. patient is false on the hub's writers (a write gets writerPatience) and true
// on a stream's own goroutine (Options.WriteTimeout). It returns early when the stream
// was handed to a goroutine of its own, which then holds it.
func (s *detachedStream) serve(patient bool) {
	for {
		if !s.write(patient) {
			return
		}
		if s.state.CompareAndSwap(1, 0) {
			return
		}
		s.state.Store(1)
	}
}

// write writes everything the stream has: its deliveries, a last event when it was cut
// off or its credential ended, a heartbeat when due. It returns false when the write was
// handed to a goroutine of the stream's own.
func (s *detachedStream) write(patient bool) bool {
	if s.done {
		return true
	}
	if s.gone.Load() {
		s.close()
		return true
	}
	end := false
	select {
	case <-s.sub.Cut():
		s.event([]byte(cutEvent(s.sub.Reason(), s.last)))
		end = true
	case <-s.ended:
		// Logged out or revoked: start over, as whoever the client now is.
		s.event([]byte("event: reset\ndata: {}\n\n"))
		end = true
	default:
		for d := s.sub.Next(); d != nil; d = s.sub.Next() {
			if !s.send(d) {
				// What was formatted goes out; the client resumes after it.
				end = true
				break
			}
		}
	}
	if s.ping.Swap(false) && s.size == 0 && !end {
		s.add(pingFrame)
	}
	if s.size == 0 && !end {
		return true
	}
	out := s.pending[1:]
	if s.size > 0 {
		s.pending[0] = append(strconv.AppendInt(nil, int64(s.size), 16), "\r\n"...)
		s.pending = append(s.pending, crlf)
		out = s.pending
	}
	if end {
		out = append(out, lastChunk)
	}
	if !patient {
		if n, ok, err := writeNow(s.raw, out); ok {
			if rest := unwritten(out, n); err == nil && len(rest) > 0 {
				// The client's socket is full: the rest is finished on a goroutine of its own.
				s.handOff(slices.Clone(rest), end)
				return false
			}
			s.wrote(err, end)
			return true
		}
	}
	wait := writerPatience
	if patient {
		wait = s.h.opts.WriteTimeout
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(wait))
	_, err := out.WriteTo(s.conn) // out keeps what was not written
	var ne net.Error
	if err != nil && !patient && errors.As(err, &ne) && ne.Timeout() {
		s.handOff(slices.Clone(out), end)
		return false
	}
	s.wrote(err, end)
	return true
}

// wrote finishes a write that ended (err nil when all of it went out): the stream ends
// after its last chunk or a failed write.
func (s *detachedStream) wrote(err error, end bool) {
	s.reset()
	if err != nil {
		s.h.WriteFailed.Add(1)
		s.close()
	} else if end {
		s.close()
	}
}

// handOff gives the rest of a write the client's socket did not take to a goroutine of
// the stream's own, which finishes it within Options.WriteTimeout (or ends the stream)
// and serves the stream until it is idle again.
func (s *detachedStream) handOff(rest net.Buffers, end bool) {
	s.reset()
	s.h.HandedOff.Add(1)
	go func() {
		_ = s.conn.SetWriteDeadline(time.Now().Add(s.h.opts.WriteTimeout))
		if _, err := rest.WriteTo(s.conn); err != nil {
			s.h.WriteFailed.Add(1)
			s.close()
			return
		}
		if end {
			s.close()
			return
		}
		s.serve(true)
		_ = s.conn.SetWriteDeadline(time.Time{}) // the writers' writes take no deadline
	}()
}

// unwritten is what remains of bufs once its first n bytes were written.
func unwritten(bufs net.Buffers, n int) net.Buffers {
	for len(bufs) > 0 && n >= len(bufs[0]) {
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	if len(bufs) > 0 && n > 0 {
		bufs[0] = bufs[0][n:]
	}
	return bufs
}

// reset empties the pending chunk, keeping its slots unless a backlog made them many.
func (s *detachedStream) reset() {
	clear(s.pending)
	s.pending, s.size = s.pending[:1], 0
	if cap(s.pending) > 64 {
		s.pending = net.Buffers{nil}
	}
}

func (s *detachedStream) add(b []byte) {
	s.pending = append(s.pending, b)
	s.size += len(b)
}

// event adds an event, after the reconnection hint if it is the stream's first.
func (s *detachedStream) event(b []byte) {
	if s.hint != "" {
		s.add([]byte(s.hint))
		s.hint = ""
	}
	s.add(b)
}

// send adds delivery d, unless the client has it already; false when it could not be
// formatted (the stream ends, and the client resumes from the event before).
func (s *detachedStream) send(d *Delivery) bool {
	if !s.last.Less(d.Cursor) {
		return true
	}
	ev, ok := s.h.formatSSE(s.ctx, s.format, d)
	if !ok {
		return false
	}
	s.last = d.Cursor
	if ev.Name != "" {
		// The event's data is shared by every stream it goes to; only this line is the
		// stream's own.
		s.event(d.sseHead(ev.Name))
		s.add(ev.Data)
		s.add(frameEnd)
	}
	return true
}

// close ends the stream: its connection, timer and subscription, and its place under the
// caps.
func (s *detachedStream) close() {
	if s.done {
		return
	}
	s.done = true
	s.closed.Store(true)
	s.heartbeat.Stop()
	if s.h.hangups != nil {
		s.h.hangups.forget(s)
	}
	s.conn.Close()
	s.finish()
	s.h.detached.Done()
}

// every calls tick every d, from a timer (no goroutine waits for it), until tick returns
// false or the returned timer is stopped.
func every(d time.Duration, tick func() bool) *time.Timer {
	var t *time.Timer
	t = time.AfterFunc(time.Duration(math.MaxInt64), func() {
		if tick() {
			t.Reset(d)
		}
	})
	t.Reset(d) // armed only once t is set, which the function reads
	return t
}

// writerPatience is how long a writer waits for one stream's write before handing it to
// a goroutine of the stream's own: a loopback or LAN client takes microseconds.
const writerPatience = 5 * time.Millisecond

// readyQueue holds the detached streams that have something to write, each at most once.
type readyQueue struct {
	mu    sync.Mutex
	cond  *sync.Cond
	items []*detachedStream
}

func (q *readyQueue) push(s *detachedStream) {
	q.mu.Lock()
	q.items = append(q.items, s)
	q.mu.Unlock()
	q.cond.Signal()
}

// pop waits for a stream and takes it off the queue.
func (q *readyQueue) pop() *detachedStream {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 {
		q.cond.Wait()
	}
	s := q.items[0]
	q.items[0] = nil
	q.items = q.items[1:]
	if len(q.items) == 0 && cap(q.items) > 1024 {
		q.items = nil // the backing array of a large fan-out is not kept
	}
	return s
}

// startWriters starts the hub's writers, once: one per CPU the process may use. They live
// as long as the process, parked on the queue when no stream has anything to write. A
// writer never blocks while streams are waiting, so it yields its CPU every few streams:
// a request being served (a post being written, whose event this is) is not kept waiting
// for a whole fan-out to 10,000 streams.
func (h *Hub) startWriters() {
	h.writersOnce.Do(func() {
		h.hangups = newHangups()
		h.writable.cond = sync.NewCond(&h.writable.mu)
		for range runtime.GOMAXPROCS(0) {
			go func() {
				for i := 1; ; i++ {
					h.writable.pop().serve(false)
					if i%writerBatch == 0 {
						runtime.Gosched()
					}
				}
			}()
		}
	})
}

// writerBatch is how many streams a writer serves before it yields its CPU.
const writerBatch = 32

// The fixed pieces of a detached stream's chunks.
var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n")
	frameEnd  = []byte("\n\n")
	pingFrame = []byte(": ping\n\n")
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
