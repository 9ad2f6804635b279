-- name: UserStatsGet :one
SELECT user_id, posts, mentions_received FROM user_stats WHERE user_id = @user_id;

-- name: DailyStatsFill :execrows
-- Computes every missing finished UTC day from @first_day to @last_day. Days already
-- computed are left alone, so running it again changes nothing.
INSERT INTO daily_stats (day, posts, active_authors, new_users, mentions, notifications_emailed)
SELECT b.day,
       (SELECT count(*) FROM posts p WHERE p.created_at >= b.lo AND p.created_at < b.hi),
       (SELECT count(DISTINCT p.author_id) FROM posts p WHERE p.created_at >= b.lo AND p.created_at < b.hi),
       (SELECT count(*) FROM users u WHERE u.created_at >= b.lo AND u.created_at < b.hi),
       (SELECT count(*) FROM mentions m JOIN posts p ON p.id = m.post_id WHERE p.created_at >= b.lo AND p.created_at < b.hi),
       (SELECT count(*) FROM email_deliveries e WHERE e.sent_at >= b.lo AND e.sent_at < b.hi)
FROM (
    SELECT d::date AS day,
           d AT TIME ZONE 'UTC' AS lo,
           (d + interval '1 day') AT TIME ZONE 'UTC' AS hi
    FROM generate_series(sqlc.arg(first_day)::date::timestamp, sqlc.arg(last_day)::date::timestamp, interval '1 day') AS d
) b
ON CONFLICT (day) DO NOTHING;

-- name: FirstActivityDay :one
-- The UTC day of the first account, where daily statistics begin.
SELECT coalesce(min((created_at AT TIME ZONE 'UTC')::date), '9999-12-31'::date)::date FROM users;

-- name: DailyStatsRecent :many
SELECT * FROM daily_stats WHERE day >= @since::date ORDER BY day;
