package core

import (
	"fmt"
	"time"

	"github.com/starling-social/starling/internal/store"
)

// RateLimitError means an allowance (posts per account, for instance) is used up: the
// request may be made again after RetryAfter. The website and the API answer it with 429
// and a Retry-After header (see internal/problem).
type RateLimitError struct {
	// RetryAfter is how long until the allowance has room again.
	RetryAfter time.Duration
	// What names what was limited, in the plural ("posts"), for the message; "" for a
	// request as such.
	What string
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter)
}

// IsUnavailable reports whether err means the database is briefly out of reach (it is
// down, restarting, or out of connections), so that the request may succeed if retried.
// It is the one place outside core where that is decided, for the HTTP surfaces.
func IsUnavailable(err error) bool { return store.IsUnavailable(err) }

// IsInvalidText reports whether err is Postgres refusing a value that is not text (a NUL
// character, bytes that are not UTF-8): a request that should have been refused before it
// reached the database.
func IsInvalidText(err error) bool { return store.IsInvalidText(err) }
