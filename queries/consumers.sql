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
SELECT id, author_id, body, visibility FROM posts WHERE id = ANY(@ids::bigint[]) AND deleted_at IS NULL;

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
ON CONFLICT (post_id, recipient_id) WHERE kind = 'mention' DO NOTHING
RETURNING id, recipient_id, coalesce(post_id, 0)::bigint AS post_id;

-- name: MentionsOfPosts :many
-- The counted mentions of @post_ids (see MentionsCount).
SELECT post_id, user_id FROM mentions WHERE post_id = ANY(@post_ids::bigint[]) AND counted;

-- name: MentionsCount :exec
-- Marks the mentions (@post_ids[i], @user_ids[i]) as counted in mentions_received.
UPDATE mentions m SET counted = true
FROM (SELECT unnest(sqlc.arg(post_ids)::bigint[]) AS p, unnest(sqlc.arg(user_ids)::bigint[]) AS u) AS x
WHERE m.post_id = x.p AND m.user_id = x.u;

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

-- name: NotificationsInsertFavourites :many
-- One favourite notification per favourite of @favourite_ids that still stands, to the
-- post's author (not for favouriting one's own post); returns those created now.
INSERT INTO notifications (recipient_id, actor_id, kind, post_id, favourite_id)
SELECT p.author_id, f.user_id, 'favourite', f.post_id, f.id
FROM favourites f JOIN posts p ON p.id = f.post_id AND p.deleted_at IS NULL
WHERE f.id = ANY(@favourite_ids::bigint[]) AND f.user_id <> p.author_id
ORDER BY f.id
ON CONFLICT (favourite_id) DO NOTHING
RETURNING id, recipient_id, coalesce(post_id, 0)::bigint AS post_id, coalesce(favourite_id, 0)::bigint AS activity_id;

-- name: NotificationsInsertReblogs :many
-- One reblog notification per boost of @reblog_ids that still stands, to the boosted
-- post's author (not for boosting one's own post); returns those created now.
INSERT INTO notifications (recipient_id, actor_id, kind, post_id, reblog_id)
SELECT o.author_id, r.author_id, 'reblog', o.id, r.id
FROM posts r JOIN posts o ON o.id = r.reblog_of_id AND o.deleted_at IS NULL
WHERE r.id = ANY(@reblog_ids::bigint[]) AND r.author_id <> o.author_id
ORDER BY r.id
ON CONFLICT (reblog_id) DO NOTHING
RETURNING id, recipient_id, coalesce(post_id, 0)::bigint AS post_id, coalesce(reblog_id, 0)::bigint AS activity_id;

-- name: NotificationsInsertFollows :many
-- One follow notification per follow of @follow_ids that still stands, but for those the
-- followed account accepted (from a request); returns those created now.
INSERT INTO notifications (recipient_id, actor_id, kind, follow_id)
SELECT f.followee_id, f.follower_id, 'follow', f.id
FROM follows f
WHERE f.id = ANY(@follow_ids::bigint[]) AND NOT f.from_request
ORDER BY f.id
ON CONFLICT (follow_id) DO NOTHING
RETURNING id, recipient_id, coalesce(post_id, 0)::bigint AS post_id, coalesce(follow_id, 0)::bigint AS activity_id;

-- name: PostStatsAddMany :exec
-- Adds each post's deltas to its counters (one row per post id).
INSERT INTO post_stats (post_id, replies, favourites, reblogs)
SELECT x.post_id, x.replies, x.favourites, x.reblogs
FROM (SELECT unnest(sqlc.arg(post_ids)::bigint[]) AS post_id, unnest(sqlc.arg(replies)::bigint[]) AS replies,
             unnest(sqlc.arg(favourites)::bigint[]) AS favourites, unnest(sqlc.arg(reblogs)::bigint[]) AS reblogs) AS x
WHERE EXISTS (SELECT 1 FROM posts p WHERE p.id = x.post_id)
ORDER BY x.post_id
ON CONFLICT (post_id) DO UPDATE SET replies = post_stats.replies + excluded.replies,
    favourites = post_stats.favourites + excluded.favourites, reblogs = post_stats.reblogs + excluded.reblogs;
