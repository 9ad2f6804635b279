package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/starling-social/starling/internal/events"
)

// load is the clients of a soak run: writers, readers and stream followers.
type load struct {
	r       *run
	http    *http.Client
	stop    chan struct{} // closed when writers and readers should stop
	writers sync.WaitGroup
	others  sync.WaitGroup
	streams []*follower
	cancel  context.CancelFunc

	mu      sync.Mutex
	acked   map[int64]string // post id → idempotency key of posts acknowledged with 200
	warmup  map[int64]bool   // warm-up posts, written before the followers had a resume point
	deleted map[int64]bool   // posts whose deletion was acknowledged
	keys    map[string]int64 // idempotency key → post id
}

func newLoad(r *run) *load {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}
	return &load{r: r, http: &http.Client{Transport: tr, Timeout: 10 * time.Second}, stop: make(chan struct{}),
		acked: map[int64]string{}, warmup: map[int64]bool{}, deleted: map[int64]bool{}, keys: map[string]int64{}}
}

// base picks a running web process, waiting while none runs.
func (l *load) base(ctx context.Context) (string, error) {
	for {
		var up []string
		for _, p := range l.r.web {
			if u := p.url(); u != "" {
				up = append(up, u)
			}
		}
		if len(up) > 0 {
			return up[rand.IntN(len(up))], nil
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (l *load) begin(ctx context.Context) error {
	sctx, cancel := context.WithCancel(ctx)
	l.cancel = cancel
	for i := range l.r.opts.Streams {
		f := &follower{l: l, name: fmt.Sprintf("stream%d", i+1), seen: map[string]int{}}
		l.streams = append(l.streams, f)
		l.others.Add(1)
		go func() { defer l.others.Done(); f.run(sctx) }()
	}
	if err := l.warmUp(ctx); err != nil {
		return err
	}
	for i := range l.r.opts.Writers {
		l.writers.Add(1)
		go func() { defer l.writers.Done(); l.write(ctx, i) }()
	}
	for range l.r.opts.Readers {
		l.others.Add(1)
		go func() { defer l.others.Done(); l.read(sctx) }()
	}
	return nil
}

// warmUp posts until every follower has received an event. A client without a
// Last-Event-ID starts from "now": a follower that connected late, or dropped its first
// connection before any event, would rightly miss what came before. Once each has an id
// to resume from, it must miss nothing; the warm-up posts themselves are not checked.
func (l *load) warmUp(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; !l.followersReady(); i++ {
		if time.Now().After(deadline) {
			return errors.New("soak: the stream clients received no warm-up post within 90 s")
		}
		key := fmt.Sprintf("soak-warmup-%d", i)
		id, ok := l.post(ctx, l.r.tokens[0], key, key+" warming up")
		if !ok {
			return fmt.Errorf("soak: warm-up post %s was not acknowledged", key)
		}
		l.mu.Lock()
		l.warmup[id] = true
		l.mu.Unlock()
		time.Sleep(300 * time.Millisecond)
	}
	return nil
}

// followersReady reports whether every follower has an event id to resume from.
func (l *load) followersReady() bool {
	for _, f := range l.streams {
		f.mu.Lock()
		ready := f.lastID != ""
		f.mu.Unlock()
		if !ready {
			return false
		}
	}
	return true
}

// finish stops writers (after their current post is acknowledged) and readers; the stream
// followers go on until settle.
func (l *load) finish() {
	close(l.stop)
	l.writers.Wait()
}

func (l *load) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// write posts as account i%Users with mentions of others, and deletes about one post in
// ten, retrying each with the same Idempotency-Key until it is acknowledged.
func (l *load) write(ctx context.Context, i int) {
	r := l.r
	tok := r.tokens[i%len(r.tokens)]
	rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
	for seq := 0; !l.stopped(); seq++ {
		key := fmt.Sprintf("soak-w%d-%d", i, seq)
		var b strings.Builder
		fmt.Fprintf(&b, "%s says hello", key)
		for range rng.IntN(4) {
			switch k := rng.IntN(10); {
			case k < 7:
				fmt.Fprintf(&b, " @%s", r.names[rng.IntN(len(r.names))])
			case k < 8:
				fmt.Fprintf(&b, " @%s", strings.ToUpper(r.names[i%len(r.names)]))
			default:
				fmt.Fprintf(&b, " @nobody%d", rng.IntN(3))
			}
		}
		id, ok := l.post(ctx, tok, key, b.String())
		if !ok {
			return
		}
		if rng.IntN(10) == 0 && !l.remove(ctx, tok, id) {
			return
		}
		time.Sleep(r.opts.WritePause)
	}
}

// retryFor bounds how long one post or deletion is retried before the soak gives up.
const retryFor = 2 * time.Minute

// retry sends the request built by build to a running web process until accept takes the
// answer, a 4xx other than 429 refuses it for good, or retryFor passes. Network errors
// and other answers count as failures and are tried again after a backoff.
func (l *load) retry(ctx context.Context, what string, build func(base string) *http.Request,
	accept func(res *http.Response, attempt int) bool) bool {
	give := time.Now().Add(retryFor)
	for attempt := 0; time.Now().Before(give); attempt++ {
		if attempt > 0 {
			l.r.countRetry()
			time.Sleep(backoff(attempt))
		}
		base, err := l.base(ctx)
		if err != nil {
			return false
		}
		res, err := l.http.Do(build(base).WithContext(ctx))
		if err != nil {
			l.r.countWriteFailure(failureKind(err))
			continue
		}
		ok := accept(res, attempt)
		io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if ok {
			return true
		}
		l.r.countWriteFailure(fmt.Sprintf("HTTP %d", res.StatusCode))
		if res.StatusCode >= 400 && res.StatusCode < 500 && res.StatusCode != http.StatusTooManyRequests {
			l.r.countRejected(fmt.Sprintf("%s: HTTP %d", what, res.StatusCode))
			return false
		}
	}
	l.r.countRejected(what + " never acknowledged within " + retryFor.String())
	return false
}

// post sends one post with its Idempotency-Key until a 200 comes back and records it.
func (l *load) post(ctx context.Context, tok, key, body string) (int64, bool) {
	var id int64
	ok := l.retry(ctx, "post "+key, func(base string) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/statuses", strings.NewReader(url.Values{"status": {body}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Idempotency-Key", key)
		return req
	}, func(res *http.Response, _ int) bool {
		var st struct {
			ID string `json:"id"`
		}
		if res.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st) != nil {
			return false
		}
		_, err := fmt.Sscan(st.ID, &id)
		return err == nil
	})
	if !ok {
		return 0, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, seen := l.keys[key]; seen && prev != id {
		l.r.countRejected(fmt.Sprintf("key %s answered with post %d and then %d", key, prev, id))
	}
	l.keys[key] = id
	l.acked[id] = key
	return id, true
}

// remove deletes a post until the deletion is acknowledged. A 404 after a failed attempt
// means that attempt went through.
func (l *load) remove(ctx context.Context, tok string, id int64) bool {
	ok := l.retry(ctx, fmt.Sprintf("delete %d", id), func(base string) *http.Request {
		req, _ := http.NewRequest(http.MethodDelete, fmt.Sprintf("%s/api/v1/statuses/%d", base, id), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		return req
	}, func(res *http.Response, attempt int) bool {
		return res.StatusCode == http.StatusOK || (res.StatusCode == http.StatusNotFound && attempt > 0)
	})
	if ok {
		l.mu.Lock()
		l.deleted[id] = true
		l.mu.Unlock()
	}
	return ok
}

func backoff(attempt int) time.Duration {
	d := 50 * time.Millisecond << min(attempt, 5)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)))
}

func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "EOF"), strings.Contains(err.Error(), "connection reset"):
		return "connection lost"
	default:
		return "other network error"
	}
}

// read fetches the public timeline through the API and the home page of the website.
func (l *load) read(ctx context.Context) {
	for i := 0; !l.stopped(); i++ {
		base, err := l.base(ctx)
		if err != nil {
			return
		}
		path := "/api/v1/timelines/public?limit=20"
		if i%2 == 1 {
			path = "/"
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		res, err := l.http.Do(req)
		kind := ""
		if err != nil {
			kind = failureKind(err)
		} else {
			io.Copy(io.Discard, io.LimitReader(res.Body, 4<<20))
			res.Body.Close()
			kind = fmt.Sprintf("HTTP %d", res.StatusCode)
		}
		l.r.mu.Lock()
		l.r.report.Reads[kind]++
		l.r.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
}

// settle waits for the workers to finish every job and the stream followers to catch up.
func (l *load) settle(ctx context.Context) error {
	defer func() {
		l.cancel()
		l.others.Wait()
	}()
	return l.r.drain(ctx, l)
}

// follower follows the public API stream, reconnecting with Last-Event-ID to any web
// process, and also drops its connection now and then on purpose.
type follower struct {
	l    *load
	name string

	mu         sync.Mutex
	last       events.Cursor
	haveLast   bool
	lastID     string
	seen       map[string]int // "update:ID" / "delete:ID" → times received
	order      int            // events that did not come in increasing cursor order
	resets     int
	connects   int
	refused    map[int]int
	lastActive time.Time
}

func (f *follower) run(ctx context.Context) {
	f.refused = map[int]int{}
	for ctx.Err() == nil {
		base, err := f.l.base(ctx)
		if err != nil {
			return
		}
		f.follow(ctx, base)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond):
		}
	}
}

// follow reads one connection until it breaks or the follower drops it.
func (f *follower) follow(ctx context.Context, base string) {
	cctx, cancel := context.WithTimeout(ctx, time.Duration(2000+rand.IntN(6000))*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, http.MethodGet, base+"/api/v1/streaming/public", nil)
	f.mu.Lock()
	if f.lastID != "" {
		req.Header.Set("Last-Event-ID", f.lastID)
	}
	f.mu.Unlock()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return
	}
	defer res.Body.Close()
	f.mu.Lock()
	f.connects++
	if res.StatusCode != http.StatusOK {
		f.refused[res.StatusCode]++
	}
	f.mu.Unlock()
	if res.StatusCode != http.StatusOK {
		return
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	// As in a browser, an event counts once its blank line has arrived: one cut off
	// mid-way is not seen, and the resumed connection sends it again.
	var id, name, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id = line[4:]
		case strings.HasPrefix(line, "event: "):
			name = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		case line == "":
			if data != "" {
				f.receive(id, name, data)
			}
			id, name, data = "", "", ""
		}
	}
}

func (f *follower) receive(id, name, data string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastActive = time.Now()
	if name == "reset" {
		f.resets++
		return
	}
	if id == "" {
		return // heartbeats, and a "resume" or "reconnect" before any event
	}
	c, err := events.ParseCursor(id)
	if err != nil {
		f.order++
		return
	}
	if name == "resume" || name == "reconnect" {
		// A cut-off stream's last word names the last event it sent (where the client
		// resumes from): never one before it, and not a new event.
		if f.haveLast && c.Less(f.last) {
			f.order++
		}
		f.last, f.haveLast, f.lastID = c, true, id
		return
	}
	if f.haveLast && !f.last.Less(c) {
		f.order++
	}
	f.last, f.haveLast, f.lastID = c, true, id
	switch name {
	case "update":
		var st struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(data), &st) != nil || st.ID == "" {
			f.l.r.detail("%s: an update without a status id: %.200q", f.name, data)
		}
		f.seen["update:"+st.ID]++
	case "delete":
		f.seen["delete:"+data]++
	}
}
