package jobs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/pgtest"
)

// env is a database with a job runner and the domain service on it.
type env struct {
	t      *testing.T
	pool   *pgxpool.Pool
	dsn    string
	runner *Runner
	core   *core.Service
}

func newEnv(t *testing.T, cfg Config, emailDelay time.Duration) *env {
	t.Helper()
	pool, dsn := pgtest.NewDB(t)
	if cfg.Log == nil {
		cfg.Log = logging.New(os.Stderr, "text", "warn")
	}
	if cfg.Work && cfg.MailFrom == "" {
		cfg.MailFrom = "Starling <starling@example.test>"
	}
	r, err := New(pool, cfg)
	require.NoError(t, err)
	svc := core.New(pool, core.Options{Jobs: r.Client, Password: password.Params{MemoryKiB: 1024, Iterations: 1},
		SignupsOpen: true, MentionEmailDelay: emailDelay, Log: cfg.Log})
	r.Bind(svc)
	return &env{t: t, pool: pool, dsn: dsn, runner: r, core: svc}
}

func (e *env) start() {
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(e.t, e.runner.Start(ctx))
	e.t.Cleanup(func() {
		stopCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		e.runner.Stop(stopCtx)
		cancel()
	})
}

// user creates an account as `starling user create` does: its address is verified.
func (e *env) user(name string) core.User {
	e.t.Helper()
	u, err := e.core.CreateUser(context.Background(), core.SignUpInput{Username: name, Email: name + "@example.com", Password: "correct horse battery"})
	require.NoError(e.t, err)
	return u
}

// signup creates an account as the signup form does: its address is unverified, and a
// verify_email job is enqueued.
func (e *env) signup(name string) core.User {
	e.t.Helper()
	u, err := e.core.SignUp(context.Background(), core.SignUpInput{Username: name, Email: name + "@example.com", Password: "correct horse battery"})
	require.NoError(e.t, err)
	return u
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// pending describes what is left to do: consumers behind the log, and jobs other than
// consumer runs (whose work the consumers' positions track) not finished. "" when none.
func (e *env) pending() string {
	e.t.Helper()
	lags, err := e.core.ConsumerLags(context.Background())
	require.NoError(e.t, err)
	var behind []string
	for _, l := range lags {
		if l.Behind > 0 {
			behind = append(behind, fmt.Sprintf("%s by %d", l.Name, l.Behind))
		}
	}
	var jobs string
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(queue || '.' || state::text || '=' || n, ' '), '') FROM (
		SELECT queue, state, count(*) n FROM river_job
		WHERE state NOT IN ('completed', 'cancelled', 'discarded') AND kind <> 'consume' GROUP BY 1, 2) s`).Scan(&jobs))
	if len(behind) > 0 {
		jobs = strings.TrimSpace(fmt.Sprintf("consumers behind: %v %s", behind, jobs))
	}
	return jobs
}

// waitIdle waits until every consumer has caught up with the log and no other job is
// waiting, scheduled or running.
func (e *env) waitIdle(timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p := e.pending()
		if p == "" {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("still to do after %s: %s\n%s", timeout, p, e.stuck())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// stuck describes what running jobs and busy database sessions are doing, for a test
// that waited too long.
func (e *env) stuck() string {
	var b strings.Builder
	ctx := context.Background()
	rows, err := e.pool.Query(ctx, `SELECT kind || ' attempt ' || attempt || ' running for ' || (now() - attempted_at)::text
		FROM river_job WHERE state = 'running' ORDER BY id LIMIT 5`)
	if err == nil {
		for rows.Next() {
			var line string
			if rows.Scan(&line) == nil {
				fmt.Fprintf(&b, "job: %s\n", line)
			}
		}
		rows.Close()
	}
	rows, err = e.pool.Query(ctx, `SELECT coalesce(state, '') || ' ' || coalesce(wait_event_type, '') || '/' || coalesce(wait_event, '') || ': ' || left(query, 100)
		FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid() LIMIT 10`)
	if err == nil {
		for rows.Next() {
			var line string
			if rows.Scan(&line) == nil {
				fmt.Fprintf(&b, "session: %s\n", line)
			}
		}
		rows.Close()
	}
	return b.String()
}

// rerun puts every finished job of the given kinds back in the queue, as if River had
// rescued an attempt that had in fact already applied its effects, and waits until they
// have all run again. It returns how many jobs were rerun.
func (e *env) rerun(kinds ...string) int {
	e.t.Helper()
	tag, err := e.pool.Exec(context.Background(), `
		UPDATE river_job SET state = 'available', scheduled_at = now(), finalized_at = NULL
		WHERE kind = ANY($1) AND state = 'completed'`, kinds)
	require.NoError(e.t, err)
	e.waitIdle(20 * time.Second)
	return int(tag.RowsAffected())
}

// TestEffectsAreAppliedOnce: a post's effects are applied once however many runs of its
// consumers race (eight at a time here, from several goroutines, besides the workers'
// own), however often a finished run or email job is run again (what happens when River
// rescues a job that had in fact finished), and a deletion reverses the counters once.
func TestEffectsAreAppliedOnce(t *testing.T) {
	t.Parallel()
	mailDir := t.TempDir()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(mailDir), MailFrom: "s@example.test", BaseURL: "http://example.test"}, 0)
	ctx := context.Background()
	alice, bob := e.user("alice"), e.user("bob")
	e.start()
	post, err := e.core.CreatePost(ctx, alice.ID, "hi @bob and @Bob and @alice and @nobody")
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, name := range core.ConsumerNames() {
				_, err := e.core.ConsumeBatch(ctx, name, 1)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	e.waitIdle(20 * time.Second)

	check := func() {
		t.Helper()
		require.Equal(t, 1, e.count(`SELECT count(*) FROM mentions WHERE post_id = $1`, post.ID))
		require.Equal(t, 1, e.count(`SELECT count(*) FROM notifications WHERE post_id = $1 AND recipient_id = $2`, post.ID, bob.ID))
		require.Equal(t, 1, e.count(`SELECT count(*) FROM events WHERE topic = 'notification.created'`))
		require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE kind = 'mention_email'`), "one email job per notification")
		require.Equal(t, 1, e.count(`SELECT count(*) FROM email_deliveries`))
		files, err := filepath.Glob(filepath.Join(mailDir, "*.eml"))
		require.NoError(t, err)
		require.Len(t, files, 1)
		a, err := e.core.CountersOf(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, core.Counters{Posts: 1}, a)
		b, err := e.core.CountersOf(ctx, bob.ID)
		require.NoError(t, err)
		require.Equal(t, core.Counters{MentionsReceived: 1}, b)
	}
	check()
	require.Positive(t, e.rerun("consume", "mention_email"))
	check()

	// Deleting the post reverses both counters, once, however often the runs go again.
	require.NoError(t, e.core.DeletePost(ctx, alice, post.ID))
	e.waitIdle(20 * time.Second)
	e.rerun("consume")
	a, _ := e.core.CountersOf(ctx, alice.ID)
	b, _ := e.core.CountersOf(ctx, bob.ID)
	require.Equal(t, core.Counters{}, a)
	require.Equal(t, core.Counters{}, b)
}

// TestBadArgsAreCancelledNotRetried: a job whose arguments can never work ends at once.
func TestBadArgsAreCancelledNotRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(t.TempDir()), RetryBase: 10 * time.Millisecond}, 0)
	ctx := context.Background()
	_, err := e.runner.Client.Insert(ctx, jobargs.Consume{Consumer: "frobnicate"}, nil)
	require.NoError(t, err)
	_, err = e.runner.Client.Insert(ctx, jobargs.MentionEmail{NotificationID: -5}, nil)
	require.NoError(t, err)
	_, err = e.runner.Client.Insert(ctx, jobargs.MentionEmail{NotificationID: 999999}, nil) // no such notification: nothing to do
	require.NoError(t, err)
	e.start()
	e.waitIdle(20 * time.Second)
	require.Eventually(t, func() bool {
		return e.count(`SELECT count(*) FROM river_job WHERE kind = 'consume' AND state <> 'available' AND state <> 'running'`) > 0
	}, 20*time.Second, 20*time.Millisecond)
	require.Equal(t, 2, e.count(`SELECT count(*) FROM river_job WHERE state = 'cancelled' AND attempt = 1`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE state = 'completed' AND kind = 'mention_email'`))
}

func jobState(e *env, id int64) string {
	e.t.Helper()
	var s string
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&s))
	return s
}

// TestInteractionEffectsAreAppliedOnce: favourites (given, taken back, given again),
// boosts, follows, replies and direct posts, with runs of every consumer racing each
// other, make exactly one notification per favourite, boost and follow that stands, exact
// post counters and one conversation per participant — and running every consumer job
// again changes nothing.
func TestInteractionEffectsAreAppliedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(t.TempDir())}, 0)
	ctx := context.Background()
	alice, bob, carol := e.user("alice"), e.user("bob"), e.user("carol")
	e.start()
	post, err := e.core.CreatePost(ctx, alice.ID, "a post to like")
	require.NoError(t, err)
	_, err = e.core.Favourite(ctx, bob, post.ID)
	require.NoError(t, err)
	for range 2 { // carol changes her mind, and back
		_, err = e.core.Favourite(ctx, carol, post.ID)
		require.NoError(t, err)
		_, err = e.core.Unfavourite(ctx, carol, post.ID)
		require.NoError(t, err)
	}
	_, err = e.core.Favourite(ctx, carol, post.ID)
	require.NoError(t, err)
	_, err = e.core.Reblog(ctx, bob, post.ID, "", 0)
	require.NoError(t, err)
	_, err = e.core.Follow(ctx, bob.ID, "alice")
	require.NoError(t, err)
	_, _, err = e.core.Publish(ctx, bob, core.NewPost{Body: "a reply", InReplyTo: post.ID})
	require.NoError(t, err)
	_, _, err = e.core.Publish(ctx, alice, core.NewPost{Body: "psst @bob", Visibility: core.VisibilityDirect})
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				for _, name := range core.ConsumerNames() {
					_, err := e.core.ConsumeBatch(ctx, name, 2)
					assert.NoError(t, err)
				}
			}
		}()
	}
	wg.Wait()
	e.waitIdle(20 * time.Second)

	check := func() {
		t.Helper()
		require.Equal(t, 2, e.count(`SELECT count(*) FROM notifications WHERE kind = 'favourite' AND recipient_id = $1`, alice.ID))
		require.Equal(t, 1, e.count(`SELECT count(*) FROM notifications WHERE kind = 'reblog' AND recipient_id = $1`, alice.ID))
		require.Equal(t, 1, e.count(`SELECT count(*) FROM notifications WHERE kind = 'follow' AND recipient_id = $1`, alice.ID))
		require.Equal(t, 1, e.count(`SELECT count(*) FROM notifications WHERE kind = 'mention' AND recipient_id = $1`, bob.ID))
		for kind, want := range map[string]int{"reblog": 1, "follow": 1, "mention": 1} {
			require.Equal(t, want, e.count(`SELECT count(*) FROM events WHERE topic = 'notification.created' AND payload->>'kind' = $1`, kind), kind)
		}
		// Carol's first two favourites may have been notified before she took them back.
		favEvents := e.count(`SELECT count(*) FROM events WHERE topic = 'notification.created' AND payload->>'kind' = 'favourite'`)
		require.True(t, favEvents >= 2 && favEvents <= 4, "%d favourite notification events", favEvents)
		p, err := e.core.PostFor(ctx, alice.ID, post.ID)
		require.NoError(t, err)
		require.Equal(t, core.PostCounts{Replies: 1, Favourites: 2, Reblogs: 1}, p.Counts)
		require.Equal(t, 2, e.count(`SELECT count(*) FROM conversations`), "alice's and bob's")
		require.Equal(t, 2, e.count(`SELECT count(*) FROM events WHERE topic = 'conversation.updated'`))
		a, err := e.core.CountersOf(ctx, alice.ID)
		require.NoError(t, err)
		require.Equal(t, int64(1), a.Posts, "a direct post is not counted")
		b, err := e.core.CountersOf(ctx, bob.ID)
		require.NoError(t, err)
		require.Equal(t, int64(2), b.Posts, "the boost and the reply")
	}
	check()
	e.rerun("consume")
	for _, name := range core.ConsumerNames() {
		b, err := e.core.ConsumeBatch(ctx, name, 100)
		require.NoError(t, err)
		require.Zero(t, b.Events, "%s has nothing left to apply", name)
	}
	e.waitIdle(20 * time.Second)
	check()
}

// TestSearchEffectsAreAppliedOnce: the search consumer, with runs racing each other (two
// posts' uses of one tag by one account in one batch among them) and every run done again, indexes each live post once, tags exactly the listed posts with
// their current tags, and counts each listed post's tags once on its day.
func TestSearchEffectsAreAppliedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(t.TempDir())}, 0)
	ctx := context.Background()
	alice, bob := e.user("alice"), e.user("bob")
	// Everything is written before any consumer runs, so that what each sees is fixed: a
	// post is indexed (and its tags counted) as it reads when the consumer reaches it.
	var ids []int64
	for i := range 10 {
		p, _, err := e.core.Publish(ctx, alice, core.NewPost{Body: fmt.Sprintf("post %d about #Postgres", i)})
		require.NoError(t, err)
		ids = append(ids, p.ID)
	}
	_, _, err := e.core.Publish(ctx, bob, core.NewPost{Body: "#postgres and #go"})
	require.NoError(t, err)
	_, _, err = e.core.Publish(ctx, bob, core.NewPost{Body: "#postgres, but private", Visibility: core.VisibilityPrivate})
	require.NoError(t, err)
	_, err = e.core.EditPost(ctx, alice, ids[0], core.PostEdit{Body: "post 0 about #go now"})
	require.NoError(t, err)
	require.NoError(t, e.core.DeletePost(ctx, alice, ids[1]))
	e.start()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				_, err := e.core.ConsumeBatch(ctx, "search", 2)
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	e.waitIdle(20 * time.Second)

	check := func() {
		t.Helper()
		require.Equal(t, 11, e.count(`SELECT count(*) FROM post_search`), "12 posts, one deleted")
		require.Equal(t, 0, e.count(`SELECT count(*) FROM post_search WHERE post_id = $1`, ids[1]))
		require.Equal(t, 9, e.count(`SELECT count(*) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.name = 'postgres' AND pt.listed`),
			"8 of alice's (one edited away, one deleted) and bob's public one")
		require.Equal(t, 10, e.count(`SELECT count(*) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.name = 'postgres'`),
			"and bob's private one, not listed")
		require.Equal(t, 2, e.count(`SELECT count(*) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE t.name = 'go'`))
		// Uses are counted once per created listed post, with the tags it has when indexed:
		// 8 + 1 for postgres (ids[0] has #go by then, ids[1] is gone), the private post not at all.
		require.Equal(t, 9, e.count(`SELECT sum(uses) FROM tag_uses u JOIN tags t ON t.id = u.tag_id WHERE t.name = 'postgres'`))
		require.Equal(t, 2, e.count(`SELECT count(*) FROM tag_uses u JOIN tags t ON t.id = u.tag_id WHERE t.name = 'postgres'`), "two accounts")
		require.Equal(t, 2, e.count(`SELECT sum(uses) FROM tag_uses u JOIN tags t ON t.id = u.tag_id WHERE t.name = 'go'`))
	}
	check()
	e.rerun("consume")
	b, err := e.core.ConsumeBatch(ctx, "search", 100)
	require.NoError(t, err)
	require.Zero(t, b.Events)
	check()
}
