-- name: UserIDsByUsernames :many
SELECT id, username, email_mentions FROM users WHERE lower(username) = ANY(@names::text[]) ORDER BY id;

-- name: MentionedUsernamesForPosts :many
-- The users each post mentions, for linking @names when rendering.
SELECT m.post_id, m.user_id, lower(u.username)::text AS username
FROM mentions m JOIN users u ON u.id = m.user_id
WHERE m.post_id = ANY(@post_ids::bigint[]);
