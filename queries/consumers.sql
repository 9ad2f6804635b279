-- name: ConsumerEnsure :exec
-- Registers a consumer that has no row yet at the start of the retained log, so that it
-- backfills from there (docs/jobs.md).
INSERT INTO consumers (name) VALUES (@name) ON CONFLICT (name) DO NOTHING;

-- name: ConsumerLock :one
-- Takes the consumer's row for one batch. No row means another run holds it.
SELECT name, xid, event_id FROM consumers WHERE name = @name FOR UPDATE SKIP LOCKED;

-- name: ConsumerAdvance :exec
UPDATE consumers
SET xid = sqlc.arg(xid)::xid8, event_id = sqlc.arg(event_id)::bigint,
    events_applied = events_applied + sqlc.arg(applied)::bigint, applied_at = now()
WHERE name = sqlc.arg(name)::text;

-- name: ConsumersToRun :many
-- The consumers with readable events after their position and no run waiting for a slot
-- (a run already going does not count: it may be a dead worker's; nor does one waiting to
-- retry after a failure, which may wait minutes).
SELECT c.name FROM consumers c
WHERE EXISTS (
    SELECT 1 FROM events e
    WHERE (e.xid, e.id) > (c.xid, c.event_id) AND e.xid < pg_snapshot_xmin(pg_current_snapshot())
)
AND NOT EXISTS (
    SELECT 1 FROM river_job j
    WHERE j.kind = 'consume' AND j.state = 'available'
      AND j.args->>'consumer' = c.name
)
ORDER BY c.name;

-- name: ConsumersLag :many
-- Each consumer's lag: how many events follow its position (counting at most @max_count)
-- and when the oldest of them was written ('epoch' when there is none).
SELECT c.name, c.events_applied, c.applied_at,
    (SELECT count(*) FROM (
        SELECT 1 FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id) LIMIT sqlc.arg(max_count)::bigint
    ) AS b)::bigint AS behind,
    coalesce((SELECT e.created_at FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id)
              ORDER BY e.xid, e.id LIMIT 1), 'epoch')::timestamptz AS oldest_unapplied
FROM consumers c ORDER BY c.name;

-- name: EventsAppendMany :many
-- Appends several events at once, in the order given.
INSERT INTO events (topic, payload, request_id, trace)
SELECT x.t, x.p::jsonb, x.r, x.tr
FROM (SELECT unnest(sqlc.arg(topics)::text[]) AS t, unnest(sqlc.arg(payloads)::text[]) AS p,
             unnest(sqlc.arg(request_ids)::text[]) AS r, unnest(sqlc.arg(traces)::text[]) AS tr,
             generate_subscripts(sqlc.arg(topics)::text[], 1) AS n) AS x
ORDER BY x.n
RETURNING id;

-- name: PostsLiveByIDs :many
-- The posts of @ids that are not deleted, for the mentions consumer.
SELECT id, author_id, body FROM posts WHERE id = ANY(@ids::bigint[]) AND deleted_at IS NULL;

-- name: MentionsInsertPairs :exec
INSERT INTO mentions (post_id, user_id)
SELECT unnest(sqlc.arg(post_ids)::bigint[]), unnest(sqlc.arg(user_ids)::bigint[])
ON CONFLICT DO NOTHING;

-- name: NotificationsInsertMentionPairs :many
-- One mention notification per (post, recipient); returns only those created now.
INSERT INTO notifications (recipient_id, actor_id, kind, post_id)
SELECT x.r, x.a, 'mention', x.p
FROM (SELECT unnest(sqlc.arg(recipient_ids)::bigint[]) AS r, unnest(sqlc.arg(actor_ids)::bigint[]) AS a,
             unnest(sqlc.arg(post_ids)::bigint[]) AS p) AS x
ORDER BY x.p, x.r
ON CONFLICT (kind, post_id, recipient_id) DO NOTHING
RETURNING id, recipient_id, post_id;

-- name: MentionsOfPosts :many
SELECT post_id, user_id FROM mentions WHERE post_id = ANY(@post_ids::bigint[]);

-- name: UserStatsAddPostsMany :exec
-- Adds each delta to its user's post count; the ids are distinct and sorted, so that two
-- consumers updating counters take the rows' locks in the same order.
INSERT INTO user_stats (user_id, posts)
SELECT x.u, x.d FROM (SELECT unnest(sqlc.arg(user_ids)::bigint[]) AS u, unnest(sqlc.arg(deltas)::bigint[]) AS d) AS x
ORDER BY x.u
ON CONFLICT (user_id) DO UPDATE SET posts = user_stats.posts + EXCLUDED.posts;

-- name: UserStatsAddMentionsMany :exec
-- Adds each delta to its user's mentions-received count (distinct, sorted ids).
INSERT INTO user_stats (user_id, mentions_received)
SELECT x.u, x.d FROM (SELECT unnest(sqlc.arg(user_ids)::bigint[]) AS u, unnest(sqlc.arg(deltas)::bigint[]) AS d) AS x
ORDER BY x.u
ON CONFLICT (user_id) DO UPDATE SET mentions_received = user_stats.mentions_received + EXCLUDED.mentions_received;

-- name: JobQueueDepths :many
-- Unfinished jobs by queue and state, with the age of the oldest: since it became due
-- (available, retryable), since its attempt began (running), or since it was enqueued.
SELECT queue, state::text AS state, count(*)::bigint AS jobs,
    extract(epoch FROM now() - min(CASE state
        WHEN 'available' THEN scheduled_at WHEN 'retryable' THEN scheduled_at
        WHEN 'running' THEN coalesce(attempted_at, created_at)
        ELSE created_at END))::float8 AS oldest_seconds
FROM river_job
WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
GROUP BY queue, state
ORDER BY queue, state;
