package core

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Finish runs inside a worker's transaction just before it commits. Workers pass a function
// that marks their River job complete, so the job's effects and its completion commit
// together or not at all.
type Finish func(ctx context.Context, tx pgx.Tx) error

// ErrBadJob marks job arguments that can never succeed; workers cancel such jobs instead
// of retrying them.
var ErrBadJob = errors.New("bad job arguments")
