package httpx

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
)

// Shed bounds how many requests run at once (limit) and how many may wait for one of them
// (queue), so that overload is answered with 503 and Retry-After instead of piling up
// behind a saturated database pool until every client times out. A request that finds
// the queue full is refused at once; one that waits longer than wait is refused then.
// Requests for which exempt returns true (long-lived streams) are not counted.
func Shed(limit, queue int, wait time.Duration, exempt func(*http.Request) bool) func(http.Handler) http.Handler {
	slots := make(chan struct{}, limit)
	var waiting atomic.Int64
	busy := func(w http.ResponseWriter) {
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(wait.Seconds()))))
		http.Error(w, "The server is busy; try again in a moment.", http.StatusServiceUnavailable)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if exempt != nil && exempt(r) {
				next.ServeHTTP(w, r)
				return
			}
			select {
			case slots <- struct{}{}:
			default:
				if waiting.Add(1) > int64(queue) {
					waiting.Add(-1)
					busy(w)
					return
				}
				t := time.NewTimer(wait)
				select {
				case slots <- struct{}{}:
				case <-t.C:
					waiting.Add(-1)
					busy(w)
					return
				case <-r.Context().Done():
					t.Stop()
					waiting.Add(-1)
					return
				}
				t.Stop()
				waiting.Add(-1)
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

// Stream marks h as a long-lived stream (Server-Sent Events, WebSocket) in a route table,
// so that the table's owner can tell a stream request from others before serving it (see
// StreamRoute): a stream holds no database connection, and so is exempt from Shed.
func Stream(h http.Handler) http.Handler { return streamHandler{h} }

// streamHandler is a handler marked by Stream.
type streamHandler struct{ http.Handler }

// StreamRoute reports whether r matches a route of router whose handler is marked by
// Stream. Streams are GETs (an event stream, a WebSocket upgrade): any other method is
// answered without matching the router, which every write would otherwise pay for.
func StreamRoute(router *mux.Router, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	var m mux.RouteMatch
	if !router.Match(r, &m) || m.MatchErr != nil || m.Route == nil {
		return false
	}
	_, ok := m.Route.GetHandler().(streamHandler)
	return ok
}
