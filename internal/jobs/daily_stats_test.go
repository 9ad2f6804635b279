package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/mail"
)

func TestDailyStatsAcrossThreeDays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(t.TempDir()), BaseURL: "http://example.test"}, 0)
	ctx := context.Background()
	e.start()
	// Days in UTC, counted back from the last finished day.
	base := time.Now().UTC().Add(-core.DailyStatsSettle).Truncate(24 * time.Hour)
	d1, d2, d3 := base.AddDate(0, 0, -3), base.AddDate(0, 0, -2), base.AddDate(0, 0, -1)

	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	e.user("dave") // joins today: in no finished day
	post := func(u core.User, body string, day time.Time) {
		p, err := e.core.CreatePost(ctx, u.ID, body)
		require.NoError(t, err)
		_, err = e.pool.Exec(ctx, `UPDATE posts SET created_at = $2 WHERE id = $1`, p.ID, day.Add(9*time.Hour))
		require.NoError(t, err)
	}
	post(alice, "hi @bob", d1)
	post(alice, "plain", d1)
	post(bob, "@alice and @carol", d2)
	post(carol, "x", d2)
	post(alice, "y", d2)
	post(alice, "@bob again", d3)
	e.waitIdle(20 * time.Second) // mentions resolved, emails sent
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE users SET created_at = $1 WHERE username IN ('alice', 'bob')`, []any{d1.Add(time.Hour)}},
		{`UPDATE users SET created_at = $1 WHERE username = 'carol'`, []any{d2.Add(24*time.Hour - time.Minute)}},
		{`UPDATE email_deliveries d SET sent_at = p.created_at + interval '1 minute'
		  FROM notifications n JOIN posts p ON p.id = n.post_id WHERE n.id = d.notification_id`, nil},
	} {
		_, err := e.pool.Exec(ctx, q.sql, q.args...)
		require.NoError(t, err)
	}
	require.Equal(t, 4, e.count(`SELECT count(*) FROM email_deliveries`))

	// Run the periodic job through River, twice.
	runDaily := func() {
		_, err := e.pool.Exec(ctx, `DELETE FROM river_job WHERE kind = 'daily_stats'`) // lift the per-period uniqueness
		require.NoError(t, err)
		res, err := e.runner.Client.Insert(ctx, jobargs.DailyStats{}, nil)
		require.NoError(t, err)
		require.False(t, res.UniqueSkippedAsDuplicate)
		e.waitIdle(20 * time.Second)
		require.Equal(t, "completed", jobState(e, res.Job.ID))
	}
	runDaily()
	rows, err := e.core.RecentDailyStats(ctx, time.Now(), 30)
	require.NoError(t, err)
	type fig struct{ posts, authors, users, mentions, emailed int64 }
	got := map[string]fig{}
	computed := map[string]time.Time{}
	for _, r := range rows {
		got[r.Day.Format("2006-01-02")] = fig{r.Posts, r.ActiveAuthors, r.NewUsers, r.Mentions, r.NotificationsEmailed}
		computed[r.Day.Format("2006-01-02")] = r.ComputedAt
	}
	want := map[string]fig{
		d1.Format("2006-01-02"): {posts: 2, authors: 1, users: 2, mentions: 1, emailed: 1},
		d2.Format("2006-01-02"): {posts: 3, authors: 3, users: 1, mentions: 2, emailed: 2},
		d3.Format("2006-01-02"): {posts: 1, authors: 1, users: 0, mentions: 1, emailed: 1},
	}
	require.Equal(t, want, got)

	// Again: nothing changes, nothing is recomputed.
	runDaily()
	added, err := e.core.ComputeDailyStats(ctx, time.Now(), func(context.Context, pgxTx) error { return nil })
	require.NoError(t, err)
	require.Zero(t, added)
	rows, err = e.core.RecentDailyStats(ctx, time.Now(), 30)
	require.NoError(t, err)
	require.Len(t, rows, 3)
	for _, r := range rows {
		require.Equal(t, computed[r.Day.Format("2006-01-02")], r.ComputedAt, "day recomputed")
	}

	// A day missed (say, the workers were down) is filled in by the next run.
	_, err = e.pool.Exec(ctx, `DELETE FROM daily_stats WHERE day = $1`, d2)
	require.NoError(t, err)
	runDaily()
	require.Equal(t, 1, e.count(`SELECT count(*) FROM daily_stats WHERE day = $1 AND posts = 3 AND active_authors = 3`, d2))
}

func TestOldEventsArePruned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(t.TempDir()), EventRetention: 48 * time.Hour}, 0)
	ctx := context.Background()
	alice := e.user("alice")
	for range 5 {
		_, err := e.core.CreatePost(ctx, alice.ID, "hello")
		require.NoError(t, err)
	}
	_, err := e.pool.Exec(ctx, `UPDATE events SET created_at = now() - interval '3 days' WHERE id IN (SELECT id FROM events ORDER BY id LIMIT 4)`)
	require.NoError(t, err)
	// Events the consumers have yet to apply are kept, however old.
	n, err := e.core.PruneEvents(ctx, time.Now().Add(-48*time.Hour), 1000)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is pruned before the consumers applied it")
	e.start()
	e.waitIdle(20 * time.Second)
	// The periodic prune job ran at start, most likely before the consumers were done;
	// the next run (hourly) prunes what they have applied since. Run it now.
	_, err = e.core.PruneEvents(ctx, time.Now().Add(-48*time.Hour), 1000)
	require.NoError(t, err)
	require.Equal(t, 2, e.count(`SELECT count(*) FROM events`), "the two newest events stay")
	require.Zero(t, e.count(`SELECT count(*) FROM events WHERE created_at < now() - interval '2 days'`))
}
