package jobs

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
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

// waitIdle waits until no job is waiting, scheduled or running.
func (e *env) waitIdle(timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := e.count(`SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')`)
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%d jobs still unfinished after %s", n, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
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

// TestCompletingTheSameJobTwiceAppliesOnce runs every job of a post twice, the second
// time after the first attempt had applied its effects and completed: what happens when
// River rescues a job whose worker finished but looked stuck. The second completion
// succeeds and the effects are applied once.
func TestCompletingTheSameJobTwiceAppliesOnce(t *testing.T) {
	t.Parallel()
	mailDir := t.TempDir()
	e := newEnv(t, Config{Work: true, Mail: mail.NewDir(mailDir), MailFrom: "s@example.test", BaseURL: "http://example.test"}, 0)
	ctx := context.Background()
	alice, bob := e.user("alice"), e.user("bob")
	e.start()
	post, err := e.core.CreatePost(ctx, alice.ID, "hi @bob and @Bob and @alice and @nobody")
	require.NoError(t, err)
	e.waitIdle(20 * time.Second)

	check := func() {
		t.Helper()
		require.Equal(t, 1, e.count(`SELECT count(*) FROM mentions WHERE post_id = $1`, post.ID))
		require.Equal(t, 1, e.count(`SELECT count(*) FROM notifications WHERE post_id = $1 AND recipient_id = $2`, post.ID, bob.ID))
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
	require.Equal(t, 4, e.rerun("mentions", "stats", "mention_email"), "mentions, 2 stats, email")
	require.Equal(t, 4, e.count(`SELECT count(*) FROM river_job WHERE attempt = 2 AND state = 'completed'`), "each job ran twice")
	check()

	// Deleting the post reverses both counters, once, however often its job runs.
	require.NoError(t, e.core.DeletePost(ctx, alice, post.ID))
	e.waitIdle(20 * time.Second)
	e.rerun("stats")
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
	_, err := e.runner.Client.Insert(ctx, jobargs.Stats{Op: "frobnicate", PostID: 1}, nil)
	require.NoError(t, err)
	_, err = e.runner.Client.Insert(ctx, jobargs.Mentions{PostID: -5}, nil)
	require.NoError(t, err)
	_, err = e.runner.Client.Insert(ctx, jobargs.Mentions{PostID: 999999}, nil) // no such post: nothing to do
	require.NoError(t, err)
	e.start()
	e.waitIdle(20 * time.Second)
	require.Equal(t, 2, e.count(`SELECT count(*) FROM river_job WHERE state = 'cancelled' AND attempt = 1`))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE state = 'completed' AND kind = 'mentions'`))
}

func jobState(e *env, id int64) string {
	e.t.Helper()
	var s string
	require.NoError(e.t, e.pool.QueryRow(context.Background(), `SELECT state FROM river_job WHERE id = $1`, id).Scan(&s))
	return s
}
