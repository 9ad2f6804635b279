package live_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/store"
)

// appendIn writes public post postID by the poster and its post.created event in tx and
// returns the event's cursor.
func appendIn(t *testing.T, tx pgx.Tx, postID int64) events.Cursor {
	t.Helper()
	_, err := tx.Exec(context.Background(), `INSERT INTO posts (id, author_id, body) OVERRIDING SYSTEM VALUE
		VALUES ($1, $2, 'a post')`, postID, posterID)
	require.NoError(t, err)
	id, err := events.Append(context.Background(), store.New(tx), events.PostCreated{PostID: postID, AuthorID: posterID, Visibility: "public"})
	require.NoError(t, err)
	var xid uint64
	require.NoError(t, tx.QueryRow(context.Background(), `SELECT xid::text::bigint FROM events WHERE id = $1`, id).Scan(&xid))
	return events.Cursor{Xid: xid, ID: id}
}

func begin(t *testing.T, n *node) pgx.Tx {
	tx, err := n.pool.Begin(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return tx
}

func TestOutOfOrderCommitsAreNeverSkipped(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	n := newNode(t, dsn, live.Options{Poll: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c1 := &sseClient{url: n.srv.URL}
	go c1.run(ctx)
	time.Sleep(200 * time.Millisecond) // c1 is subscribed

	// 1. D commits while C, with an older transaction id, still runs: D is held back
	// until C commits, then both arrive in order.
	txC, txD := begin(t, n), begin(t, n)
	appendIn(t, txC, 301)
	appendIn(t, txD, 302)
	require.NoError(t, txD.Commit(ctx))
	n.hub.Kick()
	time.Sleep(300 * time.Millisecond)
	require.Empty(t, c1.postIDs(), "D must wait for the older running transaction C")
	require.NoError(t, txC.Commit(ctx))
	n.hub.Kick()
	waitPosts(t, c1, 2, 5*time.Second)
	require.Equal(t, []int64{301, 302}, c1.postIDs())

	// 2. A takes the lower event id but commits after B, and B's transaction is older:
	// a client sees B first; reconnecting with B's id it still gets A, once.
	txB := begin(t, n)
	_, err := txB.Exec(ctx, `SELECT pg_current_xact_id()`) // B's transaction id is assigned first
	require.NoError(t, err)
	txA := begin(t, n)
	a := appendIn(t, txA, 401)
	b := appendIn(t, txB, 402)
	require.Less(t, a.ID, b.ID, "A took the lower event id")
	require.Less(t, b.Xid, a.Xid, "B's transaction is the older one")
	require.NoError(t, txB.Commit(ctx))
	n.hub.Kick()
	waitPosts(t, c1, 3, 5*time.Second)
	require.Equal(t, []int64{301, 302, 402}, c1.postIDs())
	seenB := c1.received()[2].ID
	require.Equal(t, b.String(), seenB)

	c2 := &sseClient{url: n.srv.URL, lastID: seenB} // saw B, reconnects with its id
	go c2.run(ctx)
	time.Sleep(200 * time.Millisecond)
	require.NoError(t, txA.Commit(ctx))
	n.hub.Kick()
	waitPosts(t, c1, 4, 5*time.Second)
	waitPosts(t, c2, 1, 5*time.Second)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, []int64{301, 302, 402, 401}, c1.postIDs(), "A arrives after B, once")
	require.Equal(t, []int64{401}, c2.postIDs(), "the resumed client gets A and nothing twice")

	// 3. A client resuming from D replays B and A in cursor order.
	c3 := &sseClient{url: n.srv.URL, lastID: c1.received()[1].ID}
	go c3.run(ctx)
	waitPosts(t, c3, 2, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, []int64{402, 401}, c3.postIDs())
}

func TestLastEventIDValidation(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	n := newNode(t, dsn, live.Options{})
	ctx := context.Background()
	alice := n.user("alice")
	for range 3 {
		_, err := n.core.CreatePost(ctx, alice.ID, "hello")
		require.NoError(t, err)
	}
	get := func(id string) (int, string) {
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, n.srv.URL, nil)
		req.Header.Set("Last-Event-ID", id)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		buf := make([]byte, 4096)
		k, _ := res.Body.Read(buf)
		return res.StatusCode, string(buf[:k])
	}
	for _, bad := range []string{"garbage", "12", "-1-5", "5-0", "1-2-3", "007-1", strings.Repeat("9", 60)} {
		status, body := get(bad)
		require.Equal(t, http.StatusBadRequest, status, bad)
		require.Contains(t, body, "not an event id of this server")
	}
	status, _ := get("999999-999999") // well-formed, but no such event here
	require.Equal(t, http.StatusBadRequest, status)

	// Events pruned by retention: a cursor before the oldest left gets an explicit reset.
	var oldest events.Cursor
	require.NoError(t, pool.QueryRow(ctx, `SELECT xid::text::bigint, id FROM events ORDER BY xid, id LIMIT 1`).Scan(&oldest.Xid, &oldest.ID))
	_, err := pool.Exec(ctx, `DELETE FROM events WHERE id = $1`, oldest.ID)
	require.NoError(t, err)
	status, body := get(oldest.String())
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, body, "event: reset")
}

func TestSlowClientIsCutOffOthersKeepReceiving(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	n := newNode(t, dsn, live.Options{Buffer: 8, WriteTimeout: time.Second}, paddedPosts(strings.Repeat("x", 64<<10)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The log is not empty when the streams open: a stream cut off before its first event
	// is told where to resume by its last event's id (the head it began at), and an empty
	// log has no head to name (docs/live.md, "Back-pressure").
	alice := n.user("alice")
	n.waitHead(t)

	// The slow client asks for the stream and then never reads.
	n.rawStream(t, "HTTP/1.1", 4096)
	fast := &sseClient{url: n.srv.URL}
	go fast.run(ctx)
	require.Eventually(t, func() bool { return n.hub.Subscribers() == 2 }, 5*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return n.hub.Detached.Load() == 2 }, 5*time.Second, 10*time.Millisecond,
		"both HTTP/1.1 streams are served detached from their handlers")

	const total = 600
	for i := range total {
		_, err := n.core.CreatePost(ctx, alice.ID, fmt.Sprintf("post %d", i))
		require.NoError(t, err)
	}
	waitPosts(t, fast, total, 60*time.Second)
	// Cut off either by the hub (its buffer filled) or by the write timeout (the socket
	// stayed full), whichever comes first on a loaded machine.
	require.Eventually(t, func() bool {
		return n.hub.Dropped.Load()+n.hub.WriteFailed.Load() >= 1 && n.hub.Subscribers() == 1
	}, 20*time.Second, 20*time.Millisecond, "the slow client is cut off; the fast one stays")
	ids := fast.postIDs()
	for i := 1; i < len(ids); i++ {
		require.Less(t, ids[i-1], ids[i], "in order, no duplicates")
	}
}

// TestClosedDetachedStreamIsReleasedAtOnce: a client that goes away from a detached stream
// is noticed without waiting for a heartbeat write, so reconnecting clients never pile up
// under the stream caps.
func TestClosedDetachedStreamIsReleasedAtOnce(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	n := newNode(t, dsn, live.Options{Heartbeat: time.Hour})
	for range 3 {
		conn := n.rawStream(t, "HTTP/1.1", 0)
		require.Eventually(t, func() bool { return n.hub.Subscribers() == 1 }, 5*time.Second, 5*time.Millisecond)
		conn.Close()
		require.Eventually(t, func() bool { return n.hub.Subscribers() == 0 }, 5*time.Second, 5*time.Millisecond,
			"the closed stream leaves the hub long before its next heartbeat")
	}
	require.EqualValues(t, 3, n.hub.Detached.Load())
}

// TestSlowReaderGetsEverythingInOrder: a client that reads, but slower than events come,
// fills its socket; the writers hand what it did not take to a goroutine of the stream's
// own and take the stream back once it is idle. Nothing is lost, repeated or reordered,
// and the client is not cut off while it keeps up within the buffer and write timeout.
func TestSlowReaderGetsEverythingInOrder(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	padding := strings.Repeat("y", 64<<10)
	n := newNode(t, dsn, live.Options{Buffer: 1000, WriteTimeout: 20 * time.Second}, paddedPosts(padding))
	ctx := context.Background()
	alice := n.user("alice")
	n.waitHead(t)

	conn := n.rawStream(t, "HTTP/1.1", 64<<10) // small enough to fill, not so small that TCP stalls
	require.Eventually(t, func() bool { return n.hub.Detached.Load() == 1 }, 5*time.Second, 10*time.Millisecond)

	const total = 150
	var ids []int64
	var raw []byte // everything read, to check byte for byte
	read := make(chan error, 1)
	go func() {
		var all []byte
		buf := make([]byte, 8<<10)
		re := regexp.MustCompile(`"post_id":(\d+)`)
		for len(ids) < total {
			time.Sleep(time.Millisecond) // at most 8 MB/s: slower than the posts come
			k, err := conn.Read(buf)
			if err != nil {
				read <- err
				return
			}
			raw = append(raw, buf[:k]...)
			all = append(all, buf[:k]...)
			// Whole lines only: an event's data line is one line.
			if nl := bytes.LastIndexByte(all, '\n'); nl >= 0 {
				for _, g := range re.FindAllSubmatch(all[:nl], -1) {
					id, _ := strconv.ParseInt(string(g[1]), 10, 64)
					ids = append(ids, id)
				}
				all = append(all[:0], all[nl+1:]...)
			}
		}
		read <- nil
	}()
	for i := range total {
		_, err := n.core.CreatePost(ctx, alice.ID, fmt.Sprintf("post %d", i))
		require.NoError(t, err)
	}
	select {
	case err := <-read:
		require.NoError(t, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("the slow reader did not get every post: %d; handed off %d, dropped %d, failed %d, subs %d", len(ids), n.hub.HandedOff.Load(), n.hub.Dropped.Load(), n.hub.WriteFailed.Load(), n.hub.Subscribers())
	}
	require.Len(t, ids, total)
	for i := 1; i < len(ids); i++ {
		require.Equal(t, ids[i-1]+1, ids[i], "in order, none missing, no duplicates")
	}
	// Byte for byte: the chunks decode, and each event is exactly what was formatted
	// (a write finished from the wrong offset would repeat or drop bytes of the padding).
	head := bytes.Index(raw, []byte("\r\n\r\n"))
	require.Positive(t, head)
	body, err := io.ReadAll(io.LimitReader(httputil.NewChunkedReader(bytes.NewReader(raw[head+4:])), int64(len(raw))))
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the stream is still open: its last chunk is whole")
	var got []int64
	for _, frame := range strings.Split(string(body), "\n\n") {
		data, ok := strings.CutPrefix(frame[strings.LastIndexByte(frame, '\n')+1:], "data: ")
		if !ok || !strings.Contains(frame, "id: ") {
			continue // the opening comment, a heartbeat, or the end
		}
		var id int64
		_, err := fmt.Sscanf(data, `{"post_id":%d,`, &id)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprintf(`{"post_id":%d,"pad":"%s"}`, id, padding), data)
		got = append(got, id)
	}
	require.Equal(t, ids, got)
	require.Positive(t, n.hub.HandedOff.Load(), "the socket filled: writes were finished off the writers")
	require.Zero(t, n.hub.Dropped.Load()+n.hub.WriteFailed.Load(), "a reader that keeps up is not cut off")
	require.Equal(t, 1, n.hub.Subscribers())
}

// TestHandlerLoopStreamDeliversInOrder: a stream that cannot be taken over from its
// handler (HTTP/1.0, which has no chunks) is served by the handler's own loop, from the
// same subscription queue: every post arrives, in order, each once.
func TestHandlerLoopStreamDeliversInOrder(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	n := newNode(t, dsn, live.Options{})
	ctx := context.Background()
	alice := n.user("alice")
	n.waitHead(t)
	conn := n.rawStream(t, "HTTP/1.0", 0)
	require.Eventually(t, func() bool { return n.hub.Subscribers() == 1 }, 5*time.Second, 10*time.Millisecond)

	const total = 40
	var want []int64
	for i := range total {
		p, err := n.core.CreatePost(ctx, alice.ID, fmt.Sprintf("post %d", i))
		require.NoError(t, err)
		want = append(want, p.ID)
	}
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	r := bufio.NewReader(conn)
	var got []int64
	for len(got) < total {
		line, err := r.ReadString('\n')
		require.NoError(t, err, "after %d posts", len(got))
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok && strings.Contains(data, "post_id") {
			var d struct {
				PostID int64 `json:"post_id"`
			}
			require.NoError(t, json.Unmarshal([]byte(data), &d))
			got = append(got, d.PostID)
		}
	}
	require.Equal(t, want, got)
	require.Zero(t, n.hub.Detached.Load(), "an HTTP/1.0 stream stays with its handler")
}

// TestIdleDetachedStreamsHoldNoGoroutine: detached streams are watched for their clients
// leaving by one watcher, not a goroutine each; a client that writes after its request
// (nothing a stream reads) is not cut off for it; and every client that hangs up leaves
// the hub without waiting for a heartbeat.
func TestIdleDetachedStreamsHoldNoGoroutine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the shared hangup watcher is Linux's (epoll); elsewhere each stream reads its connection")
	}
	_, dsn := pgtest.NewDB(t) // not parallel: it counts the process's goroutines
	n := newNode(t, dsn, live.Options{Heartbeat: time.Hour})
	open := func() net.Conn { return n.rawStream(t, "HTTP/1.1", 0) }
	first := open() // starts the writers and the watcher
	require.Eventually(t, func() bool { return n.hub.Detached.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	const streams = 60
	conns := []net.Conn{first}
	for range streams - 1 {
		conns = append(conns, open())
	}
	require.Eventually(t, func() bool { return n.hub.Detached.Load() == streams }, 10*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // the handlers' goroutines end
	require.Less(t, runtime.NumGoroutine()-before, 10, "no goroutine per idle stream")

	// A client that talks is drained, not cut off; it still gets the next event.
	_, err := conns[0].Write([]byte(strings.Repeat("chatter\n", 1000)))
	require.NoError(t, err)
	alice := n.user("alice")
	p, err := n.core.CreatePost(context.Background(), alice.ID, "still here")
	require.NoError(t, err)
	require.NoError(t, conns[0].SetReadDeadline(time.Now().Add(10*time.Second)))
	var got []byte
	buf := make([]byte, 4096)
	for !bytes.Contains(got, []byte(fmt.Sprintf(`"post_id":%d`, p.ID))) {
		k, err := conns[0].Read(buf)
		require.NoError(t, err)
		got = append(got, buf[:k]...)
	}
	require.Equal(t, streams, n.hub.Subscribers())

	for _, c := range conns {
		c.Close()
	}
	require.Eventually(t, func() bool { return n.hub.Subscribers() == 0 }, 5*time.Second, 5*time.Millisecond,
		"every stream whose client hung up leaves the hub at once")
}
