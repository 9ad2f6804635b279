package cache

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// page is a handler that counts its calls and answers body (status 200 unless code says
// otherwise), with whatever extra headers set adds.
type page struct {
	calls atomic.Int64
	body  atomic.Value // string
	code  int
	set   func(http.Header)
	delay time.Duration
}

func (p *page) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.calls.Add(1)
	time.Sleep(p.delay)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-ID", "filler")
	if p.set != nil {
		p.set(w.Header())
	}
	if p.code != 0 {
		w.WriteHeader(p.code)
	}
	io.WriteString(w, p.body.Load().(string))
}

func newPage(body string) *page {
	p := &page{}
	p.body.Store(body)
	return p
}

func all(*http.Request) bool { return true }

func get(t *testing.T, h http.Handler, path string, headers ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func read(t *testing.T, res *http.Response) string {
	t.Helper()
	var rd io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		require.NoError(t, err)
		rd = zr
	}
	b, err := io.ReadAll(rd)
	require.NoError(t, err)
	return string(b)
}

func TestResponsesKeepsAnonymousPagesUntilInvalidated(t *testing.T) {
	p := newPage(strings.Repeat("a", 2000))
	c := &Responses{Cacheable: all}
	h := c.Handler(p)

	first := get(t, h, "/timeline?limit=20")
	require.Equal(t, http.StatusOK, first.StatusCode)
	require.Equal(t, strings.Repeat("a", 2000), read(t, first))
	require.Equal(t, "filler", first.Header.Get("X-Request-ID"), "the request that filled the entry keeps its id")
	require.Equal(t, "no-cache", first.Header.Get("Cache-Control"))
	require.Contains(t, first.Header.Get("Vary"), "Cookie")
	etag := first.Header.Get("ETag")
	require.Regexp(t, `^"[0-9a-f]{24}"$`, etag)

	again := get(t, h, "/timeline?limit=20")
	require.Equal(t, strings.Repeat("a", 2000), read(t, again))
	require.Equal(t, etag, again.Header.Get("ETag"))
	require.Empty(t, again.Header.Get("X-Request-ID"), "the filler's request id is not replayed")
	require.EqualValues(t, 1, p.calls.Load(), "the second reader is answered from the cache")
	require.EqualValues(t, 1, c.Hits.Load())

	// Another query is another page.
	get(t, h, "/timeline?limit=5")
	require.EqualValues(t, 2, p.calls.Load())

	// Revalidation.
	notModified := get(t, h, "/timeline?limit=20", "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, notModified.StatusCode)
	require.Empty(t, read(t, notModified))
	require.Equal(t, etag, notModified.Header.Get("ETag"))
	require.Equal(t, http.StatusOK, get(t, h, "/timeline?limit=20", "If-None-Match", `"other"`).StatusCode)

	// Compression: a smaller body, its own tag, the same content.
	gz := get(t, h, "/timeline?limit=20", "Accept-Encoding", "br, gzip;q=0.8")
	require.Equal(t, "gzip", gz.Header.Get("Content-Encoding"))
	require.NotEqual(t, etag, gz.Header.Get("ETag"))
	require.Less(t, gz.ContentLength, int64(2000))
	require.Equal(t, strings.Repeat("a", 2000), read(t, gz))
	require.Equal(t, http.StatusNotModified, get(t, h, "/timeline?limit=20", "Accept-Encoding", "gzip",
		"If-None-Match", gz.Header.Get("ETag")).StatusCode)
	require.Empty(t, get(t, h, "/timeline?limit=20", "Accept-Encoding", "gzip;q=0").Header.Get("Content-Encoding"))

	// A change: the next reader is answered afresh.
	p.body.Store("changed")
	require.Equal(t, strings.Repeat("a", 2000), read(t, get(t, h, "/timeline?limit=20")))
	c.Invalidate()
	require.Equal(t, "changed", read(t, get(t, h, "/timeline?limit=20")))
	require.Zero(t, c.Len()-1)
}

func TestResponsesLeavesEveryoneElseAlone(t *testing.T) {
	p := newPage("x")
	c := &Responses{Cacheable: func(r *http.Request) bool { return r.URL.Path != "/private" }}
	h := c.Handler(p)
	for _, hs := range [][]string{
		{"Authorization", "Bearer abc"},
		{"Cookie", "session=abc"},
		{"Upgrade", "websocket"},
		{"Sec-WebSocket-Protocol", "token"},
	} {
		get(t, h, "/page", hs...)
		get(t, h, "/page", hs...)
	}
	get(t, h, "/page?access_token=abc")
	get(t, h, "/page?access_token=abc")
	get(t, h, "/private")
	get(t, h, "/private")
	require.EqualValues(t, 12, p.calls.Load(), "no credentialed or uncacheable request is answered from the cache")
	require.Zero(t, c.Len())

	r := httptest.NewRequest(http.MethodPost, "/page", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.EqualValues(t, 13, p.calls.Load())
}

func TestResponsesKeepsOnlyPlainSuccesses(t *testing.T) {
	for name, p := range map[string]*page{
		"401":        {code: http.StatusUnauthorized},
		"404":        {code: http.StatusNotFound},
		"set-cookie": {set: func(h http.Header) { h.Set("Set-Cookie", "a=b") }},
		"encoded":    {set: func(h http.Header) { h.Set("Content-Encoding", "br") }},
	} {
		t.Run(name, func(t *testing.T) {
			p.body.Store("body")
			c := &Responses{Cacheable: all}
			h := c.Handler(p)
			for range 3 {
				res := get(t, h, "/p")
				require.Equal(t, "body", read(t, res))
				if p.code != 0 {
					require.Equal(t, p.code, res.StatusCode)
				}
			}
			require.EqualValues(t, 3, p.calls.Load())
			require.Zero(t, c.Len())
		})
	}
	big := newPage(strings.Repeat("b", 2048))
	c := &Responses{Cacheable: all, MaxBody: 1024}
	get(t, c.Handler(big), "/p")
	require.Zero(t, c.Len(), "a body over MaxBody is not kept")
}

func TestResponsesExpireAfterTTL(t *testing.T) {
	p := newPage("one")
	c := &Responses{Cacheable: all, TTL: 50 * time.Millisecond}
	h := c.Handler(p)
	get(t, h, "/p")
	p.body.Store("two")
	require.Equal(t, "one", read(t, get(t, h, "/p")))
	time.Sleep(60 * time.Millisecond)
	require.Equal(t, "two", read(t, get(t, h, "/p")), "no entry outlives its TTL, event or not")
}

// A response computed from data read before a change, and finished after the change's
// event was read, must not be kept: the next reader would get the old page.
func TestResponsesDropsAnAnswerComputedAcrossAnInvalidation(t *testing.T) {
	var c *Responses
	p := &page{}
	p.body.Store("old")
	p.set = func(http.Header) {
		if p.calls.Load() == 1 {
			p.body.Store("new")
			c.Invalidate() // the change commits and its event is read while the page is computed
		}
	}
	c = &Responses{Cacheable: all}
	h := c.Handler(p)
	get(t, h, "/p")
	require.Zero(t, c.Len())
	require.Equal(t, "new", read(t, get(t, h, "/p")))
}

func TestResponsesComputesAPageOnceForConcurrentReaders(t *testing.T) {
	p := newPage("shared")
	p.delay = 50 * time.Millisecond
	c := &Responses{Cacheable: all}
	h := c.Handler(p)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.Equal(t, "shared", read(t, get(t, h, "/p")))
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, p.calls.Load())
}

func TestResponsesReleasesWaitersWhenTheHandlerPanics(t *testing.T) {
	var calls atomic.Int64
	release := make(chan struct{})
	c := &Responses{Cacheable: all}
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-release
			panic("boom")
		}
		io.WriteString(w, "fine")
	}))
	done := make(chan string)
	go func() {
		defer func() { recover(); done <- "leader" }()
		get(t, h, "/p")
	}()
	for c.inflightLen() == 0 {
		time.Sleep(time.Millisecond)
	}
	go func() { done <- read(t, get(t, h, "/p")) }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	got := []string{<-done, <-done}
	require.ElementsMatch(t, []string{"leader", "fine"}, got)
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip": true, "gzip;q=0": false, "gzip; q=0.000": false,
		"gzip;q=0.5": true, "br": false, "x-gzip": false,
	} {
		require.Equal(t, want, acceptsGzip(header), header)
	}
}

// inflightLen returns how many pages are being computed (for tests).
func (c *Responses) inflightLen() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inflight)
}
