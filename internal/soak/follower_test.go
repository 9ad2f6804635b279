package soak

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFollowerOrder: a stream's events must come in increasing cursor order; the last word
// of a cut-off stream ("resume", "reconnect") names the last event it sent, so the same
// cursor again is right there, and only an older one is out of order.
func TestFollowerOrder(t *testing.T) {
	f := &follower{seen: map[string]int{}}
	f.receive("10-5", "update", `{"id":"1"}`)
	f.receive("10-6", "delete", "2")
	f.receive("10-6", "resume", "{}")
	require.Zero(t, f.order, "a resume naming the last event is in order")
	require.Equal(t, "10-6", f.lastID)
	f.receive("10-7", "update", `{"id":"3"}`)
	f.receive("10-7", "update", `{"id":"3"}`)
	require.Equal(t, 1, f.order, "an event again is out of order")
	f.receive("10-5", "reconnect", "{}")
	require.Equal(t, 2, f.order, "a cut naming an older event is out of order")
	require.Equal(t, 2, f.seen["update:3"])
}
