package httpx

import (
	"sync"
	"time"
)

// Limiter counts requests per key (a token, an IP) in fixed windows. It lives in one
// process: with N processes behind a balancer, a client can make up to N times the limit.
type Limiter struct {
	// Limit is how many requests a key may make per Window.
	Limit  int
	Window time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	start time.Time
	n     int
}

// Allow counts a request for key. It returns whether it is allowed, how many remain in the
// window and when the window resets.
func (l *Limiter) Allow(key string, now time.Time) (ok bool, remaining int, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if now.After(l.sweep) { // forget finished windows now and then, so memory stays bounded
		for k, b := range l.buckets {
			if now.Sub(b.start) >= l.Window {
				delete(l.buckets, k)
			}
		}
		l.sweep = now.Add(l.Window)
	}
	b := l.buckets[key]
	if b == nil || now.Sub(b.start) >= l.Window {
		b = &bucket{start: now}
		l.buckets[key] = b
	}
	reset = b.start.Add(l.Window)
	if b.n >= l.Limit {
		return false, 0, reset
	}
	b.n++
	return true, l.Limit - b.n, reset
}
