-- +goose Up

-- One row per consumer of the event log: the position (xid, event id) of the last event
-- whose effects it has applied. A consumer run locks its row, applies a batch of events
-- after the position and moves the position in the same transaction, so every event's
-- effects are applied exactly once. See docs/jobs.md.
CREATE TABLE consumers (
    name           text        PRIMARY KEY,
    xid            xid8        NOT NULL DEFAULT '0',
    event_id       bigint      NOT NULL DEFAULT 0,
    events_applied bigint      NOT NULL DEFAULT 0,
    applied_at     timestamptz
);

-- The effects of every event written so far were applied by the per-post jobs of the
-- previous version (docs/operations.md: let the workers drain the queue before upgrading),
-- so both consumers start after the newest event.
INSERT INTO consumers (name, xid, event_id)
SELECT c.name, coalesce(e.xid, '0'), coalesce(e.id, 0)
FROM (VALUES ('mentions'), ('counters')) AS c (name)
LEFT JOIN (SELECT xid, id FROM events ORDER BY xid DESC, id DESC LIMIT 1) AS e ON true;

-- The per-post ledger of counter changes is replaced by the consumers' positions.
DROP TABLE stats_applied;

-- The W3C traceparent of the request that wrote the event ('' without tracing), so that
-- the consumers' work on it continues the request's trace.
ALTER TABLE events ADD COLUMN trace text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE events DROP COLUMN trace;
CREATE TABLE stats_applied (
    key        text        PRIMARY KEY,
    counted    boolean     NOT NULL DEFAULT true,
    applied_at timestamptz NOT NULL DEFAULT now()
);
DROP TABLE consumers;
