package live_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/jobs"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/password"
)

// node is one Starling process as far as live updates go: a pool, the domain service
// with its wake-up notifier, a hub, a listener and an HTTP server with a JSON stream.
type node struct {
	t        *testing.T
	pool     *pgxpool.Pool
	core     *core.Service
	hub      *live.Hub
	notifier *events.Notifier
	srv      *httptest.Server
	up       chan bool
}

// posterID is the account the posts that tests write straight into the database belong
// to (newNode makes it): streams show only posts that exist.
const posterID = 1_000_000

func newNode(t *testing.T, dsn string, opts live.Options, format ...live.Formatter) *node {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	log := logging.New(os.Stderr, "text", "error")
	runner, err := jobs.New(pool, jobs.Config{Log: log})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO users (id, username, email, password_hash) OVERRIDING SYSTEM VALUE
		VALUES ($1, 'poster', 'poster@example.com', 'x') ON CONFLICT DO NOTHING`, posterID)
	require.NoError(t, err)
	n := &node{t: t, pool: pool, up: make(chan bool, 100)}
	n.notifier = events.NewNotifier(pool, 2*time.Millisecond, log)
	n.core = core.New(pool, core.Options{Jobs: runner.Client, Wake: n.notifier.Wake,
		Password: password.Params{MemoryKiB: 1024, Iterations: 1}, SignupsOpen: true, Log: log})
	n.hub = live.NewHub(events.NewReader(pool), n.core, log, opts)
	l := live.NewListener(dsn, n.hub.Kick, log)
	l.Connected = func(up bool) {
		select {
		case n.up <- up:
		default:
		}
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); n.notifier.Run(ctx) }()
	go func() { defer wg.Done(); n.hub.Run(ctx) }()
	go func() { defer wg.Done(); l.Run(ctx) }()
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resume, given, expired, err := n.hub.ResumePoint(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f := jsonEvent
		if len(format) > 0 {
			f = format[0]
		}
		n.hub.Stream(w, r, live.Filter{Public: true}, core.Credential{}, resume, given && !expired, expired, f)
	}))
	t.Cleanup(func() {
		n.srv.CloseClientConnections()
		n.srv.Close()
		cancel()
		wg.Wait()
		pool.Close()
	})
	require.True(t, <-n.up, "listener connected")
	return n
}

// jsonEvent formats post events as {"post_id":N}.
func jsonEvent(_ context.Context, d *live.Delivery) (live.Event, error) {
	b, _ := json.Marshal(map[string]int64{"post_id": d.PostID})
	switch d.Topic {
	case events.TopicPostCreated:
		return live.Event{Name: "post", Data: b}, nil
	case events.TopicPostDeleted:
		return live.Event{Name: "delete", Data: b}, nil
	}
	return live.Event{}, nil
}

func (n *node) user(name string) core.User {
	u, err := n.core.SignUp(context.Background(), core.SignUpInput{Username: name, Email: name + "@example.com", Password: "correct horse battery"})
	require.NoError(n.t, err)
	return u
}

// sseEvent is one received message.
type sseEvent struct {
	ID, Name, Data string
	At             time.Time
}

// sseClient follows a stream like a browser's EventSource: it reconnects when the stream
// ends and sends the last id it saw as Last-Event-ID.
type sseClient struct {
	url string
	// dropEvery, when set, makes the client hang up after that long on each connection.
	dropEvery time.Duration

	mu      sync.Mutex
	lastID  string
	events  []sseEvent
	control []string // reset, resume
	status  []int
}

func (c *sseClient) run(ctx context.Context) {
	for ctx.Err() == nil {
		c.once(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *sseClient) once(ctx context.Context) {
	if c.dropEvery > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.dropEvery)
		defer cancel()
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	c.mu.Lock()
	if c.lastID != "" {
		req.Header.Set("Last-Event-ID", c.lastID)
	}
	c.mu.Unlock()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	c.mu.Lock()
	c.status = append(c.status, res.StatusCode)
	c.mu.Unlock()
	if res.StatusCode != http.StatusOK {
		return
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			c.mu.Lock()
			if ev.ID != "" {
				c.lastID = ev.ID
			}
			switch ev.Name {
			case "post", "delete", "notification":
				ev.At = time.Now()
				c.events = append(c.events, ev)
			case "reset", "resume":
				c.control = append(c.control, ev.Name)
			}
			c.mu.Unlock()
			ev = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			ev.ID = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.Data = strings.TrimPrefix(line, "data: ")
		}
	}
}

func (c *sseClient) received() []sseEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sseEvent(nil), c.events...)
}

// postIDs returns the post ids of the received post events, in order.
func (c *sseClient) postIDs() []int64 {
	var out []int64
	for _, e := range c.received() {
		if e.Name != "post" {
			continue
		}
		var d struct {
			PostID int64 `json:"post_id"`
		}
		_ = json.Unmarshal([]byte(e.Data), &d)
		out = append(out, d.PostID)
	}
	return out
}

// waitPosts waits until the client has n post events.
func waitPosts(t *testing.T, c *sseClient, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for len(c.postIDs()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("client has %d of %d posts", len(c.postIDs()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// paddedPosts formats each post.created as {"post_id":N,"pad":padding}: big events, to
// fill a client's socket.
func paddedPosts(padding string) live.Formatter {
	return func(_ context.Context, d *live.Delivery) (live.Event, error) {
		if d.Topic != events.TopicPostCreated {
			return live.Event{}, nil
		}
		return live.Event{Name: "post", Data: []byte(fmt.Sprintf(`{"post_id":%d,"pad":"%s"}`, d.PostID, padding))}, nil
	}
}

// waitHead waits for the hub to have read an event: a stream cut off before its first
// event is told to resume from the head it began at, and an empty log has none.
func (n *node) waitHead(t *testing.T) {
	t.Helper()
	require.Eventually(t, func() bool { return n.hub.Head() != (events.Cursor{}) }, 5*time.Second, 10*time.Millisecond)
}

// rawStream asks for the node's stream on a connection of its own, as proto ("HTTP/1.1",
// "HTTP/1.0"), with its receive buffer set to rcvBuf when that is not 0, and returns the
// connection (closed when the test ends) without reading anything.
func (n *node) rawStream(t *testing.T, proto string, rcvBuf int) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(n.srv.URL, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	if rcvBuf != 0 {
		require.NoError(t, conn.(*net.TCPConn).SetReadBuffer(rcvBuf))
	}
	_, err = fmt.Fprintf(conn, "GET / %s\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n", proto)
	require.NoError(t, err)
	return conn
}
