package httpx

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Shed bounds how many requests run at once. A request that cannot start within wait gets
// 503 with Retry-After at once, instead of queueing behind a saturated database pool until
// every client times out. Requests for which exempt returns true (long-lived streams) are
// not counted.
func Shed(limit int, wait time.Duration, exempt func(*http.Request) bool) func(http.Handler) http.Handler {
	slots := make(chan struct{}, limit)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if exempt != nil && exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			t := time.NewTimer(wait)
			defer t.Stop()
			select {
			case slots <- struct{}{}:
			case <-t.C:
				w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()))))
				http.Error(w, "The server is busy; try again in a moment.", http.StatusServiceUnavailable)
				return
			case <-r.Context().Done():
				return
			}
			defer func() { <-slots }()
			next.ServeHTTP(w, r)
		})
	}
}

// Caps counts concurrent long-lived connections per key (a user, an address) and refuses
// more than Limit at once.
type Caps struct {
	// Limit is the most connections one key may hold.
	Limit int
	mu    sync.Mutex
	n     map[string]int
}

// Acquire takes a slot for each key, or none when any key is at its limit. It returns the
// release function and whether the slots were taken.
func (c *Caps) Acquire(keys ...string) (func(), bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	for _, k := range keys {
		if c.n[k] >= c.Limit {
			return nil, false
		}
	}
	for _, k := range keys {
		c.n[k]++
	}
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, k := range keys {
			if c.n[k]--; c.n[k] <= 0 {
				delete(c.n, k)
			}
		}
	}, true
}
