package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/pgtest"
)

// appendPosts writes n public posts by the poster and their post.created events straight
// into the database, in transactions of 1,000, and returns the cursors of the first and
// the last event.
func appendPosts(t *testing.T, pool *pgxpool.Pool, n int) (first, last events.Cursor) {
	t.Helper()
	ctx := context.Background()
	for done := 0; done < n; done += 1000 {
		_, err := pool.Exec(ctx, `WITH p AS (
				INSERT INTO posts (author_id, body)
				SELECT $3, 'post ' || g FROM generate_series($1::int + 1, $1::int + least(1000, $2::int - $1::int)) AS g
				RETURNING id)
			INSERT INTO events (topic, payload)
			SELECT 'post.created', jsonb_build_object('post_id', id, 'author_id', $3::bigint, 'visibility', 'public')
			FROM p ORDER BY id`, done, n, posterID)
		require.NoError(t, err)
	}
	q := `SELECT xid::text::bigint, id FROM events WHERE topic = 'post.created'`
	require.NoError(t, pool.QueryRow(ctx, q+` ORDER BY xid, id LIMIT 1`).Scan(&first.Xid, &first.ID))
	require.NoError(t, pool.QueryRow(ctx, q+` ORDER BY xid DESC, id DESC LIMIT 1`).Scan(&last.Xid, &last.ID))
	return first, last
}

// waitHead waits until the hub has fanned out up to c.
func waitHead(t *testing.T, n *node, c events.Cursor) {
	t.Helper()
	require.Eventually(t, func() bool { return !n.hub.Head().Less(c) }, 30*time.Second, 10*time.Millisecond)
}

// TestResumeFarBehindIsPaged (issue 13, item 2): a client resuming 6,000 events behind gets
// every one of them, in order, while the hub holds at most one batch of its backlog at a
// time (before, it loaded the whole gap into memory before sending the first event).
func TestResumeFarBehindIsPaged(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	const total, batch = 6000, 100
	n := newNode(t, dsn, live.Options{Batch: batch, MaxBacklog: 2 * total, Poll: 50 * time.Millisecond})
	first, last := appendPosts(t, pool, total)
	waitHead(t, n, last)

	// The backlog comes one read of the log at a time, never more than a batch.
	var got []int64
	reads := 0
	for ds, err := range n.hub.Backlog(context.Background(), live.Filter{Public: true}, first, last) {
		require.NoError(t, err)
		require.LessOrEqual(t, len(ds), batch, "one read's deliveries at a time")
		reads++
		for _, d := range ds {
			got = append(got, d.PostID)
		}
	}
	require.Len(t, got, total-1)
	require.GreaterOrEqual(t, reads, (total-1)/batch)
	for i, id := range got {
		require.Equal(t, int64(i+2), id, "in log order, none twice")
	}

	// Over SSE: the resuming client receives the whole gap in order, then live events.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &sseClient{url: n.srv.URL, lastID: first.String()}
	go c.run(ctx)
	waitPosts(t, c, total-1, 60*time.Second)
	_, newest := appendPosts(t, pool, 1)
	waitHead(t, n, newest)
	waitPosts(t, c, total, 10*time.Second)
	ids := c.postIDs()
	require.Len(t, ids, total)
	for i := range total - 1 {
		require.Equal(t, int64(i+2), ids[i])
	}
	require.Equal(t, int64(total+1), ids[total-1], "the live event after the backlog")
	require.Empty(t, c.control, "no reset within MaxBacklog")
}

// TestResumeTooFarBehindGetsReset (issue 13, item 2): past Options.MaxBacklog events the
// client gets the documented reset instead of a replay, and then live events.
func TestResumeTooFarBehindGetsReset(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	n := newNode(t, dsn, live.Options{Batch: 100, MaxBacklog: 1000, Poll: 50 * time.Millisecond})
	first, last := appendPosts(t, pool, 5001)
	waitHead(t, n, last)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &sseClient{url: n.srv.URL, lastID: first.String()}
	go c.run(ctx)
	require.Eventually(t, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.control) > 0
	}, 10*time.Second, 10*time.Millisecond)
	c.mu.Lock()
	require.Equal(t, "reset", c.control[0])
	c.mu.Unlock()
	_, newest := appendPosts(t, pool, 1)
	waitHead(t, n, newest)
	waitPosts(t, c, 1, 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, []int64{5002}, c.postIDs(), "nothing of the gap (posts 2 to 5001) is replayed; live events follow")

	// Within the limit, the same client resumes normally.
	_, near := appendPosts(t, pool, 1)
	waitHead(t, n, near)
	c2 := &sseClient{url: n.srv.URL, lastID: newest.String()}
	go c2.run(ctx)
	waitPosts(t, c2, 1, 10*time.Second)
	require.Equal(t, []int64{5003}, c2.postIDs())
}
