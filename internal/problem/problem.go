// Package problem is the one error map of the HTTP surfaces: Of turns an error from core
// (or from a limit, or a session store) into a Problem, a kind with its status code,
// field errors and Retry-After, so that the website, the API and the session error
// handler decide alike. Each surface renders a Problem its own way: the API as Mastodon's
// JSON error entity, the website as a page (or the form again, with 422).
//
// It sits between the surfaces and core: it imports core (which alone knows the database's
// errors, see core.IsUnavailable) and nothing above it, and core never imports it, so the
// arrows point one way. Status codes are HTTP's, which is why the map is not in core.
package problem

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/starling-social/starling/internal/core"
)

// Kind is what went wrong, as a client may be told.
type Kind int

const (
	// Internal is a failure on the server's side: the client sees nothing of it.
	Internal Kind = iota
	// NotFound is core.ErrNotFound.
	NotFound
	// Forbidden is core.ErrForbidden.
	Forbidden
	// Invalid is a *core.ValidationError: Fields says what is wrong with which field.
	Invalid
	// InvalidText is a value Postgres refused as not text, which a handler let through.
	InvalidText
	// TooMany is a *core.RateLimitError: RetryAfter says when to try again.
	TooMany
	// Unavailable means the database is briefly out of reach: RetryAfter says when to retry.
	Unavailable
	// Canceled means the client went away (context.Canceled): there is no one to answer.
	Canceled
	// TooLarge is core.ErrTooLarge: an upload over the limit (413).
	TooLarge
)

// unavailableRetry is the Retry-After, in seconds, of an Unavailable answer.
const unavailableRetry = 2

// Problem is a classified error.
type Problem struct {
	// Kind is what went wrong.
	Kind Kind
	// Status is the HTTP status code to answer with (0 for Canceled: nothing is written).
	Status int
	// Fields maps a field to a message fit to show next to it, for Invalid.
	Fields map[string]string
	// RetryAfter is the Retry-After header's value in seconds, for TooMany and
	// Unavailable; 0 means no header.
	RetryAfter int
	// What names what was limited, in the plural ("posts"), for TooMany; "" when the
	// limit is on requests as such.
	What string
	// Err is the error classified, for the log.
	Err error
}

// Of classifies err. Anything it does not know is Internal (500).
func Of(err error) Problem {
	var verr *core.ValidationError
	var rerr *core.RateLimitError
	p := Problem{Err: err}
	switch {
	case errors.Is(err, core.ErrNotFound):
		p.Kind, p.Status = NotFound, http.StatusNotFound
	case errors.Is(err, core.ErrForbidden):
		p.Kind, p.Status = Forbidden, http.StatusForbidden
	case errors.Is(err, core.ErrTooLarge):
		p.Kind, p.Status = TooLarge, http.StatusRequestEntityTooLarge
	case errors.As(err, &verr):
		p.Kind, p.Status, p.Fields = Invalid, http.StatusUnprocessableEntity, verr.Fields
	case errors.As(err, &rerr):
		p.Kind, p.Status, p.RetryAfter, p.What = TooMany, http.StatusTooManyRequests, retrySeconds(rerr.RetryAfter), rerr.What
	case errors.Is(err, context.Canceled):
		p.Kind = Canceled
	case core.IsInvalidText(err):
		p.Kind, p.Status = InvalidText, http.StatusBadRequest
	case core.IsUnavailable(err):
		p.Kind, p.Status, p.RetryAfter = Unavailable, http.StatusServiceUnavailable, unavailableRetry
	default:
		p.Kind, p.Status = Internal, http.StatusInternalServerError
	}
	return p
}

// TooManyUntil is the Problem of a limit that refused a request at now until reset.
func TooManyUntil(now, reset time.Time) Problem {
	return Of(&core.RateLimitError{RetryAfter: reset.Sub(now)})
}

// SetHeaders sets the headers p calls for (Retry-After) on h.
func (p Problem) SetHeaders(h http.Header) {
	if p.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
}

// retrySeconds rounds d up to whole seconds, at least 1, as Retry-After wants.
func retrySeconds(d time.Duration) int { return int(d.Seconds()) + 1 }
