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
	b := l.bucketLocked(key, now)
	reset = b.start.Add(l.Window)
	if b.n >= l.Limit {
		return false, 0, reset
	}
	b.n++
	return true, l.Limit - b.n, reset
}

// Check reports whether key may still do what the limiter counts, without counting
// anything, and when its window resets: for limits on what succeeds (see Add), checked
// before the attempt.
func (l *Limiter) Check(key string, now time.Time) (ok bool, reset time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucketLocked(key, now)
	return b.n < l.Limit, b.start.Add(l.Window)
}

// Add counts one for key, as Allow does, whatever the count: the attempt Check let through
// succeeded.
func (l *Limiter) Add(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucketLocked(key, now).n++
}

// bucketLocked returns key's bucket for the window now is in, forgetting finished windows
// now and then so that memory stays bounded.
func (l *Limiter) bucketLocked(key string, now time.Time) *bucket {
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if now.After(l.sweep) {
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
	return b
}
