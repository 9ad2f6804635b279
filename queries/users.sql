-- name: UserCreate :one
INSERT INTO users (username, email, password_hash, display_name)
VALUES (@username, @email, @password_hash, @display_name)
RETURNING *;

-- name: UserGetByID :one
SELECT * FROM users WHERE id = @id;

-- name: UserGetByUsername :one
SELECT * FROM users WHERE lower(username) = lower(@username);

-- name: UserGetByLogin :one
-- Finds the account for a login form that accepts a username or an email address.
SELECT * FROM users
WHERE lower(username) = lower(@login) OR lower(email) = lower(@login)
ORDER BY id
LIMIT 1;

-- name: UserSetAdmin :many
UPDATE users SET is_admin = @is_admin WHERE lower(username) = lower(@username) RETURNING id;

-- name: UserUpdateSettings :exec
UPDATE users SET display_name = @display_name, bio = @bio, email_mentions = @email_mentions, theme = @theme
WHERE id = @id;

-- name: UserStatsMany :many
-- Profile counts of several users at once: the post count maintained by the stats worker,
-- follow counts, and the newest post's time (index-only lookups, whatever the sizes).
SELECT u.id,
    coalesce((SELECT s.posts FROM user_stats s WHERE s.user_id = u.id), 0)::bigint AS posts,
    (SELECT count(*) FROM follows f WHERE f.followee_id = u.id) AS followers,
    (SELECT count(*) FROM follows f WHERE f.follower_id = u.id) AS following,
    coalesce((SELECT p.created_at FROM posts p WHERE p.author_id = u.id AND p.deleted_at IS NULL
              ORDER BY p.id DESC LIMIT 1), 'epoch')::timestamptz AS last_post_at
FROM users u WHERE u.id = ANY(@ids::bigint[]);

-- name: FollowersOf :many
SELECT u.* FROM follows f JOIN users u ON u.id = f.follower_id
WHERE f.followee_id = @user_id AND u.id < @before AND u.id > @after
ORDER BY u.id DESC LIMIT @row_limit;

-- name: FollowersOfAfter :many
-- The followers just above @after, oldest first (Mastodon's min_id).
SELECT u.* FROM follows f JOIN users u ON u.id = f.follower_id
WHERE f.followee_id = @user_id AND u.id > @after AND u.id < @before
ORDER BY u.id LIMIT @row_limit;

-- name: FollowingOf :many
SELECT u.* FROM follows f JOIN users u ON u.id = f.followee_id
WHERE f.follower_id = @user_id AND u.id < @before AND u.id > @after
ORDER BY u.id DESC LIMIT @row_limit;

-- name: FollowingOfAfter :many
SELECT u.* FROM follows f JOIN users u ON u.id = f.followee_id
WHERE f.follower_id = @user_id AND u.id > @after AND u.id < @before
ORDER BY u.id LIMIT @row_limit;

-- name: Relationships :many
SELECT u.id,
    EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = @viewer_id AND f.followee_id = u.id) AS following,
    EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = u.id AND f.followee_id = @viewer_id) AS followed_by,
    EXISTS (SELECT 1 FROM follow_requests r WHERE r.requester_id = @viewer_id AND r.target_id = u.id) AS requested,
    EXISTS (SELECT 1 FROM follow_requests r WHERE r.requester_id = u.id AND r.target_id = @viewer_id) AS requested_by
FROM users u WHERE u.id = ANY(@ids::bigint[]);

-- name: InstanceCounts :one
SELECT (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM posts WHERE deleted_at IS NULL) AS posts;

-- name: UserSetPassword :exec
UPDATE users SET password_hash = @password_hash, sessions_valid_after = now() WHERE id = @id;

-- name: UserEndSessions :exec
UPDATE users SET sessions_valid_after = now() WHERE id = @id;

-- name: InstanceActiveAuthors :one
-- The accounts that wrote a live post in the last 30 days (instance v2's active_month).
SELECT count(DISTINCT author_id) FROM posts
WHERE deleted_at IS NULL AND created_at > now() - interval '30 days';

-- name: UserGetForUpdate :one
-- Locks the account row until the transaction ends (without blocking rows that refer to
-- it), so that decisions per account, such as email verification and the mention email
-- bound, are taken one at a time.
SELECT * FROM users WHERE id = @id FOR NO KEY UPDATE;

-- name: UserSetEmail :exec
-- A new address is unverified until a link sent to it is used.
UPDATE users SET email = @email, email_verified_at = NULL WHERE id = @id;

-- name: UserSetEmailVerified :exec
UPDATE users SET email_verified_at = now() WHERE id = @id;

-- name: UsersByIDs :many
SELECT * FROM users WHERE id = ANY(@ids::bigint[]);

-- name: UsersDirectory :many
-- Every account that lists itself (discoverable), the newest first: the people directory.
SELECT * FROM users WHERE id < @before AND discoverable ORDER BY id DESC LIMIT @row_limit;

-- name: UserUpdateProfile :one
-- Changes the given parts of @id's profile; a NULL leaves its part as it is.
UPDATE users SET
    display_name       = coalesce(sqlc.narg(display_name)::text, display_name),
    bio                = coalesce(sqlc.narg(bio)::text, bio),
    bot                = coalesce(sqlc.narg(bot)::boolean, bot),
    discoverable       = coalesce(sqlc.narg(discoverable)::boolean, discoverable),
    fields             = coalesce(sqlc.narg(fields)::jsonb, fields),
    default_visibility = coalesce(sqlc.narg(default_visibility)::text, default_visibility),
    default_sensitive  = coalesce(sqlc.narg(default_sensitive)::boolean, default_sensitive),
    default_language   = CASE WHEN sqlc.arg(set_language)::boolean THEN sqlc.narg(default_language)::text
                              ELSE default_language END
WHERE id = sqlc.arg(id)
RETURNING *;
