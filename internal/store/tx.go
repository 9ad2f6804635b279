package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starling-social/starling/internal/tracing"
)

// Open connects a pool to dsn with at most maxConns connections and checks that the
// database answers.
func Open(ctx context.Context, dsn string, maxConns int) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.Tracer = tracing.PGX{} // spans only inside traced requests and jobs
	cfg.MaxConnIdleTime = 5 * time.Minute
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return pool, nil
}

// TxBeginner is what WithTx needs: a pool, a connection or an enclosing transaction (which
// then runs fn in a savepoint).
type TxBeginner interface {
	Begin(ctx context.Context) (pgx.Tx, error)
}

// WithTx runs fn in a transaction and commits when fn returns nil. Any error, or a panic,
// rolls the transaction back.
func WithTx(ctx context.Context, db TxBeginner, fn func(tx pgx.Tx, q *Queries) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := fn(tx, New(tx)); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// IsUnavailable reports whether err means the database could not be reached or is going
// away (shutting down, restarting, out of connections) rather than that the request was
// wrong: an error worth answering with 503 and retrying later.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),  // insufficient resources
			strings.HasPrefix(pgErr.Code, "57P"): // shutting down, cannot connect now
			return true
		}
		return false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		strings.Contains(err.Error(), "conn closed")
}

// IsInvalidText reports whether err is Postgres refusing a text value that is not valid
// UTF-8 or holds a NUL character (SQLSTATE 22021, or 22P05 for one it cannot convert):
// the request's fault, not the server's, though every handler should refuse such text
// before it gets here.
func IsInvalidText(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "22021" || pgErr.Code == "22P05")
}

// IsUniqueViolation reports whether err is a unique-constraint violation (SQLSTATE 23505),
// and on which constraint or index.
func IsUniqueViolation(err error) (constraint string, ok bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	return "", false
}

// Conn is what the domain layer runs queries on: a pool in production, a transaction in
// tests that roll back. Both *pgxpool.Pool and pgx.Tx satisfy it.
type Conn interface {
	DBTX
	TxBeginner
}
