package events

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/store"
)

// Cursor is a position in the event log: the (transaction id, event id) of the last event
// read. Events are read in cursor order, which is stable and never skips an event whose
// transaction took a lower id but committed later (see ReadAfter).
type Cursor struct {
	Xid uint64
	ID  int64
}

// String renders the cursor as "XID-ID", the form used in SSE id: fields.
func (c Cursor) String() string {
	return strconv.FormatUint(c.Xid, 10) + "-" + strconv.FormatInt(c.ID, 10)
}

// Less reports whether c comes before d.
func (c Cursor) Less(d Cursor) bool {
	return c.Xid < d.Xid || (c.Xid == d.Xid && c.ID < d.ID)
}

// ErrBadCursor is returned for a cursor string that is not one of ours.
var ErrBadCursor = errors.New("malformed event cursor")

// ParseCursor parses the String form of a cursor.
func ParseCursor(s string) (Cursor, error) {
	x, i, ok := strings.Cut(s, "-")
	if !ok || len(s) > 41 {
		return Cursor{}, ErrBadCursor
	}
	xid, err1 := strconv.ParseUint(x, 10, 64)
	id, err2 := strconv.ParseInt(i, 10, 64)
	if err1 != nil || err2 != nil || id <= 0 || xid == 0 || strconv.FormatUint(xid, 10) != x || strconv.FormatInt(id, 10) != i {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{Xid: xid, ID: id}, nil
}

// Record is an event as read from the log.
type Record struct {
	Cursor    Cursor
	Topic     string
	Payload   []byte
	RequestID string
	// Trace is the W3C traceparent of the request that wrote it, or "".
	Trace     string
	CreatedAt time.Time
}

// ReadAfter returns up to limit events after c, in cursor order, from transactions that
// are all finished: it reads only below the oldest transaction still running
// (pg_snapshot_xmin), because a running transaction may still add an event with a lower
// id. Below that horizon the log cannot change any more, so advancing a cursor through it
// skips nothing.
func ReadAfter(ctx context.Context, q *store.Queries, c Cursor, limit int) ([]Record, error) {
	rows, err := q.EventsReadable(ctx, store.EventsReadableParams{AfterXid: c.Xid, AfterID: c.ID, RowLimit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return records(rows), nil
}

func records(rows []store.Event) []Record {
	out := make([]Record, len(rows))
	for i, r := range rows {
		out[i] = Record{Cursor: Cursor{r.Xid, r.ID}, Topic: r.Topic, Payload: r.Payload, RequestID: r.RequestID, Trace: r.Trace, CreatedAt: r.CreatedAt}
	}
	return out
}

// ReadRange returns up to limit events after from up to and including to, in cursor order.
// Use it only with a to that was below the read horizon when it was read.
func ReadRange(ctx context.Context, q *store.Queries, from, to Cursor, limit int) ([]Record, error) {
	rows, err := q.EventsInRange(ctx, store.EventsInRangeParams{
		AfterXid: from.Xid, AfterID: from.ID, UptoXid: to.Xid, UptoID: to.ID, RowLimit: int32(limit),
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return records(rows), nil
}

// CountRange returns how many events lie after from up to and including to, counting no
// further than limit: the cost of replaying that range is known before it is read.
func CountRange(ctx context.Context, q *store.Queries, from, to Cursor, limit int) (int, error) {
	n, err := q.EventsCountInRange(ctx, store.EventsCountInRangeParams{
		AfterXid: from.Xid, AfterID: from.ID, UptoXid: to.Xid, UptoID: to.ID, RowLimit: int32(limit),
	})
	if err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return int(n), nil
}

// Head returns the cursor of the newest readable event, or the zero Cursor when there is
// none: where a reader that wants only new events starts.
func Head(ctx context.Context, q *store.Queries) (Cursor, error) {
	r, err := q.EventsHead(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return Cursor{}, fmt.Errorf("event head: %w", err)
	}
	return Cursor{r.Xid, r.ID}, nil
}

// ErrCursorExpired means the cursor points before the retained event log: the reader
// must start over (reload) because events may have been pruned.
var ErrCursorExpired = errors.New("event cursor is older than the retained log")

// ErrUnknownCursor means the cursor is well-formed but names no event of this log.
var ErrUnknownCursor = errors.New("event cursor names no event of this server")

// Check verifies that c names an event of this log. It returns ErrCursorExpired when the
// event was pruned and ErrUnknownCursor when it never existed here.
func Check(ctx context.Context, q *store.Queries, c Cursor) error {
	ok, err := q.EventExists(ctx, store.EventExistsParams{ID: c.ID, Xid: c.Xid})
	if err != nil {
		return fmt.Errorf("check cursor: %w", err)
	}
	if ok {
		return nil
	}
	oldest, err := q.EventsOldest(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrUnknownCursor
	}
	if err != nil {
		return fmt.Errorf("check cursor: %w", err)
	}
	if c.Less(Cursor{oldest.Xid, oldest.ID}) {
		return ErrCursorExpired
	}
	return ErrUnknownCursor
}

// Reader reads the event log through a database handle, usually the pool: the methods of
// this file bound to it, for readers (such as the live hub) that hold no store.Queries.
type Reader struct {
	q *store.Queries
}

// NewReader returns a Reader that queries db.
func NewReader(db store.DBTX) *Reader { return &Reader{q: store.New(db)} }

// Head is Head through r.
func (r *Reader) Head(ctx context.Context) (Cursor, error) { return Head(ctx, r.q) }

// ReadAfter is ReadAfter through r.
func (r *Reader) ReadAfter(ctx context.Context, c Cursor, limit int) ([]Record, error) {
	return ReadAfter(ctx, r.q, c, limit)
}

// ReadRange is ReadRange through r.
func (r *Reader) ReadRange(ctx context.Context, from, to Cursor, limit int) ([]Record, error) {
	return ReadRange(ctx, r.q, from, to, limit)
}

// CountRange is CountRange through r.
func (r *Reader) CountRange(ctx context.Context, from, to Cursor, limit int) (int, error) {
	return CountRange(ctx, r.q, from, to, limit)
}

// Check is Check through r.
func (r *Reader) Check(ctx context.Context, c Cursor) error { return Check(ctx, r.q, c) }
