package jobs

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
)

// consumeWorker runs one consumer of the event log: batch after batch until it is caught
// up, then it waits a moment for more (woken by the listener's kick) before it ends. A run
// ends at once when another run holds the consumer, and after RunFor in any case, so that
// it stays inside the job timeout; the waker starts the next one.
type consumeWorker struct {
	river.WorkerDefaults[jobargs.Consume]
	w *workers
}

func (cw *consumeWorker) Work(ctx context.Context, job *river.Job[jobargs.Consume]) error {
	name := job.Args.Consumer
	p := cw.w.pipeline
	cw.w.runs.begin(name)
	defer cw.w.runs.end(name)
	end := time.Now().Add(p.RunFor)
	for time.Now().Before(end) {
		kicked := cw.w.kicks.wait() // taken before the read, so a kick during it is not missed
		b, err := cw.w.core.ConsumeBatch(ctx, name, p.BatchSize)
		if errors.Is(err, core.ErrBadJob) {
			return river.JobCancel(err)
		}
		if err != nil {
			return err
		}
		if b.Busy {
			return nil
		}
		if b.Events > 0 {
			p.observe(name, b)
		}
		if b.Events >= p.BatchSize {
			continue // more is waiting
		}
		// Caught up, or nearly: wait for the next kick rather than read again at once (a
		// kick that came during this batch is already in kicked). A batch cut short by a
		// transaction still in flight ends with that transaction's own wake-up; one cut
		// short by an unrelated long transaction waits for the next kick, or this run ends
		// after IdleWait and the waker's poll starts the next.
		select {
		case <-kicked:
		case <-time.After(p.IdleWait):
			return nil
		case <-ctx.Done():
			return nil
		}
		// Let a few more writes land, so that one batch takes them together: under steady
		// writes every consumer would otherwise run a transaction per wake-up (one per
		// coalesced NOTIFY, every few milliseconds).
		select {
		case <-time.After(p.Settle):
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// PipelineConfig tunes the consumers' runs and their waker.
type PipelineConfig struct {
	// BatchSize is how many events one batch reads at most. Defaults to
	// core.DefaultConsumeBatch.
	BatchSize int
	// RunFor bounds one run; the waker enqueues the next while the consumer is behind.
	// Defaults to a third of the job timeout.
	RunFor time.Duration
	// IdleWait is how long a caught-up run waits for new events before it ends. Defaults
	// to 2 seconds, or a sixth of the job timeout when that is shorter.
	IdleWait time.Duration
	// Settle is how long a woken run waits before it reads, gathering the writes of that
	// moment into one batch. Defaults to 50 ms: the effects land at most that much later.
	Settle time.Duration
	// Poll is how often the waker checks for consumers behind the log without being
	// kicked: the safety net for a lost NOTIFY or a run that died. Defaults to 1 second.
	Poll time.Duration
	// OnBatch is called after each batch that applied events (metrics). Optional.
	OnBatch func(consumer string, events int, lag time.Duration)
}

func (p *PipelineConfig) observe(name string, b core.Batch) {
	if p.OnBatch != nil {
		p.OnBatch(name, b.Events, b.Lag)
	}
}

// Kick tells the pipeline that events were written: a caught-up run goes on at once, and
// the waker checks for consumers that have no run. Safe to call at any rate; it never
// blocks. A no-op for an insert-only runner.
func (r *Runner) Kick() {
	if r.w.mail == nil {
		return
	}
	r.w.kicks.send()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// waker enqueues a consume job for every consumer that is behind the log, when kicked
// (at most once per 50 ms) and every Poll, until ctx ends. It skips a consumer with a run
// waiting to start, or one going in this process (the kick wakes that), and enqueues at
// most one per consumer per Poll while another process's run goes on (which the new one
// then leaves alone).
func (r *Runner) waker(ctx context.Context) {
	tick := time.NewTicker(r.w.pipeline.Poll)
	defer tick.Stop()
	for first := true; ; first = false {
		if !first { // at start, look at once: a worker restarted after a crash resumes now
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			case <-tick.C:
			}
		}
		if err := r.enqueueBehind(ctx); err != nil && ctx.Err() == nil {
			r.w.log.Warn("pipeline: could not start consumer runs; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// enqueueBehind enqueues one run for each consumer behind the log that needs one.
func (r *Runner) enqueueBehind(ctx context.Context) error {
	names, err := r.w.core.ConsumersToRun(ctx)
	if err != nil || len(names) == 0 {
		return err
	}
	var params []river.InsertManyParams
	now := time.Now()
	for _, n := range names {
		if r.w.runs.due(n, now, r.w.pipeline.Poll) {
			params = append(params, river.InsertManyParams{Args: jobargs.Consume{Consumer: n}})
		}
	}
	if len(params) == 0 {
		return nil
	}
	_, err = r.Client.InsertMany(ctx, params)
	return err
}

// localRuns tracks this process's consumer runs and when the waker last enqueued one.
type localRuns struct {
	mu       sync.Mutex
	active   map[string]int
	enqueued map[string]time.Time
}

func (l *localRuns) begin(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active == nil {
		l.active = map[string]int{}
	}
	l.active[name]++
}

func (l *localRuns) end(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active[name]--
}

// due reports whether a run of name should be enqueued now, and notes it when so: not
// while one goes in this process, and not twice within every.
func (l *localRuns) due(name string, now time.Time, every time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active[name] > 0 || now.Sub(l.enqueued[name]) < every {
		return false
	}
	if l.enqueued == nil {
		l.enqueued = map[string]time.Time{}
	}
	l.enqueued[name] = now
	return true
}

// broadcast wakes every waiter at once: each channel that wait returned before a send is
// closed by it.
type broadcast struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *broadcast) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *broadcast) send() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}
