-- name: PostLockForJob :one
-- Locks a post for the duration of a worker's transaction so that a delete and the
-- workers applying its effects take turns.
SELECT id, author_id, body, deleted_at FROM posts WHERE id = @id FOR UPDATE;

-- name: UserIDsByUsernames :many
SELECT id, username, email_mentions FROM users WHERE lower(username) = ANY(@names::text[]) ORDER BY id;

-- name: MentionsInsert :exec
INSERT INTO mentions (post_id, user_id)
SELECT @post_id, u FROM unnest(@user_ids::bigint[]) AS u
ON CONFLICT DO NOTHING;

-- name: MentionedUsernamesForPosts :many
-- The users each post mentions, for linking @names when rendering.
SELECT m.post_id, m.user_id, lower(u.username)::text AS username
FROM mentions m JOIN users u ON u.id = m.user_id
WHERE m.post_id = ANY(@post_ids::bigint[]);
