// Package jobs runs Starling's background work on River: the runs of the event log's
// consumers (notifications and counters, see core.ConsumeBatch) and their waker, mention
// emails (single or in a digest), email verification links, daily statistics and the
// pruning of old events.
//
// A consumer run applies each batch of events and moves the consumer's position in one
// transaction, so its effects are exactly-once whatever River retries. The other workers
// apply their database effects and mark their job complete in one transaction
// (river.JobCompleteTx), each effect with a unique key of its own. Email is the exception
// any queue has: it leaves the database, so it is at-least-once with a stable Message-ID and
// a delivery row that stops any resend once the delivery was recorded.
//
// The request id of the HTTP request that enqueued a job travels in the job's metadata and
// is put back into the worker's context, so worker log lines carry it too.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/reqid"
	"github.com/starling-social/starling/internal/tracing"
)

// Config configures the job runner.
type Config struct {
	// Work makes this process work jobs. When false the client only inserts them (the
	// serve role).
	Work bool
	// PipelineWorkers and EmailWorkers size the pipeline and email queues. Default to 8
	// and 10. One run per consumer does the work; a further run of the same consumer ends
	// at once, so the pipeline needs a slot per consumer and a few spare.
	PipelineWorkers, EmailWorkers int
	// Pipeline tunes the consumers' runs and their waker.
	Pipeline PipelineConfig
	// JobTimeout bounds one attempt. Defaults to 30 seconds, or half of RescueAfter when
	// that is shorter.
	JobTimeout time.Duration
	// RescueAfter is when a job still marked running (its worker died) is retried.
	// Defaults to 2 minutes; must exceed JobTimeout.
	RescueAfter time.Duration
	// RetryBase is the first retry delay; each further retry doubles it, up to RetryMax.
	// Default to 1 second and 10 minutes.
	RetryBase, RetryMax time.Duration
	// Mail sends mention emails. Required when Work is set.
	Mail mail.Sender
	// MailFrom is the From address of Starling's emails, as config.Config.From gives it.
	// Required when Work is set.
	MailFrom string
	// BaseURL is the public URL used in email links.
	BaseURL string
	// Log receives the workers' log lines.
	Log *slog.Logger
	// FetchCooldown is the shortest pause between two fetches of one queue. River's default
	// of 100 ms caps a queue at (workers / 100 ms) jobs per second; the default here is
	// 10 ms. Used when Work is set.
	FetchCooldown time.Duration
	// FetchPollInterval is how often a worker looks for new jobs without being told.
	// Defaults to 100 ms. Used when Work is set.
	FetchPollInterval time.Duration
	// InsertNotifyEvery limits the NOTIFY that River sends inside an inserting
	// transaction to once per queue per this interval, for an insert-only client (Work
	// unset). A NOTIFY in a transaction serialises commits cluster-wide, so it is kept
	// rare; workers find the other jobs by polling. Defaults to 1 second.
	InsertNotifyEvery time.Duration
	// OnEmail is called with "sent", "skipped" or "failed" for each mention email
	// attempt (metrics); a digest counts once. Optional.
	OnEmail func(result string)
	// MentionEmailBound limits the single mention emails per recipient; past it, mentions
	// wait for one digest (core.PlanMentionEmail). Defaults to no bound; `starling` sets it
	// from STARLING_MENTION_EMAIL_LIMIT, 5 an hour by default.
	MentionEmailBound core.MentionEmailBound
	// EventRetention is how long events stay in the log; an hourly job prunes older ones.
	// Defaults to 7 days.
	EventRetention time.Duration
	// DailyStatsEvery is how often the daily statistics job runs. Defaults to 15 minutes.
	DailyStatsEvery time.Duration
}

// Runner owns the River client.
type Runner struct {
	// Client is the River client: pass it to core.Options.Jobs.
	Client *river.Client[pgx.Tx]
	w      *workers
	wake   chan struct{}
	stop   context.CancelFunc
}

// workers holds what every worker needs; Core is bound after the client exists.
type workers struct {
	core    *core.Service
	log     *slog.Logger
	mail    mail.Sender
	from    string
	baseURL string
	breaker *mail.Breaker
	onEmail func(result string)
	bound   core.MentionEmailBound
	// pipeline is the consumers' configuration, shared with the runs and the waker.
	pipeline *PipelineConfig
	// kicks wakes the caught-up consumer runs when events are written.
	kicks broadcast
	// runs are this process's consumer runs, for the waker.
	runs localRuns
}

// New builds the River client for pool.
func New(pool *pgxpool.Pool, cfg Config) (*Runner, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	def := func(d *int, v int) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PipelineWorkers, 8)
	def(&cfg.EmailWorkers, 10)
	def(&cfg.Pipeline.BatchSize, core.DefaultConsumeBatch)
	defDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defDur(&cfg.RescueAfter, 2*time.Minute)
	defDur(&cfg.JobTimeout, min(30*time.Second, cfg.RescueAfter/2))
	defDur(&cfg.RetryBase, time.Second)
	defDur(&cfg.RetryMax, 10*time.Minute)
	defDur(&cfg.DailyStatsEvery, 15*time.Minute)
	defDur(&cfg.EventRetention, 7*24*time.Hour)
	defDur(&cfg.FetchCooldown, 10*time.Millisecond)
	defDur(&cfg.FetchPollInterval, 100*time.Millisecond)
	defDur(&cfg.InsertNotifyEvery, time.Second)
	defDur(&cfg.Pipeline.RunFor, cfg.JobTimeout/3)
	defDur(&cfg.Pipeline.IdleWait, min(2*time.Second, cfg.JobTimeout/6))
	defDur(&cfg.Pipeline.Settle, 50*time.Millisecond)
	defDur(&cfg.Pipeline.Poll, time.Second)

	pipeline := cfg.Pipeline
	w := &workers{log: cfg.Log, from: cfg.MailFrom, baseURL: cfg.BaseURL, onEmail: cfg.OnEmail, bound: cfg.MentionEmailBound,
		pipeline: &pipeline}
	if w.onEmail == nil {
		w.onEmail = func(string) {}
	}
	rc := &river.Config{
		// River's own chatter goes to the log at warn and above only.
		Logger:                      slog.New(logging.ContextHandler{Handler: levelFloor{cfg.Log.Handler(), slog.LevelWarn}}),
		Middleware:                  []rivertype.Middleware{&requestIDMiddleware{log: cfg.Log}},
		RetryPolicy:                 &backoff{base: cfg.RetryBase, max: cfg.RetryMax},
		JobTimeout:                  cfg.JobTimeout,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		CompletedJobRetentionPeriod: 24 * time.Hour,
	}
	if !cfg.Work {
		// River limits the NOTIFY of its inserts with the fetch cooldown, which a client
		// that fetches nothing has no other use for (TestInsertNotifyEvery).
		rc.FetchCooldown = cfg.InsertNotifyEvery
		rc.FetchPollInterval = cfg.InsertNotifyEvery
	} else {
		rc.FetchCooldown = cfg.FetchCooldown
		rc.FetchPollInterval = cfg.FetchPollInterval
		if cfg.Mail == nil {
			return nil, errors.New("jobs: Config.Mail is required to work jobs")
		}
		if cfg.MailFrom == "" {
			return nil, errors.New("jobs: Config.MailFrom is required to work jobs")
		}
		if b := cfg.MentionEmailBound; b.Limit > 0 && b.Window < time.Second {
			return nil, errors.New("jobs: Config.MentionEmailBound needs a window of at least 1s")
		}
		w.breaker = &mail.Breaker{Sender: cfg.Mail}
		w.mail = w.breaker
		ws := river.NewWorkers()
		river.AddWorker(ws, &consumeWorker{w: w})
		river.AddWorker(ws, &emailWorker{w: w})
		river.AddWorker(ws, &digestWorker{w: w})
		river.AddWorker(ws, &verifyEmailWorker{w: w})
		river.AddWorker(ws, &dailyStatsWorker{w: w})
		river.AddWorker(ws, &pruneEventsWorker{w: w, retention: cfg.EventRetention})
		river.AddWorker(ws, &backfillSearchWorker{w: w})
		river.AddWorker(ws, &processMediaWorker{w: w})
		river.AddWorker(ws, &cleanMediaWorker{w: w})
		rc.Workers = ws
		rc.Queues = map[string]river.QueueConfig{
			jobargs.QueuePipeline:    {MaxWorkers: cfg.PipelineWorkers},
			jobargs.QueueEmail:       {MaxWorkers: cfg.EmailWorkers},
			jobargs.QueueMaintenance: {MaxWorkers: 1},
			// Processing is bounded by core's media slots (one per CPU) too.
			jobargs.QueueMedia: {MaxWorkers: max(1, runtime.NumCPU())},
		}
		rc.PeriodicJobs = []*river.PeriodicJob{
			river.NewPeriodicJob(river.PeriodicInterval(cfg.DailyStatsEvery),
				func() (river.JobArgs, *river.InsertOpts) { return jobargs.DailyStats{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return jobargs.PruneEvents{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
				func() (river.JobArgs, *river.InsertOpts) { return jobargs.BackfillSearch{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return jobargs.CleanMedia{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}),
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{Client: client, w: w, wake: make(chan struct{}, 1)}, nil
}

// Bind gives the workers the domain service. Call it before Start.
func (r *Runner) Bind(svc *core.Service) { r.w.core = svc }

// Start registers the event log's consumers, starts working jobs and starts the waker
// that enqueues consumer runs. It is a no-op for an insert-only runner.
func (r *Runner) Start(ctx context.Context) error {
	if r.w.mail == nil {
		return nil
	}
	if r.w.core == nil {
		return errors.New("jobs: Bind was not called")
	}
	if err := r.w.core.EnsureConsumers(ctx); err != nil {
		return err
	}
	if err := r.Client.Start(ctx); err != nil {
		return err
	}
	wctx, stop := context.WithCancel(ctx)
	r.stop = stop
	go r.waker(wctx)
	return nil
}

// Stop stops the waker and the fetching of new jobs, and waits for running ones until ctx
// ends.
func (r *Runner) Stop(ctx context.Context) error {
	if r.w.mail == nil {
		return nil
	}
	if r.stop != nil {
		r.stop()
	}
	return r.Client.Stop(ctx)
}

// complete returns the core.Finish that completes job inside the worker's transaction.
func complete[T river.JobArgs](job *river.Job[T]) core.Finish {
	return func(ctx context.Context, tx pgx.Tx) error {
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	}
}

// backoff is the retry policy: RetryBase doubled per attempt, capped, with ±20% jitter.
type backoff struct {
	base, max time.Duration
}

// NextRetry implements river.ClientRetryPolicy.
func (b *backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.base
	for i := 1; i < job.Attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, b.max)
	jitter := time.Duration(float64(d) * (rand.Float64()*0.4 - 0.2))
	return time.Now().Add(d + jitter)
}

// requestIDMiddleware carries the request id from the inserting context into the job's
// metadata, and from the metadata into the worker's context. It also logs the outcome of
// every attempt.
type requestIDMiddleware struct {
	river.MiddlewareDefaults
	log *slog.Logger
}

// InsertMany implements rivertype.JobInsertMiddleware.
func (m *requestIDMiddleware) InsertMany(ctx context.Context, params []*rivertype.JobInsertParams,
	doInner func(context.Context) ([]*rivertype.JobInsertResult, error),
) ([]*rivertype.JobInsertResult, error) {
	id := reqid.From(ctx)
	carrier := map[string]string{}
	tracing.Inject(ctx, carrier)
	if id == "" && len(carrier) == 0 {
		return doInner(ctx)
	}
	for _, p := range params {
		meta := map[string]any{}
		if len(p.Metadata) > 0 {
			_ = json.Unmarshal(p.Metadata, &meta)
		}
		// What the job was given explicitly (a consumer passes on the request id and trace
		// of the event it works on) stays.
		if _, set := meta["request_id"]; !set && id != "" {
			meta["request_id"] = id
		}
		if _, set := meta["trace"]; !set && len(carrier) > 0 {
			meta["trace"] = carrier
		}
		b, err := json.Marshal(meta)
		if err != nil {
			return nil, err
		}
		p.Metadata = b
	}
	return doInner(ctx)
}

// Work implements rivertype.WorkerMiddleware.
func (m *requestIDMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var meta struct {
		RequestID string            `json:"request_id"`
		Trace     map[string]string `json:"trace"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &meta) == nil && reqid.Valid(meta.RequestID) {
		ctx = reqid.With(ctx, meta.RequestID)
	}
	ctx, span := tracing.StartJob(ctx, job.Kind, meta.Trace)
	start := time.Now()
	err := doInner(ctx)
	tracing.End(span, err)
	attrs := []any{"kind", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "duration", time.Since(start)}
	var snooze *rivertype.JobSnoozeError
	switch {
	case err == nil:
		m.log.DebugContext(ctx, "job done", attrs...)
	case errors.As(err, &snooze):
		m.log.InfoContext(ctx, "job snoozed", append(attrs, "for", snooze.Duration)...)
	case job.Attempt >= job.MaxAttempts:
		m.log.ErrorContext(ctx, "job failed for good", append(attrs, "err", err)...)
	default:
		m.log.WarnContext(ctx, "job failed; will retry", append(attrs, "err", err)...)
	}
	return err
}

// levelFloor drops records below min.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// Observe calls f for every finished job attempt of this client (completed, failed,
// cancelled, snoozed, discarded) with its kind and run time, until ctx ends. Call it
// before Start.
func (r *Runner) Observe(ctx context.Context, f func(kind, outcome string, run time.Duration)) {
	ch, cancel := r.Client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	go func() {
		defer cancel()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-ch:
				if !ok {
					return
				}
				outcome := string(e.Kind)
				if e.Job != nil && e.Job.State == rivertype.JobStateDiscarded {
					outcome = "discarded"
				}
				var run time.Duration
				if e.JobStats != nil {
					run = e.JobStats.RunDuration
				}
				kind := ""
				if e.Job != nil {
					kind = e.Job.Kind
				}
				f(kind, strings.TrimPrefix(outcome, "job_"), run)
			}
		}
	}()
}
