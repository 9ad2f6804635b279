// Package cache holds Starling's process-local caches and the rule that keeps them true
// (docs/DESIGN's invariant 5): every entry is dropped as soon as this process's hub reads
// an event saying what it holds may have changed, and no entry outlives its TTL, so that
// even a change without an event of its own (a counter a consumer moved, a profile edit)
// shows within that bound on every process.
package cache

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/starling-social/starling/internal/events"
)

// Responses caches whole responses to anonymous GET and HEAD requests: a page that is the
// same for everyone who is not logged in (the public timeline, a public post, a profile)
// is computed once per change instead of once per reader. Each entry keeps its body and
// its gzip encoding and answers revalidation (If-None-Match) with 304.
//
// A request is anonymous when it carries no credential of any kind: no Authorization
// header, no access_token parameter, no cookie at all, no WebSocket upgrade. Any other
// request, and every path Cacheable refuses, goes to the handler untouched. Only 200
// responses without Set-Cookie are kept; anything else (a 401 of a members-only server, a
// 404 of a private post) is answered afresh every time.
type Responses struct {
	// TTL bounds an entry's life. Defaults to DefaultTTL.
	TTL time.Duration
	// MaxEntries bounds the number of entries; when full, an arbitrary one is dropped.
	// Defaults to 1,000.
	MaxEntries int
	// MaxBody is the largest body kept. Defaults to 1 MiB.
	MaxBody int
	// Cacheable reports whether r's path may be cached for anonymous readers.
	Cacheable func(r *http.Request) bool
	// Admit, when set, is asked before a request is answered from an entry: the rate
	// limit the handler's middleware would have applied. It answers the refused request
	// itself. (A request that is computed passes the handler's own limit instead.)
	Admit func(w http.ResponseWriter, r *http.Request) bool
	// Stamp, when set, is called for each answer from an entry before it is written: the
	// per-request headers the handler's middleware would have set (a request id).
	Stamp func(w http.ResponseWriter, r *http.Request)

	mu       sync.Mutex
	gen      uint64
	entries  map[string]*entry
	inflight map[string]chan struct{}

	// Hits, Misses and Bypassed count requests answered from an entry, computed by the
	// handler for a cacheable key, and passed through (not anonymous or not cacheable).
	Hits, Misses, Bypassed atomic.Int64
	// Invalidations counts Invalidate calls.
	Invalidations atomic.Int64
}

// DefaultTTL is an entry's longest life: the bound within which a change that writes no
// event (an account's counts, moved by the counters consumer) is seen.
const DefaultTTL = time.Second

// entry is one cached response.
type entry struct {
	header   http.Header
	body, gz []byte
	etag     string // of the identity body; the gzip body's is etag with -gz before the quote
	at       time.Time
}

// Invalidate drops every entry, and keeps responses being computed now from being stored:
// call it when the event log shows a change (see Invalidates).
func (c *Responses) Invalidate() {
	c.Invalidations.Add(1)
	c.mu.Lock()
	c.gen++
	clear(c.entries)
	c.mu.Unlock()
}

// Len returns the number of entries.
func (c *Responses) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Anonymous reports whether r carries no credential: no Authorization header, no
// access_token parameter, no cookie, no upgrade.
func Anonymous(r *http.Request) bool {
	h := r.Header
	return h.Get("Authorization") == "" && h.Get("Cookie") == "" && h.Get("Upgrade") == "" &&
		h.Get("Sec-WebSocket-Protocol") == "" && !strings.Contains(r.URL.RawQuery, "access_token")
}

// Handler serves anonymous cacheable requests from the cache, computing a missing entry
// with next once however many readers ask for it at the same moment.
func (c *Responses) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !Anonymous(r) || c.Cacheable == nil || !c.Cacheable(r) {
			c.Bypassed.Add(1)
			next.ServeHTTP(w, r)
			return
		}
		key := r.URL.Path + "?" + r.URL.RawQuery
		e, wait, mine, gen := c.lookup(key, true)
		if wait != nil { // another request computes it: use its answer
			<-wait
			e, _, _, gen = c.lookup(key, false)
		}
		if e != nil {
			if c.Admit != nil && !c.Admit(w, r) {
				return
			}
			c.Hits.Add(1)
			c.write(w, r, e)
			return
		}
		// Compute it here: first, or after a leader whose answer could not be kept.
		c.Misses.Add(1)
		if mine != nil {
			defer c.release(key, mine) // even if next panics: nobody waits forever
		}
		rec := &recorder{header: http.Header{}, max: c.maxBody(), start: time.Now()}
		get := r
		if r.Method == http.MethodHead {
			get = r.Clone(r.Context())
			get.Method = http.MethodGet
		}
		next.ServeHTTP(rec, get)
		e = c.store(key, gen, rec)
		if mine != nil {
			c.release(key, mine)
		}
		if e != nil {
			if id := rec.header.Get("X-Request-ID"); id != "" {
				w.Header().Set("X-Request-ID", id) // the id this request was logged with
			}
			c.write(w, r, e)
			return
		}
		rec.replay(w, r.Method == http.MethodHead)
	})
}

// lookup returns the live entry of key, or else (when register) a channel to wait on
// while another request computes it, or else no entry and no wait, with the generation
// to store the caller's result under: the caller computes it. When register, it is then
// the leader that the next callers wait for, and mine is what it releases.
func (c *Responses) lookup(key string, register bool) (e *entry, wait, mine chan struct{}, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		if time.Since(e.at) < c.ttl() {
			return e, nil, nil, c.gen
		}
		delete(c.entries, key)
	}
	if !register {
		return nil, nil, nil, c.gen
	}
	if ch, ok := c.inflight[key]; ok {
		return nil, ch, nil, c.gen
	}
	if c.inflight == nil {
		c.inflight = map[string]chan struct{}{}
	}
	mine = make(chan struct{})
	c.inflight[key] = mine
	return nil, nil, mine, c.gen
}

// release wakes the requests waiting for the leader computing key. It may be called
// more than once.
func (c *Responses) release(key string, mine chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ch, ok := c.inflight[key]; ok && ch == mine {
		close(ch)
		delete(c.inflight, key)
	}
}

// store keeps rec's response under key when it is storable and nothing was invalidated
// since generation gen. It returns the entry made of rec, kept or not (nil when rec is
// not storable).
func (c *Responses) store(key string, gen uint64, rec *recorder) *entry {
	var e *entry
	if rec.storable() {
		e = newEntry(rec)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e == nil || gen != c.gen {
		return e // answer this request with it, keep nothing
	}
	if c.entries == nil {
		c.entries = map[string]*entry{}
	}
	if len(c.entries) >= c.maxEntries() {
		for k := range c.entries {
			delete(c.entries, k)
			break
		}
	}
	c.entries[key] = e
	return e
}

func newEntry(rec *recorder) *entry {
	h := rec.header.Clone()
	// Per request, never per entry: the outer layers set them for each answer.
	h.Del("X-Request-ID")
	h.Del("Date")
	h.Del("Content-Length")
	h.Set("Cache-Control", "no-cache")
	h.Set("Vary", "Accept-Encoding, Authorization, Cookie")
	sum := sha256.Sum256(rec.body.Bytes())
	e := &entry{header: h, body: bytes.Clone(rec.body.Bytes()), etag: hex.EncodeToString(sum[:12]), at: rec.start}
	if len(e.body) >= 512 {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
		zw.Write(e.body)
		zw.Close()
		e.gz = gz.Bytes()
	}
	return e
}

// write answers r from e: 304 when r already holds it, the gzip body when r accepts it.
func (c *Responses) write(w http.ResponseWriter, r *http.Request, e *entry) {
	if c.Stamp != nil && w.Header().Get("X-Request-ID") == "" {
		c.Stamp(w, r)
	}
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	gz := e.gz != nil && acceptsGzip(r.Header.Get("Accept-Encoding"))
	etag := `"` + e.etag + `"`
	body := e.body
	if gz {
		etag = `"` + e.etag + `-gz"`
		body = e.gz
	}
	h.Set("ETag", etag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && matchesETag(inm, e.etag) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// matchesETag reports whether an If-None-Match header names either encoding of the body
// whose tag is tag (weak comparison, as RFC 9110 asks for If-None-Match).
func matchesETag(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == `"`+tag+`"` || t == `"`+tag+`-gz"` {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header accepts gzip (not with q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}

func (c *Responses) ttl() time.Duration {
	if c.TTL > 0 {
		return c.TTL
	}
	return DefaultTTL
}

func (c *Responses) maxEntries() int {
	if c.MaxEntries > 0 {
		return c.MaxEntries
	}
	return 1000
}

func (c *Responses) maxBody() int {
	if c.MaxBody > 0 {
		return c.MaxBody
	}
	return 1 << 20
}

// recorder captures a response for the cache.
type recorder struct {
	// start is when the handler began: the entry's age counts from there, so that an
	// entry read from data older than a change never lives past the change plus TTL.
	start    time.Time
	header   http.Header
	status   int
	body     bytes.Buffer
	max      int
	overflow bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.body.Len()+len(b) > r.max {
		r.overflow = true
	}
	return r.body.Write(b)
}

func (r *recorder) storable() bool {
	return (r.status == http.StatusOK || r.status == 0) && !r.overflow && r.header.Get("Set-Cookie") == "" &&
		r.header.Get("Content-Encoding") == ""
}

// replay writes the recorded response to w, as the handler wrote it.
func (r *recorder) replay(w http.ResponseWriter, head bool) {
	h := w.Header()
	for k, v := range r.header {
		h[k] = v
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	w.WriteHeader(r.status)
	if !head {
		w.Write(r.body.Bytes())
	}
}

// Invalidates reports whether an event of topic may change what an anonymous reader is
// shown, so that Responses must drop its entries. Unknown topics (a newer process's) do:
// only the topics listed here are known to change nothing public.
func Invalidates(topic string) bool {
	switch topic {
	case events.TopicNotificationCreated, events.TopicConversationUpdated, events.TopicFollowRequested:
		return false // a person's own notifications, conversations and requests
	}
	return true
}
