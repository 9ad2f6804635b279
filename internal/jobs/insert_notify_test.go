package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/store"
)

// TestInsertNotifyEvery: an insert-only client sends River's insert NOTIFY at most once
// per queue per InsertNotifyEvery, however often it inserts (it used to notify every
// 100 ms, River's default, whatever the setting).
func TestInsertNotifyEvery(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := New(pool, Config{InsertNotifyEvery: 2 * time.Second})
	require.NoError(t, err)

	listen, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer listen.Close(context.Background())
	_, err = listen.Exec(ctx, `LISTEN "public.river_insert"`) // River qualifies the channel with the schema
	require.NoError(t, err)

	// One insert every 20 ms for a second: 50 transactions, each of which may notify.
	for i := range 50 {
		require.NoError(t, store.WithTx(ctx, pool, func(tx pgx.Tx, _ *store.Queries) error {
			_, err := r.Client.InsertTx(ctx, tx, jobargs.VerifyEmail{UserID: int64(i + 1)}, &river.InsertOpts{})
			return err
		}))
		time.Sleep(20 * time.Millisecond)
	}
	notices := 0
	for {
		wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		_, err := listen.WaitForNotification(wctx)
		wcancel()
		if err != nil {
			break
		}
		notices++
	}
	t.Logf("%d insert NOTIFYs for 50 inserts over ~1 s", notices)
	require.GreaterOrEqual(t, notices, 1, "River still wakes workers on the first insert")
	require.LessOrEqual(t, notices, 1, "at most one per 2 s window")
}
