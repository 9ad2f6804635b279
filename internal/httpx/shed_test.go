package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/httpx"
)

func TestShedRefusesQuicklyWhenFull(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	h := httpx.Shed(2, 200*time.Millisecond, func(r *http.Request) bool { return r.URL.Path == "/stream" })(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				started <- struct{}{}
				<-release
			}
			w.WriteHeader(http.StatusOK)
		}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/slow", nil))
		}()
	}
	<-started
	<-started
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/other", nil))
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Less(t, time.Since(start), 2*time.Second, "refused after the wait, not queued")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/stream", nil))
	require.Equal(t, http.StatusOK, rec.Code, "exempt requests are not counted")
	close(release)
	wg.Wait()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/other", nil))
	require.Equal(t, http.StatusOK, rec.Code, "recovers when load drops")
}

func TestCaps(t *testing.T) {
	c := &httpx.Caps{Limit: 2}
	r1, ok := c.Acquire("a", "x")
	require.True(t, ok)
	_, ok = c.Acquire("a", "y")
	require.True(t, ok)
	_, ok = c.Acquire("a", "z")
	require.False(t, ok, "a is full")
	_, ok = c.Acquire("b", "x")
	require.True(t, ok)
	_, ok = c.Acquire("c", "x")
	require.False(t, ok, "x is full; nothing taken for c")
	r1()
	_, ok = c.Acquire("c", "x")
	require.True(t, ok)
}
