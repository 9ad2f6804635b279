package live_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/devdb"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/migrate"
)

// TestStreamSurvivesPostgresRestart restarts the database server while posts are written
// and a resuming client follows the stream. The client must end with every post event
// exactly once, and the process must recover on its own.
func TestStreamSurvivesPostgresRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	parent := t.TempDir()
	require.NoError(t, os.Chmod(parent, 0o755)) // reachable by the postgres user when root
	dir := filepath.Join(parent, "pg")
	t.Cleanup(func() { devdb.Destroy(context.Background(), dir) })
	cluster, err := devdb.Start(ctx, devdb.Options{Dir: dir, Database: "starling", Fast: true})
	require.NoError(t, err)
	dsn := cluster.URL("starling")
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	require.NoError(t, migrate.Up(ctx, pool, io.Discard))
	pool.Close()

	n := newNode(t, dsn, live.Options{Poll: 200 * time.Millisecond})
	alice := n.user("alice")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	client := &sseClient{url: n.srv.URL, dropEvery: 700 * time.Millisecond} // resumes often
	go client.run(cctx)
	time.Sleep(200 * time.Millisecond)

	// Writer: posts before, during and after the restart; failed attempts are retried.
	var acked sync.Map
	var ackCount, failures atomic.Int64
	stopWriting := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for i := 0; ; i++ {
			select {
			case <-stopWriting:
				return
			default:
			}
			p, err := n.core.CreatePost(ctx, alice.ID, fmt.Sprintf("post %d", i))
			if err != nil {
				failures.Add(1)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			acked.Store(p.ID, true)
			ackCount.Add(1)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	time.Sleep(time.Second)
	before := ackCount.Load()
	require.NoError(t, devdb.Stop(ctx, dir))
	down := time.Now()
	time.Sleep(500 * time.Millisecond)
	_, err = devdb.Start(ctx, devdb.Options{Dir: dir, Database: "starling", Fast: true})
	require.NoError(t, err)
	t.Logf("postgres was down for %s; %d posts acknowledged before", time.Since(down).Round(time.Millisecond), before)
	// The listener reconnects by itself.
	deadline := time.After(30 * time.Second)
	for reconnected := false; !reconnected; {
		select {
		case up := <-n.up:
			reconnected = up
		case <-deadline:
			t.Fatal("the listener did not reconnect")
		}
	}
	time.Sleep(1500 * time.Millisecond)
	close(stopWriting)
	<-writerDone
	require.Greater(t, ackCount.Load(), before, "writes resumed after the restart")
	require.Positive(t, failures.Load(), "some writes failed while the server was down")

	// Ground truth: every post.created event in the log.
	pool, err = pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()
	rows, err := pool.Query(ctx, `SELECT (payload->>'post_id')::bigint FROM events WHERE topic = 'post.created' ORDER BY xid, id`)
	require.NoError(t, err)
	var want []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		want = append(want, id)
	}
	require.NoError(t, rows.Err())
	acked.Range(func(k, _ any) bool {
		require.Contains(t, want, k.(int64), "an acknowledged post has its event")
		return true
	})
	waitPosts(t, client, len(want), 30*time.Second)
	time.Sleep(300 * time.Millisecond)
	got := client.postIDs()
	require.Equal(t, want, got, "every event exactly once, in log order")
	client.mu.Lock()
	connections := len(client.status)
	client.mu.Unlock()
	t.Logf("client received %d posts over %d connections; %d writes failed during the restart",
		len(got), connections, failures.Load())
}
