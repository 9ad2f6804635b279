package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/trace"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/reqid"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/tracing"
)

// A consumer applies one concern's side effects of the event log: it reads the events
// after its position in batches, applies each batch's effects together and moves its
// position, in one transaction, so that every event's effects are applied exactly once
// (docs/jobs.md). Adding a consumer is one entry in consumers.
type consumer struct {
	// name is the consumer's row in the consumers table.
	name string
	// topics are the topics whose events apply hands over; the others only move the
	// position past them.
	topics []string
	// apply applies the effects of batch (events of topics only, in log order) in tx. It
	// returns the id of the newest event it appended itself, or 0, for the wake-up sent
	// after the commit.
	apply func(s *Service, ctx context.Context, tx pgx.Tx, q *store.Queries, run *batchRun, batch []events.Record) (int64, error)
}

// consumers are every consumer of the event log, in the order they are reported.
var consumers = []consumer{
	{name: "counters", topics: []string{events.TopicPostCreated, events.TopicPostDeleted,
		events.TopicFavouriteCreated, events.TopicFavouriteDeleted}, apply: (*Service).applyCounters},
	{name: "mentions", topics: []string{events.TopicPostCreated, events.TopicPostUpdated, events.TopicPostDeleted}, apply: (*Service).applyMentions},
	{name: "interactions", topics: []string{events.TopicPostCreated, events.TopicFavouriteCreated, events.TopicFollowCreated, events.TopicFollowRequested},
		apply: (*Service).applyInteractions},
	{name: "conversations", topics: []string{events.TopicPostCreated}, apply: (*Service).applyConversations},
	{name: "search", topics: []string{events.TopicPostCreated, events.TopicPostUpdated, events.TopicPostDeleted}, apply: (*Service).applySearch},
}

// ConsumerNames returns the name of every consumer of the event log.
func ConsumerNames() []string {
	names := make([]string, len(consumers))
	for i, c := range consumers {
		names[i] = c.name
	}
	return names
}

// DefaultConsumeBatch is how many events one batch reads at most.
const DefaultConsumeBatch = 1000

// Batch says what one ConsumeBatch call did.
type Batch struct {
	// Events is how many events the batch read (0: the consumer is caught up).
	Events int
	// Busy is true when another run held the consumer: this call did nothing.
	Busy bool
	// Lag is the age of the newest event of the batch when the batch committed.
	Lag time.Duration
}

// EnsureConsumers gives every consumer without a row one at the start of the retained log,
// from where it backfills. Call it before the first ConsumeBatch.
func (s *Service) EnsureConsumers(ctx context.Context) error {
	for _, c := range consumers {
		if err := s.q.ConsumerEnsure(ctx, c.name); err != nil {
			return fmt.Errorf("ensure consumer %s: %w", c.name, err)
		}
	}
	return nil
}

// ConsumeBatch applies the effects of up to limit events after consumer name's position
// and moves the position past them, in one transaction that holds the consumer's row: a
// run that finds the row held by another returns at once with Busy. A crash undoes the
// whole batch, which the next run applies again.
func (s *Service) ConsumeBatch(ctx context.Context, name string, limit int) (Batch, error) {
	i := slices.IndexFunc(consumers, func(c consumer) bool { return c.name == name })
	if i < 0 {
		return Batch{}, fmt.Errorf("%w: unknown consumer %q", ErrBadJob, name)
	}
	c := consumers[i]
	if limit <= 0 {
		limit = DefaultConsumeBatch
	}
	var b Batch
	var newest time.Time
	var appended int64
	var run *batchRun
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if run != nil {
			run.end(errors.New("retried"))
		}
		b, appended, run = Batch{}, 0, &batchRun{s: s, consumer: name, ctx: ctx}
		pos, err := q.ConsumerLock(ctx, name)
		if errors.Is(err, pgx.ErrNoRows) {
			b.Busy = true
			return nil
		}
		if err != nil {
			return err
		}
		read, err := events.ReadAfter(ctx, q, events.Cursor{Xid: pos.Xid, ID: pos.EventID}, limit)
		if err != nil || len(read) == 0 {
			return err
		}
		b.Events = len(read)
		mine := make([]events.Record, 0, len(read))
		for _, r := range read {
			if slices.Contains(c.topics, r.Topic) {
				mine = append(mine, r)
			}
			newest = r.CreatedAt
		}
		if len(mine) > 0 {
			if appended, err = c.apply(s, ctx, tx, q, run, mine); err != nil {
				return err
			}
		}
		last := read[len(read)-1].Cursor
		return q.ConsumerAdvance(ctx, store.ConsumerAdvanceParams{Xid: last.Xid, EventID: last.ID, Applied: int64(len(read)), Name: name})
	})
	run.end(err)
	if err != nil {
		return Batch{}, fmt.Errorf("consumer %s: %w", name, err)
	}
	if b.Events > 0 {
		b.Lag = time.Since(newest)
	}
	s.woke(events.TopicNotificationCreated, appended)
	return b, nil
}

// ConsumersToRun returns the consumers that have readable events after their position
// and no run waiting to start.
func (s *Service) ConsumersToRun(ctx context.Context) ([]string, error) {
	names, err := s.q.ConsumersToRun(ctx)
	if err != nil {
		return nil, fmt.Errorf("consumers to run: %w", err)
	}
	return names, nil
}

// ConsumerLag is how far one consumer is behind the log.
type ConsumerLag struct {
	Name string
	// Behind is how many events follow its position, counted up to MaxLagCount.
	Behind int64
	// Oldest is when the oldest of those events was written; zero when there is none.
	Oldest time.Time
	// Applied is how many events it has read since it was created.
	Applied int64
	// AppliedAt is when its position last moved; zero when it never has.
	AppliedAt time.Time
}

// MaxLagCount bounds the count of events behind a consumer, so that the figure costs an
// index scan of at most that many entries.
const MaxLagCount = 1_000_000

// ConsumerLags returns the lag of every consumer.
func (s *Service) ConsumerLags(ctx context.Context) ([]ConsumerLag, error) {
	rows, err := s.q.ConsumersLag(ctx, MaxLagCount)
	if err != nil {
		return nil, fmt.Errorf("consumer lag: %w", err)
	}
	out := make([]ConsumerLag, len(rows))
	for i, r := range rows {
		l := ConsumerLag{Name: r.Name, Behind: r.Behind, Applied: r.EventsApplied}
		if r.OldestUnapplied.Unix() > 0 {
			l.Oldest = r.OldestUnapplied
		}
		if r.AppliedAt != nil {
			l.AppliedAt = *r.AppliedAt
		}
		out[i] = l
	}
	return out, nil
}

// decodeBatch decodes the records of batch whose topic is T's, in order.
func decodeAll[T events.Event](batch []events.Record) ([]T, error) {
	var zero T
	out := make([]T, 0, len(batch))
	for _, r := range batch {
		if r.Topic != zero.Topic() {
			continue
		}
		ev, err := events.Decode(r.Topic, r.Payload)
		if err != nil {
			return nil, err
		}
		t, ok := ev.(T)
		if !ok {
			return nil, fmt.Errorf("event %s decodes to %T", r.Topic, ev)
		}
		out = append(out, t)
	}
	return out, nil
}

// sortedDeltas turns per-user deltas into the sorted, distinct ids and their non-zero
// deltas that the counter upserts take.
func sortedDeltas(m map[int64]int64) (ids, deltas []int64) {
	for id, d := range m {
		if d != 0 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	deltas = make([]int64, len(ids))
	for i, id := range ids {
		deltas[i] = m[id]
	}
	return ids, deltas
}

// QueueDepth is how many jobs of one queue are in one unfinished state.
type QueueDepth struct {
	Queue, State string
	Jobs         int64
	// Oldest is the age of the oldest: since it became due (available, retryable), since
	// its attempt began (running), or since it was enqueued (scheduled, pending).
	Oldest time.Duration
}

// QueueDepths returns the unfinished jobs by queue and state.
func (s *Service) QueueDepths(ctx context.Context) ([]QueueDepth, error) {
	rows, err := s.q.JobQueueDepths(ctx)
	if err != nil {
		return nil, fmt.Errorf("queue depths: %w", err)
	}
	out := make([]QueueDepth, len(rows))
	for i, r := range rows {
		out[i] = QueueDepth{Queue: r.Queue, State: r.State, Jobs: r.Jobs,
			Oldest: time.Duration(max(r.OldestSeconds, 0) * float64(time.Second))}
	}
	return out, nil
}

// batchRun is what a consumer's apply may use besides the transaction: a context per event
// that carries the event's request id and continues its request's trace (for the jobs it
// enqueues), and log lines written only once the batch has committed.
type batchRun struct {
	s        *Service
	consumer string
	ctx      context.Context
	ctxs     map[int64]context.Context
	spans    []trace.Span
	logs     []func()
}

// ctxOf returns the context of the work on r: the request id of the request that wrote r,
// and, when that request was traced, a span continuing its trace.
func (b *batchRun) ctxOf(r events.Record) context.Context {
	if c, ok := b.ctxs[r.Cursor.ID]; ok {
		return c
	}
	ctx := b.ctx
	if reqid.Valid(r.RequestID) {
		ctx = reqid.With(ctx, r.RequestID)
	}
	if r.Trace != "" {
		var span trace.Span
		ctx, span = tracing.StartConsume(ctx, b.consumer, r.Trace)
		b.spans = append(b.spans, span)
	}
	if b.ctxs == nil {
		b.ctxs = map[int64]context.Context{}
	}
	b.ctxs[r.Cursor.ID] = ctx
	return ctx
}

// jobMetadata is the River metadata of a job enqueued for r: its request id and trace, as
// the job middleware would set them had r's request enqueued the job itself.
func (b *batchRun) jobMetadata(r events.Record) []byte {
	ctx := b.ctxOf(r)
	meta := map[string]any{}
	if id := reqid.From(ctx); id != "" {
		meta["request_id"] = id
	}
	if tp := tracing.Traceparent(ctx); tp != "" {
		meta["trace"] = map[string]string{"traceparent": tp}
	}
	if len(meta) == 0 {
		return nil
	}
	out, _ := json.Marshal(meta) // a map of strings always marshals
	return out
}

// log writes an info line about r once the batch has committed.
func (b *batchRun) log(r events.Record, msg string, args ...any) {
	ctx := b.ctxOf(r)
	b.logs = append(b.logs, func() { b.s.log.InfoContext(ctx, msg, args...) })
}

// end ends the batch's spans and, when it committed (err nil), writes its log lines. A nil
// batchRun (the transaction never began) has nothing to end.
func (b *batchRun) end(err error) {
	if b == nil {
		return
	}
	for _, sp := range b.spans {
		tracing.End(sp, err)
	}
	b.spans = nil
	if err == nil {
		for _, l := range b.logs {
			l()
		}
	}
	b.logs = nil
}
