package events_test

import (
	"testing"

	"github.com/starling-social/starling/internal/events"
)

// FuzzParseCursor: any string either fails or round-trips exactly, so a Last-Event-ID is
// never misread as another position.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"1-1", "960-10", "0-0", "-1-5", "18446744073709551615-9223372036854775807", "1-2-3", "007-1", "1-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := events.ParseCursor(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("%q parsed to %v, which prints as %q", s, c, c.String())
		}
		if c.Xid == 0 || c.ID <= 0 {
			t.Fatalf("%q gave an impossible cursor %v", s, c)
		}
	})
}
