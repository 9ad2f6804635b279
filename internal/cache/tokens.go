package cache

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Tokens caches what access tokens stand for (the API's caller: the grant and its user),
// keyed by the token's hash, so that a client's burst of requests costs one lookup. An
// entry is dropped when the event log says its token was revoked (Revoke) or its user
// changed (ForgetUser), and lives at most TTL however the log is read: a revoked token
// fails on every process within that bound, and within milliseconds when the hub reads
// the revocation's event.
type Tokens[V any] struct {
	// TTL bounds an entry's life. Defaults to DefaultTTL.
	TTL time.Duration
	// MaxEntries bounds the number of entries; when full, an arbitrary one is dropped.
	// Defaults to 10,000.
	MaxEntries int

	mu      sync.Mutex
	gen     uint64
	entries map[string]tokenEntry[V]

	// Hits and Misses count Get calls that found a live entry and that did not.
	Hits, Misses atomic.Int64
}

type tokenEntry[V any] struct {
	v               V
	tokenID, userID int64
	at              time.Time
}

// Get returns the value kept for key, if it is still live.
func (t *Tokens[V]) Get(key string) (V, bool) {
	t.mu.Lock()
	e, ok := t.entries[key]
	if ok && time.Since(e.at) >= t.ttl() {
		delete(t.entries, key)
		ok = false
	}
	t.mu.Unlock()
	if !ok {
		t.Misses.Add(1)
		var zero V
		return zero, false
	}
	t.Hits.Add(1)
	return e.v, true
}

// Ticket is taken before a token is looked up in the database and given to Put: it
// keeps nothing when an invalidation came between, and the entry's age counts from the
// ticket, so that an entry read before a revocation never lives past it plus TTL.
type Ticket struct {
	gen uint64
	at  time.Time
}

// Ticket returns a ticket for a lookup starting now.
func (t *Tokens[V]) Ticket() Ticket {
	t.mu.Lock()
	defer t.mu.Unlock()
	return Ticket{gen: t.gen, at: time.Now()}
}

// Put keeps v for key, the hash of token tokenID of user userID (0 for an app's token),
// unless the cache was invalidated since ticket was taken.
func (t *Tokens[V]) Put(ticket Ticket, key string, tokenID, userID int64, v V) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ticket.gen != t.gen {
		return
	}
	if t.entries == nil {
		t.entries = map[string]tokenEntry[V]{}
	}
	if len(t.entries) >= t.maxEntries() {
		for k := range t.entries {
			delete(t.entries, k)
			break
		}
	}
	t.entries[key] = tokenEntry[V]{v: v, tokenID: tokenID, userID: userID, at: ticket.at}
}

// Revoke drops the entries of tokens ids.
func (t *Tokens[V]) Revoke(ids []int64) {
	t.drop(func(e tokenEntry[V]) bool { return slices.Contains(ids, e.tokenID) })
}

// ForgetUser drops the entries of userID's tokens (their user changed).
func (t *Tokens[V]) ForgetUser(userID int64) {
	t.drop(func(e tokenEntry[V]) bool { return e.userID == userID })
}

func (t *Tokens[V]) drop(match func(tokenEntry[V]) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	for k, e := range t.entries {
		if match(e) {
			delete(t.entries, k)
		}
	}
}

// Clear drops every entry.
func (t *Tokens[V]) Clear() { t.drop(func(tokenEntry[V]) bool { return true }) }

// Len returns the number of entries.
func (t *Tokens[V]) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

func (t *Tokens[V]) ttl() time.Duration {
	if t.TTL > 0 {
		return t.TTL
	}
	return DefaultTTL
}

func (t *Tokens[V]) maxEntries() int {
	if t.MaxEntries > 0 {
		return t.MaxEntries
	}
	return 10000
}
