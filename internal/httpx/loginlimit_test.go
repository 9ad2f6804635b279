package httpx_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/httpx"
)

// TestLoginLimitsBackOffPerAccountAndAddress: an account gets five free attempts from an
// address, then waits of 30 s doubling to 15 minutes; other addresses are not affected,
// so nobody can lock a person out; a success starts over (issue 13, item 10).
func TestLoginLimitsBackOffPerAccountAndAddress(t *testing.T) {
	l := httpx.NewLoginLimits()
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const attacker, owner = "203.0.113.1", "198.51.100.2"
	for i := range 5 {
		ok, _ := l.Allow(attacker, "account:1", now)
		require.True(t, ok, "free attempt %d", i)
	}
	// Backoff from the attacker's address: 30 s, then 1, 2, 4, 8, 15, 15 minutes.
	for _, wait := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		ok, retry := l.Allow(attacker, "account:1", now)
		require.False(t, ok)
		require.Equal(t, now.Add(wait), retry)
		ok, _ = l.Allow(attacker, "account:1", now.Add(wait-time.Second))
		require.False(t, ok, "still waiting")
		now = now.Add(wait)
		ok, _ = l.Allow(attacker, "account:1", now)
		require.True(t, ok, "after %s", wait)
	}
	// The owner, elsewhere, logs in at once; another account from the attacker's address too.
	ok, _ := l.Allow(owner, "account:1", now)
	require.True(t, ok, "not locked out by someone else's guesses")
	ok, _ = l.Allow(attacker, "account:2", now)
	require.True(t, ok)

	// A success clears the backoff of that account and address.
	l.Succeeded(attacker, "account:1")
	for range 5 {
		ok, _ := l.Allow(attacker, "account:1", now)
		require.True(t, ok)
	}
	ok, _ = l.Allow(attacker, "account:1", now)
	require.False(t, ok)
	// An hour without attempts forgets it.
	now = now.Add(time.Hour)
	ok, _ = l.Allow(attacker, "account:1", now)
	require.True(t, ok)

	// The address allowance still bounds every account together: 30 per 5 minutes.
	l = httpx.NewLoginLimits()
	for i := range 30 {
		ok, _ := l.Allow(attacker, "name:"+string(rune('a'+i%26))+string(rune('a'+i/26)), now)
		require.True(t, ok, i)
	}
	ok, retry := l.Allow(attacker, "name:zz", now)
	require.False(t, ok)
	require.Equal(t, now.Add(5*time.Minute), retry)
}
