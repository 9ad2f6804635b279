package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
)

// Sections 4–7 and 9 measure the consumers of the event log (internal/core/consumers.go):
// how fast one `starling work` process applies a backlog (4), whether their lag stays
// bounded under sustained writes (5), whether one account that posts a lot is a hot row
// (6), what a post costs with all its effects applied (7), and whether one post that many
// favourite is a hot row (9). Every one of them waits for the consumers to catch up, by SQL
// on their positions; none asserts a goal, each prints its figures beside the baseline
// measured in the same run.

// consumersBehindSQL counts the consumers with an event after their position (0: caught up).
const consumersBehindSQL = `SELECT count(*) FROM consumers c
WHERE EXISTS (SELECT 1 FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id))`

// consumerLagSQL is each consumer's lag: the age in seconds of its oldest unapplied event,
// 0 when it has none.
const consumerLagSQL = `SELECT c.name, coalesce(extract(epoch FROM now() - (
    SELECT e.created_at FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id) ORDER BY e.xid, e.id LIMIT 1)), 0)::float8
FROM consumers c ORDER BY c.name`

// catchUpLimit is how long a scenario waits for the consumers before it reports them stuck.
const catchUpLimit = 10 * time.Minute

// consumerLag is one consumer's lag at one moment.
type consumerLag struct {
	name    string
	seconds float64
}

// lags reads every consumer's lag.
func (s *suite) lags(ctx context.Context) ([]consumerLag, error) {
	rows, err := s.env.pool.Query(ctx, consumerLagSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []consumerLag
	for rows.Next() {
		var l consumerLag
		if err := rows.Scan(&l.name, &l.seconds); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// skipBacklog moves every consumer to the end of the log, as the migration that created
// them does, so that a scenario starts with the consumers caught up: the events written
// before with no worker running (by sections 1 and 3, whose effects are not what they
// measure, and by the accounts' creation) are not counted as this scenario's work. Call it
// only while no worker runs.
func (s *suite) skipBacklog(ctx context.Context) error {
	var skipped int64
	err := s.env.pool.QueryRow(ctx, `SELECT count(*) FROM events e
		WHERE (e.xid, e.id) > (SELECT c.xid, c.event_id FROM consumers c ORDER BY c.xid, c.event_id LIMIT 1)`).Scan(&skipped)
	if err != nil {
		return err
	}
	if skipped == 0 {
		return nil
	}
	progress("consumers: moving past the %d events written before with no worker running", skipped)
	_, err = s.env.pool.Exec(ctx, `UPDATE consumers c SET xid = e.xid, event_id = e.id
		FROM (SELECT xid, id FROM events ORDER BY xid DESC, id DESC LIMIT 1) e
		WHERE (c.xid, c.event_id) < (e.xid, e.id)`)
	return err
}

// catchUp waits until every consumer has applied every event, polling every 50 ms, and
// returns how long that took. After catchUpLimit it gives up with the consumers' lag and
// the last log lines of procs.
func (s *suite) catchUp(ctx context.Context, procs ...*server) (time.Duration, error) {
	start := time.Now()
	for {
		var behind int
		if err := s.env.pool.QueryRow(ctx, consumersBehindSQL).Scan(&behind); err != nil {
			return 0, err
		}
		if behind == 0 {
			return time.Since(start), nil
		}
		if time.Since(start) > catchUpLimit {
			return 0, fmt.Errorf("consumers still behind after %s: %s%s", catchUpLimit, s.lagSummary(ctx), logTails(procs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lagSummary describes each consumer's position and lag, for an error.
func (s *suite) lagSummary(ctx context.Context) string {
	rows, err := s.env.pool.Query(ctx, `SELECT name, xid::text, event_id, events_applied, coalesce(applied_at::text, 'never') FROM consumers ORDER BY name`)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var name, xid, at string
		var id, applied int64
		if err := rows.Scan(&name, &xid, &id, &applied, &at); err != nil {
			return err.Error()
		}
		parts = append(parts, fmt.Sprintf("%s at (xid %s, event %d), %d events applied, last moved %s", name, xid, id, applied, at))
	}
	if lags, err := s.lags(ctx); err == nil {
		for _, l := range lags {
			parts = append(parts, fmt.Sprintf("%s lag %.1f s", l.name, l.seconds))
		}
	}
	return strings.Join(parts, "; ")
}

// logTails is the last lines each server wrote to stderr.
func logTails(procs []*server) string {
	var b strings.Builder
	for _, p := range procs {
		logs := p.logs.String()
		b.WriteString("\n--- " + strings.Join(p.cmd.Args, " ") + " stderr (end):\n" + logs[max(0, len(logs)-3000):])
	}
	return b.String()
}

// lagSampler samples every consumer's lag once a second.
type lagSampler struct {
	mu      sync.Mutex
	samples map[string][]float64 // seconds, in time order, by consumer
	cancel  context.CancelFunc
	done    chan struct{}
}

// sampleLag starts sampling; stop ends it.
func (s *suite) sampleLag(ctx context.Context) *lagSampler {
	ctx, cancel := context.WithCancel(ctx)
	ls := &lagSampler{samples: map[string][]float64{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(ls.done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			lags, err := s.lags(ctx)
			if err != nil {
				continue
			}
			ls.mu.Lock()
			for _, l := range lags {
				ls.samples[l.name] = append(ls.samples[l.name], l.seconds)
			}
			ls.mu.Unlock()
		}
	}()
	return ls
}

// stop ends the sampling and returns the samples.
func (ls *lagSampler) stop() map[string][]float64 {
	ls.cancel()
	<-ls.done
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.samples
}

// quantile is the p-quantile of xs (0 when empty).
func quantile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// secs formats a duration in seconds.
func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

// effects are the counts the consumers change. A scenario takes them before and after and
// checks the difference, so what earlier scenarios left does not matter.
type effects struct {
	notifications      int64 // of kind mention
	mentions           int64 // rows of mentions
	notificationEvents int64 // notification.created events
	authorPosts        int64 // user_stats.posts, summed over the authors
	mentionsReceived   int64 // user_stats.mentions_received, summed over the recipients
	emailJobs          int64 // mention_email jobs
	emailWanted        int64 // mention notifications whose recipient has mention emails on
	applied            map[string]int64
}

func (s *suite) effects(ctx context.Context, authors, recipients []int64) (effects, error) {
	e := effects{applied: map[string]int64{}}
	err := s.env.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM notifications WHERE kind = 'mention'),
		(SELECT count(*) FROM mentions),
		(SELECT count(*) FROM events WHERE topic = 'notification.created'),
		(SELECT coalesce(sum(posts), 0)::bigint FROM user_stats WHERE user_id = ANY($1)),
		(SELECT coalesce(sum(mentions_received), 0)::bigint FROM user_stats WHERE user_id = ANY($2)),
		(SELECT count(*) FROM river_job WHERE kind = 'mention_email'),
		(SELECT count(*) FROM notifications n JOIN users u ON u.id = n.recipient_id WHERE n.kind = 'mention' AND u.email_mentions)`,
		authors, recipients).Scan(&e.notifications, &e.mentions, &e.notificationEvents, &e.authorPosts, &e.mentionsReceived, &e.emailJobs, &e.emailWanted)
	if err != nil {
		return e, err
	}
	rows, err := s.env.pool.Query(ctx, "SELECT name, events_applied FROM consumers")
	if err != nil {
		return e, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return e, err
		}
		e.applied[name] = n
	}
	return e, rows.Err()
}

// minus is what changed from before to e.
func (e effects) minus(before effects) effects {
	d := effects{notifications: e.notifications - before.notifications, mentions: e.mentions - before.mentions,
		notificationEvents: e.notificationEvents - before.notificationEvents, authorPosts: e.authorPosts - before.authorPosts,
		mentionsReceived: e.mentionsReceived - before.mentionsReceived, emailJobs: e.emailJobs - before.emailJobs,
		emailWanted: e.emailWanted - before.emailWanted, applied: map[string]int64{}}
	for name, n := range e.applied {
		d.applied[name] = n - before.applied[name]
	}
	return d
}

// userIDs returns the ids of the named users, in the order of names.
func (s *suite) userIDs(ctx context.Context, names ...string) ([]int64, error) {
	var ids []int64
	err := s.env.pool.QueryRow(ctx, `SELECT array_agg(u.id ORDER BY n.i) FROM unnest($1::text[]) WITH ORDINALITY AS n (name, i)
		JOIN users u ON u.username = n.name`, names).Scan(&ids)
	if err == nil && len(ids) != len(names) {
		err = fmt.Errorf("users %v: found %d", names, len(ids))
	}
	return ids, err
}

// noopArgs is the job of River's own throughput reference: it does nothing.
type noopArgs struct{}

func (noopArgs) Kind() string { return "bench_noop" }

type noopWorker struct{ river.WorkerDefaults[noopArgs] }

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// riverNoop measures River itself on this machine and database: n no-op jobs inserted
// while a client in this process is stopped, then drained by it (queue default, 100
// workers, the fetch settings of `starling work`). It returns the time from Start until
// every job is completed.
func (s *suite) riverNoop(ctx context.Context, n int) (time.Duration, error) {
	ws := river.NewWorkers()
	river.AddWorker(ws, &noopWorker{})
	client, err := river.NewClient(riverpgxv5.New(s.env.pool), &river.Config{
		Logger:            slog.New(slog.DiscardHandler),
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 100}},
		Workers:           ws,
		FetchCooldown:     10 * time.Millisecond, // as internal/jobs
		FetchPollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		return 0, err
	}
	progress("pipeline: inserting %d River no-op jobs", n)
	for done := 0; done < n; {
		batch := make([]river.InsertManyParams, min(5000, n-done))
		for i := range batch {
			batch[i] = river.InsertManyParams{Args: noopArgs{}}
		}
		if _, err := client.InsertMany(ctx, batch); err != nil {
			return 0, err
		}
		done += len(batch)
	}
	progress("pipeline: draining them with River's client in this process")
	start := time.Now()
	if err := client.Start(ctx); err != nil {
		return 0, err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		client.Stop(stopCtx)
	}()
	for {
		var left, completed int
		err := s.env.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state <> 'completed'), count(*) FILTER (WHERE state = 'completed')
			FROM river_job WHERE kind = 'bench_noop'`).Scan(&left, &completed)
		if err != nil {
			return 0, err
		}
		if left == 0 && completed == n {
			break
		}
		if time.Since(start) > catchUpLimit {
			return 0, fmt.Errorf("River no-op jobs: %d of %d left after %s", left, n, catchUpLimit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	elapsed := time.Since(start)
	_, err = s.env.pool.Exec(ctx, "DELETE FROM river_job WHERE kind = 'bench_noop'")
	return elapsed, err
}

// pipeline is section 4: a backlog of posts with two mentions each, applied by one
// `starling work` process, beside River's throughput of no-op jobs.
func (s *suite) pipeline(ctx context.Context) error {
	n := 50_000
	if s.quick {
		n = 10_000
	}
	const txs = 5
	if err := s.users(ctx, 8); err != nil {
		return err
	}
	authorNames := []string{"bench0", "bench3", "bench4", "bench5", "bench6", "bench7"} // not the mentioned ones
	authors, err := s.userIDs(ctx, authorNames...)
	if err != nil {
		return err
	}
	recipients, err := s.userIDs(ctx, "bench1", "bench2")
	if err != nil {
		return err
	}
	noop, err := s.riverNoop(ctx, n)
	if err != nil {
		return err
	}
	if err := s.skipBacklog(ctx); err != nil {
		return err
	}
	before, err := s.effects(ctx, authors, recipients)
	if err != nil {
		return err
	}
	progress("pipeline: writing %d posts and their post.created events in %d transactions, no worker running", n, txs)
	for i := range txs {
		from, to := i*n/txs+1, (i+1)*n/txs
		_, err := s.env.pool.Exec(ctx, `WITH p AS (
				INSERT INTO posts (author_id, body)
				SELECT ($1::bigint[])[1 + g % cardinality($1::bigint[])], 'pipeline post ' || g || ' for @bench1 and @bench2'
				FROM generate_series($2::int, $3::int) g ORDER BY g
				RETURNING id, author_id)
			INSERT INTO events (topic, payload, request_id)
			SELECT 'post.created', jsonb_build_object('post_id', id, 'author_id', author_id), 'starling-bench' FROM p ORDER BY id`,
			authors, from, to)
		if err != nil {
			return err
		}
	}
	progress("pipeline: starting one `starling work` and waiting for the consumers")
	start := time.Now()
	worker, err := s.start("work")
	if err != nil {
		return err
	}
	defer worker.stop()
	if _, err := s.catchUp(ctx, worker); err != nil {
		return err
	}
	elapsed := time.Since(start)
	after, err := s.effects(ctx, authors, recipients)
	if err != nil {
		return err
	}
	worker.stop()
	d := after.minus(before)
	want := int64(n)
	exact := d.notifications == 2*want && d.mentions == 2*want && d.notificationEvents == 2*want &&
		d.authorPosts == want && d.mentionsReceived == 2*want && d.emailJobs == d.emailWanted && d.emailWanted == d.notifications
	logEvents := 3 * n // n post.created + 2n notification.created, which each consumer reads past
	postRate, noopRate := float64(n)/elapsed.Seconds(), float64(n)/noop.Seconds()

	s.printf("## 4. Job pipeline\n\n")
	s.printf("What it measures: %d posts, each mentioning @bench1 and @bench2, by %d authors (%s), written with SQL in %d transactions as the write path writes them "+
		"(the post and its `post.created` event) while no worker runs; then one `starling work` process starts, and the time runs from its start until both consumers "+
		"(`counters`, `mentions`) have applied every event. The time includes the process's start-up (connecting, checking migrations, starting River) and its waker's first check. "+
		"Each post makes two notifications, so the log ends with %d events (%d `post.created`, %d `notification.created`), all of which each consumer reads. "+
		"Mention emails are scheduled an hour later (`STARLING_MENTION_EMAIL_DELAY=1h`): they are counted as jobs, not sent. One run.\n\n",
		n, len(authorNames), strings.Join(authorNames, ", "), txs, logEvents, n, 2*n)
	s.printf("Baseline: River's own throughput in the same run and database: %d no-op jobs inserted (InsertMany) while a River client in the harness process was stopped, "+
		"then drained by it (queue default, 100 workers, 10 ms fetch cooldown as `starling work` uses).\n\n", n)
	s.printf("| | count | time | per second |\n| --- | ---: | ---: | ---: |\n")
	s.printf("| posts, all effects applied | %d | %s | %.0f posts/s |\n", n, secs(elapsed), postRate)
	s.printf("| events in the log, read by both consumers | %d | %s | %.0f events/s |\n", logEvents, secs(elapsed), float64(logEvents)/elapsed.Seconds())
	s.printf("| River no-op jobs (baseline) | %d | %s | %.0f jobs/s |\n\n", n, secs(noop), noopRate)
	s.printf("Posts with all their effects per second ÷ River no-op jobs per second: %.2f×.\n\n", postRate/noopRate)
	s.printf("Effects, counted before and after:\n\n| effect | expected | found |\n| --- | ---: | ---: |\n")
	s.printf("| mention notifications | %d | %d |\n", 2*n, d.notifications)
	s.printf("| `mentions` rows | %d | %d |\n", 2*n, d.mentions)
	s.printf("| `notification.created` events | %d | %d |\n", 2*n, d.notificationEvents)
	s.printf("| `user_stats.posts`, summed over the authors | %d | %d |\n", n, d.authorPosts)
	s.printf("| `user_stats.mentions_received`, bench1 + bench2 | %d | %d |\n", 2*n, d.mentionsReceived)
	s.printf("| `mention_email` jobs (one per notification of a recipient with mention emails on: %d) | %d | %d |\n", d.emailWanted, d.emailWanted, d.emailJobs)
	for _, name := range slices.Sorted(maps.Keys(d.applied)) {
		s.printf("| events read by the `%s` consumer (not part of the check) | %d | %d |\n", name, logEvents, d.applied[name])
	}
	s.printf("\nExact: %s.\n\nGoal: ≥ 1,500 posts/s with all effects applied, on %d cores.\n\n", yesNo(exact), runtime.NumCPU())
	return nil
}

// serveAndWork makes n writers' tokens, moves the consumers past what earlier sections
// left in the log, and starts one `starling serve` and one `starling work`; the caller
// stops both.
func (s *suite) serveAndWork(ctx context.Context, n int) (tokens []string, srv, worker *server, err error) {
	if tokens, err = s.tokens(ctx, n); err != nil {
		return nil, nil, nil, err
	}
	if err = s.skipBacklog(ctx); err != nil {
		return nil, nil, nil, err
	}
	if srv, err = s.start("serve"); err != nil {
		return nil, nil, nil, err
	}
	if worker, err = s.start("work"); err != nil {
		srv.stop()
		return nil, nil, nil, err
	}
	return tokens, srv, worker, nil
}

// sustained is section 5: the consumers' lag while 8 writers post at full rate.
func (s *suite) sustained(ctx context.Context) error {
	d := 60 * time.Second
	if s.quick {
		d = 15 * time.Second
	}
	const writers = 8
	tokens, srv, worker, err := s.serveAndWork(ctx, writers)
	if err != nil {
		return err
	}
	defer srv.stop()
	defer worker.stop()
	progress("sustained: %d writers for %s, lag sampled every second", writers, d)
	sampler := s.sampleLag(ctx)
	l := closedLoop(writers, d, func(client *http.Client, i int) error {
		w := writer(i)
		return postStatus(client, srv.base, tokens[w], fmt.Sprintf("sustained post %d for @bench%d", i, (w+1)%writers))
	})
	samples := sampler.stop()
	catchUp, err := s.catchUp(ctx, srv, worker)
	if err != nil {
		return err
	}
	s.printf("## 5. Sustained writes\n\n")
	s.printf("What it measures: %d writers (accounts bench0–bench%d, each post mentioning the next account) post through the API at full rate for %s, closed loop, "+
		"against one `starling serve` and one separate `starling work` process. Every second the harness samples each consumer's lag: the age of its oldest unapplied event "+
		"(0 when it is caught up). Baseline: the lag at the start of the run, the median of the first third of the samples, against the median of the last third; "+
		"the lag grows when the last third's median is more than twice the first's and more than 1 s (the waker's poll interval) above it. One run.\n\n", writers, writers-1, d)
	s.printf("| consumer | samples | p50 lag | p99 lag | max lag | median, first third | median, last third | grows |\n")
	s.printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, name := range slices.Sorted(maps.Keys(samples)) {
		xs := samples[name]
		third := max(1, len(xs)/3)
		first, last := quantile(xs[:min(third, len(xs))], .5), quantile(xs[max(0, len(xs)-third):], .5)
		grows := last > 2*first && last-first > 1
		growsText := "no"
		if grows {
			growsText = "YES"
		}
		s.printf("| %s | %d | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %s |\n", name, len(xs), quantile(xs, .5), quantile(xs, .99), quantile(xs, 1), first, last, growsText)
	}
	s.printf("\nPosts: %.0f/s (%d posts, p50 %s, p99 %s, %d errors). Once the writers stopped, the consumers caught up in %s.\n\n",
		l.rate, len(l.latencies), ms(l.pct(.5)), ms(l.pct(.99)), l.errors, secs(catchUp))
	s.printf("Goal: the lag stays bounded and does not grow, on %d cores.\n\n", runtime.NumCPU())
	return nil
}

// hotRows is section 6: 32 writers as one account against 32 writers as 32 accounts.
func (s *suite) hotRows(ctx context.Context) error {
	const writers = 32
	tokens, srv, worker, err := s.serveAndWork(ctx, writers)
	if err != nil {
		return err
	}
	defer srv.stop()
	defer worker.stop()
	type variant struct {
		name  string
		token func(w int) string
		body  func(w, i int) string
	}
	variants := []variant{
		{"one account (bench0)", func(int) string { return tokens[0] },
			func(_, i int) string { return fmt.Sprintf("hot row post %d for @bench1", i) }},
		{fmt.Sprintf("%d accounts (bench0–bench%d)", writers, writers-1), func(w int) string { return tokens[w] },
			func(w, i int) string { return fmt.Sprintf("spread post %d for @bench%d", i, (w+1)%writers) }},
	}
	type figures struct {
		rates   []float64
		catchUp []float64 // seconds
		best    load
	}
	got := make([]figures, len(variants))
	// A run of the spread variant, not counted, warms the servers up (their pools open
	// their connections), so that the first variant measured does not pay for it.
	progress("hot rows: warming up")
	closedLoop(writers, max(time.Second, s.seconds/2), func(client *http.Client, i int) error {
		w := writer(i)
		return postStatus(client, srv.base, tokens[w], variants[1].body(w, i))
	})
	if _, err := s.catchUp(ctx, srv, worker); err != nil {
		return err
	}
	for r := range s.runs {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, vi := range order {
			v := variants[vi]
			progress("hot rows: %s, %d writers, run %d/%d", v.name, writers, r+1, s.runs)
			l := closedLoop(writers, s.seconds, func(client *http.Client, i int) error {
				w := writer(i)
				return postStatus(client, srv.base, v.token(w), v.body(w, i))
			})
			c, err := s.catchUp(ctx, srv, worker)
			if err != nil {
				return err
			}
			f := &got[vi]
			f.rates, f.catchUp = append(f.rates, l.rate), append(f.catchUp, c.Seconds())
			if l.rate >= median(f.rates) {
				f.best = l
			}
		}
	}
	s.printf("## 6. Hot rows\n\n")
	s.printf("What it measures: %d writers post through the API (each post with one @mention) for %s per run, closed loop, against one `starling serve` and one `starling work`: "+
		"all as one account, or each as an account of its own; the variants alternate, after a warm-up run that is not counted. After each run, the time until both consumers have applied every event. "+
		"Baseline: the %d-account runs. One account that posts a lot should be no hot row: the write transaction touches no per-account row, "+
		"and the counters consumer changes each account's row once per batch.\n\n", writers, s.seconds, writers)
	s.printf("| posting as | posts/s | p50 | p99 | errors | consumers caught up after the run |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for vi, v := range variants {
		f := got[vi]
		s.printf("| %s | %.0f | %s | %s | %d | %.2f s |\n", v.name, median(f.rates), ms(f.best.pct(.5)), ms(f.best.pct(.99)), f.best.errors, median(f.catchUp))
	}
	s.printf("\nOne account ÷ %d accounts: %.2f×. Goal: ≥ 0.8×, on %d cores.\n\n", writers, median(got[0].rates)/median(got[1].rates), runtime.NumCPU())
	return nil
}

// favourites is section 9: 32 clients favouriting one post against 32 clients each
// favouriting a post of their own. bench0 writes the posts and bench1 … bench32 favourite
// them, so that every favourite that stands has a notification.
func (s *suite) favourites(ctx context.Context) error {
	const clients = 32
	tokens, srv, worker, err := s.serveAndWork(ctx, clients+1)
	if err != nil {
		return err
	}
	defer srv.stop()
	defer worker.stop()
	var firstEvent int64 // the section's events come after it
	if err := s.env.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM events").Scan(&firstEvent); err != nil {
		return err
	}
	// posts[0] is the one post; posts[1+w] is client w's own.
	progress("favourites: bench0 writes %d posts", clients+1)
	posts := make([]int64, clients+1)
	hc := &http.Client{Timeout: 30 * time.Second}
	for i := range posts {
		if posts[i], err = createStatus(hc, srv.base, tokens[0], fmt.Sprintf("favourites bench post %d", i)); err != nil {
			return fmt.Errorf("writing post %d: %w", i, err)
		}
	}
	type variant struct {
		name string
		post func(w int) int64
	}
	variants := []variant{
		{"one post (32 clients, bench1–bench32)", func(int) int64 { return posts[0] }},
		{fmt.Sprintf("%d posts (one per client)", clients), func(w int) int64 { return posts[1+w] }},
	}
	// standing[v][w] is whether client w's favourite of its post in variant v stands: each
	// request toggles it (favourite, then unfavourite, …), across runs, so that every
	// request is a write. Worker w alone touches its entry while a run lasts.
	standing := make([][]bool, len(variants))
	for vi := range standing {
		standing[vi] = make([]bool, clients)
	}
	var requests int // successful ones, warm-up included
	toggle := func(vi int) func(*http.Client, int) error {
		return func(client *http.Client, i int) error {
			w := writer(i)
			on := !standing[vi][w]
			standing[vi][w] = on
			return favourite(client, srv.base, tokens[1+w], variants[vi].post(w), on)
		}
	}
	type figures struct {
		rates   []float64
		catchUp []float64 // seconds
		best    load
	}
	got := make([]figures, len(variants))
	// A run of the spread variant, not counted, warms the servers up (see hotRows).
	progress("favourites: warming up")
	requests += len(closedLoop(clients, max(time.Second, s.seconds/2), toggle(1)).latencies)
	if _, err := s.catchUp(ctx, srv, worker); err != nil {
		return err
	}
	for r := range s.runs {
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, vi := range order {
			progress("favourites: %s, run %d/%d", variants[vi].name, r+1, s.runs)
			l := closedLoop(clients, s.seconds, toggle(vi))
			requests += len(l.latencies)
			c, err := s.catchUp(ctx, srv, worker)
			if err != nil {
				return err
			}
			f := &got[vi]
			f.rates, f.catchUp = append(f.rates, l.rate), append(f.catchUp, c.Seconds())
			if l.rate >= median(f.rates) {
				f.best = l
			}
		}
	}

	// Exactness, with the consumers caught up: per post, the counter against the rows, and
	// the favourite notifications against the favourites of accounts other than the author.
	type exactness struct {
		posts, counterOff, notesOff     int
		favs, counted, others, notified int64
	}
	var one, spread exactness
	rows, err := s.env.pool.Query(ctx, `SELECT p.id,
			coalesce((SELECT ps.favourites FROM post_stats ps WHERE ps.post_id = p.id), 0),
			(SELECT count(*) FROM favourites f WHERE f.post_id = p.id),
			(SELECT count(*) FROM favourites f WHERE f.post_id = p.id AND f.user_id <> p.author_id),
			(SELECT count(*) FROM notifications n WHERE n.kind = 'favourite' AND n.post_id = p.id)
		FROM posts p WHERE p.id = ANY($1)`, posts)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, counted, favs, others, notified int64
		if err := rows.Scan(&id, &counted, &favs, &others, &notified); err != nil {
			rows.Close()
			return err
		}
		x := &spread
		if id == posts[0] {
			x = &one
		}
		x.posts++
		x.favs, x.counted, x.others, x.notified = x.favs+favs, x.counted+counted, x.others+others, x.notified+notified
		if counted != favs {
			x.counterOff++
		}
		if notified != others {
			x.notesOff++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var created, deleted int64
	err = s.env.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE topic = 'favourite.created'), count(*) FILTER (WHERE topic = 'favourite.deleted')
		FROM events WHERE id > $1 AND topic IN ('favourite.created', 'favourite.deleted') AND (payload->>'post_id')::bigint = ANY($2)`,
		firstEvent, posts).Scan(&created, &deleted)
	if err != nil {
		return err
	}
	exact := one.posts == 1 && spread.posts == clients && one.counterOff+spread.counterOff+one.notesOff+spread.notesOff == 0

	s.printf("## 9. Favourites\n\n")
	s.printf("What it measures: %d clients (accounts bench1–bench%d) favourite posts of bench0 through the API for %s per run, closed loop, against one `starling serve` and one `starling work`: "+
		"all the same post, or each a post of its own (%d posts). Each client alternates `POST /api/v1/statuses/{id}/favourite` and `…/unfavourite` on its post, one toggle per request, "+
		"so that every request changes a favourite; the variants alternate, after a warm-up run that is not counted. After each run, the time until every consumer has applied every event. "+
		"Baseline: the %d-post runs. One post that many favourite should be no hot row: the write transaction inserts or deletes a row of `favourites` and appends its event, "+
		"touching no per-post row, and the counters consumer changes each post's `post_stats` row once per batch.\n\n", clients, clients, s.seconds, clients, clients)
	s.printf("| favouriting | requests/s | p50 | p99 | errors | consumers caught up after the run |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for vi, v := range variants {
		f := got[vi]
		s.printf("| %s | %.0f | %s | %s | %d | %.2f s |\n", v.name, median(f.rates), ms(f.best.pct(.5)), ms(f.best.pct(.99)), f.best.errors, median(f.catchUp))
	}
	s.printf("\nOne post ÷ %d posts: %.2f×. Goal: ≥ 0.8×, on %d cores.\n\n", clients, median(got[0].rates)/median(got[1].rates), runtime.NumCPU())
	s.printf("Exactness, once the consumers had caught up after the last run, for every post used: `post_stats.favourites` against `count(*)` of its `favourites` rows, " +
		"and its favourite notifications against its favourites by accounts other than its author (here all of them).\n\n")
	s.printf("| posts | favourites standing | `post_stats.favourites` | posts whose counter differs | favourite notifications | posts whose notifications differ |\n")
	s.printf("| --- | ---: | ---: | ---: | ---: | ---: |\n")
	s.printf("| the one post | %d | %d | %d | %d | %d |\n", one.favs, one.counted, one.counterOff, one.notified, one.notesOff)
	s.printf("| the %d posts, summed | %d | %d | %d | %d | %d |\n", clients, spread.favs, spread.counted, spread.counterOff, spread.notified, spread.notesOff)
	s.printf("\nRequests that succeeded, warm-up included: %d; `favourite.created` events written: %d, `favourite.deleted`: %d (a request that changed nothing writes none).\n\n",
		requests, created, deleted)
	s.printf("Exact: %s.\n\n", yesNo(exact))
	return nil
}

// endToEnd is section 7: `starling all` with all effects applied, against the write path alone.
func (s *suite) endToEnd(ctx context.Context) error {
	const clients = 8
	token, err := s.token(ctx, 8)
	if err != nil {
		return err
	}
	post := func(base string) func(*http.Client, int) error {
		return func(client *http.Client, i int) error { return postStatus(client, base, token, postBody(i)) }
	}
	alone, aloneFrom := s.writes8, "section 1's 8-client figure, this run"
	if alone == 0 {
		aloneFrom = "measured here"
		srv, err := s.start("serve")
		if err != nil {
			return err
		}
		var rates []float64
		for r := range s.runs {
			progress("end to end: write path alone, %d clients, run %d/%d", clients, r+1, s.runs)
			rates = append(rates, closedLoop(clients, s.seconds, post(srv.base)).rate)
		}
		srv.stop()
		alone = median(rates)
	}
	if err := s.skipBacklog(ctx); err != nil {
		return err
	}
	all, err := s.start("all")
	if err != nil {
		return err
	}
	defer all.stop()
	var writing, e2e, catchUps []float64
	var best load
	for r := range s.runs {
		progress("end to end: `starling all`, %d clients, run %d/%d", clients, r+1, s.runs)
		l := closedLoop(clients, s.seconds, post(all.base))
		c, err := s.catchUp(ctx, all)
		if err != nil {
			return err
		}
		writing, catchUps = append(writing, l.rate), append(catchUps, c.Seconds())
		e2e = append(e2e, float64(len(l.latencies))/(l.elapsed+c).Seconds())
		if l.rate >= median(writing) {
			best = l
		}
	}
	s.printf("## 7. End to end\n\n")
	s.printf("What it measures: one `starling all` process (website, API and workers together, as `make run` deploys it); %d clients post as bench0 with an @mention of bench1 "+
		"for %s, closed loop; then the wait until both consumers have applied every event, so that each post's notification, its event, the counters and the mention email job "+
		"are written. End-to-end rate = posts ÷ (write time + catch-up time). Mention emails are scheduled an hour later (`STARLING_MENTION_EMAIL_DELAY=1h`; "+
		"in production the delay is 60 s), so sending them is not part of it. "+
		"Baseline: the write path alone, `starling serve` with no worker, same requests at %d clients (%s).\n\n", clients, s.seconds, clients, aloneFrom)
	s.printf("| | posts/s | p50 | p99 | errors | catch-up after writing |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	s.printf("| write path alone (baseline) | %.0f | | | | |\n", alone)
	s.printf("| `starling all`, while writing | %.0f | %s | %s | %d | |\n", median(writing), ms(best.pct(.5)), ms(best.pct(.99)), best.errors)
	s.printf("| `starling all`, end to end | %.0f | | | | %.2f s |\n", median(e2e), median(catchUps))
	s.printf("\nEnd to end ÷ write path alone: %.2f×. Goal: ≥ 0.7×, on %d cores.\n\n", median(e2e)/alone, runtime.NumCPU())
	return nil
}
