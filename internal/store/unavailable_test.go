package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/store"
)

func TestIsUnavailable(t *testing.T) {
	// A server that is not there: a real connection error from pgx.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := pgx.Connect(ctx, "postgres://postgres@/x?host="+t.TempDir()+"&port=5432&connect_timeout=2")
	require.Error(t, err)
	require.True(t, store.IsUnavailable(err), "%v", err)
	require.True(t, store.IsUnavailable(fmt.Errorf("loading: %w", err)), "wrapped")

	for code, want := range map[string]bool{
		"57P01": true,  // admin_shutdown: a fast shutdown under way
		"57P02": true,  // crash_shutdown
		"57P03": true,  // cannot_connect_now: starting up or recovering
		"53300": true,  // too_many_connections
		"08006": true,  // connection_failure
		"23505": false, // unique_violation: the request's doing
		"22P02": false, // invalid_text_representation
		"42P01": false, // undefined_table: a bug, not an outage
	} {
		err := fmt.Errorf("query: %w", &pgconn.PgError{Code: code})
		require.Equal(t, want, store.IsUnavailable(err), code)
	}
	require.False(t, store.IsUnavailable(nil))
	require.False(t, store.IsUnavailable(pgx.ErrNoRows))
	require.False(t, store.IsUnavailable(errors.New("template: no such field")))
}
