package problem_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/problem"
)

func TestOf(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("somewhere: %w", err) }
	for _, c := range []struct {
		err    error
		kind   problem.Kind
		status int
		retry  int
	}{
		{wrap(core.ErrNotFound), problem.NotFound, http.StatusNotFound, 0},
		{wrap(core.ErrForbidden), problem.Forbidden, http.StatusForbidden, 0},
		{wrap(&core.ValidationError{Fields: map[string]string{"body": "empty"}}), problem.Invalid, http.StatusUnprocessableEntity, 0},
		{wrap(&core.RateLimitError{RetryAfter: 1500 * time.Millisecond, What: "posts"}), problem.TooMany, http.StatusTooManyRequests, 2},
		{wrap(context.Canceled), problem.Canceled, 0, 0},
		{wrap(&pgconn.PgError{Code: "22021"}), problem.InvalidText, http.StatusBadRequest, 0},
		{wrap(&pgconn.PgError{Code: "57P01"}), problem.Unavailable, http.StatusServiceUnavailable, 2},
		{errors.New("boom"), problem.Internal, http.StatusInternalServerError, 0},
	} {
		p := problem.Of(c.err)
		require.Equal(t, c.kind, p.Kind, "%v", c.err)
		require.Equal(t, c.status, p.Status, "%v", c.err)
		require.Equal(t, c.retry, p.RetryAfter, "%v", c.err)
	}
	p := problem.Of(&core.ValidationError{Fields: map[string]string{"body": "empty"}})
	require.Equal(t, map[string]string{"body": "empty"}, p.Fields)
	h := http.Header{}
	problem.TooManyUntil(time.Unix(100, 0), time.Unix(130, 0)).SetHeaders(h)
	require.Equal(t, "31", h.Get("Retry-After"), "as the two 429 answers said before")
}
