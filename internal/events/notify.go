package events

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Channel is the NOTIFY channel that wakes event readers. The payload is the newest event
// id the sender knows of; readers use it only as a hint and read the log itself.
const Channel = "starling_events"

// Notifier sends the wake-up NOTIFY after writes commit: at most one per Window, outside
// any write transaction, as an autocommit SELECT pg_notify(...). A transaction that runs
// NOTIFY takes a cluster-wide lock at commit; keeping NOTIFY out of the write transactions
// keeps their commits parallel.
type Notifier struct {
	pool   *pgxpool.Pool
	window time.Duration
	log    *slog.Logger

	newest atomic.Int64
	poke   chan struct{}
	once   sync.Once
	stop   chan struct{}
	done   chan struct{}

	// Sent counts NOTIFYs sent; Wakes counts Wake calls. Both are for tests and metrics.
	Sent, Wakes atomic.Int64
	// AfterSend, when set, is called with the payload after every NOTIFY (tests, metrics).
	AfterSend func(eventID int64)
}

// NewNotifier returns a Notifier sending through pool at most once per window (0 means
// 5 ms). Call Run to start it.
func NewNotifier(pool *pgxpool.Pool, window time.Duration, log *slog.Logger) *Notifier {
	if window <= 0 {
		window = 5 * time.Millisecond
	}
	return &Notifier{pool: pool, window: window, log: log, poke: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Wake records that event eventID committed and schedules a NOTIFY. It never blocks.
func (n *Notifier) Wake(eventID int64) {
	n.Wakes.Add(1)
	for {
		cur := n.newest.Load()
		if eventID <= cur || n.newest.CompareAndSwap(cur, eventID) {
			break
		}
	}
	select {
	case n.poke <- struct{}{}:
	default:
	}
}

// Run sends NOTIFYs until ctx ends or Close is called.
func (n *Notifier) Run(ctx context.Context) {
	defer close(n.done)
	var sent int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.stop:
			return
		case <-n.poke:
		}
		id := n.newest.Load()
		if id > sent {
			if _, err := n.pool.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, strconv.FormatInt(id, 10)); err != nil {
				if ctx.Err() == nil {
					// Readers poll as a fallback, so a lost wake-up only delays them.
					n.log.Warn("event wake-up NOTIFY failed", "err", err)
				}
			} else {
				sent = id
				n.Sent.Add(1)
				if n.AfterSend != nil {
					n.AfterSend(id)
				}
			}
		}
		select {
		case <-time.After(n.window):
		case <-ctx.Done():
			return
		case <-n.stop:
			return
		}
	}
}

// Close stops Run and waits for it.
func (n *Notifier) Close() {
	n.once.Do(func() { close(n.stop) })
	<-n.done
}
