-- name: ConversationsUpsert :many
-- Puts direct post @post_id by @author_id in the conversation of each @user_ids[i] with
-- @others[i] (the other participants' ids, sorted, comma-separated), unread for all but
-- the author; returns the rows.
INSERT INTO conversations (user_id, participants, last_post_id, unread)
SELECT x.u, string_to_array(x.o, ',')::bigint[], @post_id, x.u <> @author_id::bigint
FROM (SELECT unnest(@user_ids::bigint[]) AS u, unnest(@others::text[]) AS o) AS x
ORDER BY x.u
ON CONFLICT (user_id, participants) DO UPDATE
SET last_post_id = GREATEST(conversations.last_post_id, excluded.last_post_id),
    unread = conversations.unread OR (excluded.unread AND excluded.last_post_id > conversations.last_post_id),
    updated_at = now()
RETURNING id, user_id, last_post_id;

-- name: ConversationsList :many
-- @user_id's conversations whose newest post is live, newest first, keyset-paginated by
-- that post's id.
SELECT c.id, c.participants, c.last_post_id, c.unread
FROM conversations c JOIN posts p ON p.id = c.last_post_id AND p.deleted_at IS NULL
WHERE c.user_id = @user_id AND c.last_post_id < @before AND c.last_post_id > @after
ORDER BY c.last_post_id DESC
LIMIT @row_limit;

-- name: ConversationsListAfter :many
SELECT c.id, c.participants, c.last_post_id, c.unread
FROM conversations c JOIN posts p ON p.id = c.last_post_id AND p.deleted_at IS NULL
WHERE c.user_id = @user_id AND c.last_post_id > @after AND c.last_post_id < @before
ORDER BY c.last_post_id
LIMIT @row_limit;

-- name: ConversationGet :one
SELECT c.id, c.participants, c.last_post_id, c.unread
FROM conversations c WHERE c.id = @id AND c.user_id = @user_id;

-- name: ConversationMarkRead :execrows
UPDATE conversations SET unread = false WHERE id = @id AND user_id = @user_id;

-- name: ConversationDelete :execrows
DELETE FROM conversations WHERE id = @id AND user_id = @user_id;

-- name: MentionedOf :many
-- The accounts each of @post_ids mentions.
SELECT post_id, user_id FROM mentions WHERE post_id = ANY(@post_ids::bigint[]) ORDER BY post_id, user_id;
