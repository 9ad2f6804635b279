-- name: EventAppend :one
INSERT INTO events (topic, payload, request_id, trace) VALUES (@topic, @payload, @request_id, @trace)
RETURNING id;

-- name: EventListByTopic :many
-- Events of one topic in id order; used by tests and tools, not by the live stream.
SELECT id, topic, payload, request_id, created_at FROM events
WHERE topic = @topic AND id > @after
ORDER BY id
LIMIT @row_limit;

-- name: EventsReadable :many
-- Events after the cursor (xid, id) in (xid, id) order, only from transactions older than
-- every transaction still running: the set below that horizon can no longer change, so a
-- reader that advances its cursor through it never skips an event that commits late.
SELECT id, topic, payload, request_id, xid, created_at, trace FROM events
WHERE (xid, id) > (sqlc.arg(after_xid)::xid8, sqlc.arg(after_id)::bigint)
  AND xid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY xid, id
LIMIT sqlc.arg(row_limit);

-- name: EventsInRange :many
-- Events after one cursor up to and including another, in (xid, id) order.
SELECT id, topic, payload, request_id, xid, created_at, trace FROM events
WHERE (xid, id) > (sqlc.arg(after_xid)::xid8, sqlc.arg(after_id)::bigint)
  AND (xid, id) <= (sqlc.arg(upto_xid)::xid8, sqlc.arg(upto_id)::bigint)
ORDER BY xid, id
LIMIT sqlc.arg(row_limit);

-- name: EventsCountInRange :one
-- How many events lie after one cursor up to and including another, counting at most
-- @row_limit (an index-only scan of that many entries at most).
SELECT count(*) FROM (
    SELECT 1 FROM events
    WHERE (xid, id) > (sqlc.arg(after_xid)::xid8, sqlc.arg(after_id)::bigint)
      AND (xid, id) <= (sqlc.arg(upto_xid)::xid8, sqlc.arg(upto_id)::bigint)
    LIMIT sqlc.arg(row_limit)
) AS e;

-- name: EventsHead :one
-- The newest event below the read horizon: where a new reader starts.
SELECT xid, id FROM events
WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY xid DESC, id DESC
LIMIT 1;

-- name: EventsOldest :one
SELECT xid, id FROM events ORDER BY xid, id LIMIT 1;

-- name: EventExists :one
SELECT EXISTS (SELECT 1 FROM events WHERE id = sqlc.arg(id)::bigint AND xid = sqlc.arg(xid)::xid8);

-- name: EventsPrune :execrows
-- Deletes up to @row_limit events written before @before, oldest first, but none that a
-- consumer has yet to apply.
DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e
    WHERE e.created_at < @before
      AND NOT EXISTS (SELECT 1 FROM consumers c WHERE (e.xid, e.id) > (c.xid, c.event_id))
    ORDER BY e.id LIMIT @row_limit
);
