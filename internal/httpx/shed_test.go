package httpx_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/httpx"
)

// TestShedRefusesWhenFull: with every slot taken and the queue full, a request is refused
// at once (the wait is an hour: had it queued, it would not come back); a queued request
// runs when a slot frees; one that waits longer than the wait is refused.
func TestShedRefusesWhenFull(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			started <- struct{}{}
			<-release
		}
		w.WriteHeader(http.StatusAccepted) // a request that ran; 200 means it never did
	})
	h := httpx.Shed(1, 1, time.Hour, func(r *http.Request) bool { return r.URL.Path == "/stream" })(handler)
	serve := func(ctx context.Context, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
		return rec
	}
	slowDone := make(chan int, 1)
	go func() { slowDone <- serve(context.Background(), "/slow").Code }()
	<-started

	// The queued request: tried again whenever it is refused because a probe below holds
	// the queue place at that moment.
	queued := make(chan int, 1)
	go func() {
		for {
			if rec := serve(context.Background(), "/queued"); rec.Code != http.StatusServiceUnavailable {
				queued <- rec.Code
				return
			}
		}
	}()
	// A probe gives up after 50 ms when it gets the queue place itself.
	probe := func(path string) *httptest.ResponseRecorder {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		return serve(ctx, path)
	}
	require.Eventually(t, func() bool {
		rec := probe("/other")
		return rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "3600"
	}, 10*time.Second, time.Millisecond, "with the slot and the queue full, a request is refused without waiting")
	require.Equal(t, http.StatusAccepted, probe("/stream").Code, "exempt requests are not counted")
	close(release)
	require.Equal(t, http.StatusAccepted, <-slowDone)
	require.Equal(t, http.StatusAccepted, <-queued, "the queued request ran once the slot was free")
	require.Equal(t, http.StatusAccepted, probe("/other").Code, "recovers when load drops")

	// A request that waits longer than the wait is refused.
	block := make(chan struct{})
	defer close(block)
	h = httpx.Shed(1, 5, 20*time.Millisecond, nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-block
		}
	}))
	go h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/hold", nil))
	require.Eventually(t, func() bool {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Code == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "1"
	}, 10*time.Second, time.Millisecond)
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
