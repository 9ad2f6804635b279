-- name: PostCreate :one
INSERT INTO posts (author_id, body, language, app_id, visibility, spoiler_text, sensitive,
                   in_reply_to_id, in_reply_to_account_id)
VALUES (@author_id, @body, sqlc.narg('language'), sqlc.narg('app_id'), @visibility, @spoiler_text, @sensitive,
        sqlc.narg('in_reply_to_id'), sqlc.narg('in_reply_to_account_id'))
RETURNING *;

-- name: ReblogCreate :one
-- Boosts @reblog_of_id as @author_id; no row when they had boosted it already.
INSERT INTO posts (author_id, body, visibility, reblog_of_id, app_id)
VALUES (@author_id, '', @visibility, @reblog_of_id, sqlc.narg('app_id'))
ON CONFLICT (reblog_of_id, author_id) WHERE reblog_of_id IS NOT NULL DO NOTHING
RETURNING *;

-- name: ReblogDelete :one
-- Undoes @author_id's boost of @reblog_of_id; no row when there was none.
DELETE FROM posts WHERE author_id = @author_id AND reblog_of_id = @reblog_of_id
RETURNING *;

-- name: PostForUpdate :one
-- The live post @id, locked for an edit or a deletion.
SELECT * FROM posts WHERE id = @id AND deleted_at IS NULL FOR UPDATE;

-- name: PostEditSave :exec
-- Keeps the current version of post @id before an edit.
INSERT INTO post_edits (post_id, body, spoiler_text, sensitive, language, created_at)
SELECT p.id, p.body, p.spoiler_text, p.sensitive, p.language, coalesce(p.edited_at, p.created_at)
FROM posts p WHERE p.id = @id;

-- name: PostEdit :one
UPDATE posts SET body = @body, spoiler_text = @spoiler_text, sensitive = @sensitive,
                 language = sqlc.narg('language'), edited_at = now()
WHERE id = @id
RETURNING *;

-- name: PostEdits :many
-- The earlier versions of post @id, oldest first.
SELECT * FROM post_edits WHERE post_id = @post_id ORDER BY id;

-- name: PostGetByID :one
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id = @id AND p.deleted_at IS NULL;

-- name: PostSoftDelete :execrows
UPDATE posts SET deleted_at = now() WHERE id = @id AND deleted_at IS NULL;

-- name: PostListPublic :many
-- Public posts (no boosts), newest first, keyset-paginated by id: rows with id < @before.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.visibility = 'public' AND p.reblog_of_id IS NULL
  AND p.id < @before AND p.id > @after
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostListByAuthor :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.author_id = @author_id AND p.deleted_at IS NULL AND p.id < @before AND p.id > @after
  AND may_see(@viewer_id, p.author_id, p.visibility, p.id)
  AND NOT (@exclude_replies::boolean AND p.in_reply_to_id IS NOT NULL AND p.in_reply_to_account_id IS DISTINCT FROM p.author_id)
  AND NOT (@exclude_reblogs::boolean AND p.reblog_of_id IS NOT NULL)
  AND NOT (@exclude_direct::boolean AND p.visibility = 'direct')
  AND (@tagged_id::bigint = 0 OR p.id IN (SELECT pt.post_id FROM post_tags pt WHERE pt.tag_id = @tagged_id))
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id))
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostListHome :many
-- The viewer's own posts, those of everyone they follow and the listed posts with a tag
-- they follow, newest first.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.id < @before AND p.id > @after
  AND (p.author_id = @viewer_id
       OR p.author_id IN (SELECT f.followee_id FROM follows f WHERE f.follower_id = @viewer_id)
       OR p.id IN (SELECT pt.post_id FROM post_tags pt JOIN tag_follows tf ON tf.tag_id = pt.tag_id
                   WHERE tf.user_id = @viewer_id AND pt.listed))
  AND may_see(@viewer_id, p.author_id, p.visibility, p.id)
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media m WHERE m.post_id = coalesce(p.reblog_of_id, p.id)))
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostsByIDs :many
-- The live posts among @ids, whoever may see them (the caller decides).
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id = ANY(@ids::bigint[]) AND p.deleted_at IS NULL;

-- name: PostsVisibleByIDs :many
-- The live posts among @ids that @viewer_id may see.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id = ANY(@ids::bigint[]) AND p.deleted_at IS NULL
  AND may_see(@viewer_id, p.author_id, p.visibility, p.id);

-- name: PostStatsOf :many
SELECT post_id, replies, favourites, reblogs FROM post_stats WHERE post_id = ANY(@ids::bigint[]);

-- name: ViewerStateOf :many
-- What @viewer_id did to each of @ids: favourited, boosted, bookmarked, pinned.
SELECT x.id::bigint AS post_id,
       EXISTS (SELECT 1 FROM favourites f WHERE f.post_id = x.id AND f.user_id = @viewer_id) AS favourited,
       EXISTS (SELECT 1 FROM posts r WHERE r.reblog_of_id = x.id AND r.author_id = @viewer_id) AS reblogged,
       EXISTS (SELECT 1 FROM bookmarks b WHERE b.post_id = x.id AND b.user_id = @viewer_id) AS bookmarked,
       EXISTS (SELECT 1 FROM pins n WHERE n.post_id = x.id AND n.user_id = @viewer_id) AS pinned
FROM unnest(@ids::bigint[]) AS x (id);

-- name: PostAncestors :many
-- The posts above @id in its thread, nearest first, at most @row_limit, that @viewer_id
-- may see. The walk stops at @row_limit steps whatever it finds.
WITH RECURSIVE up (id, parent, depth) AS (
    SELECT p.id, p.in_reply_to_id, 0 FROM posts p WHERE p.id = @id
    UNION ALL
    SELECT p.id, p.in_reply_to_id, up.depth + 1
    FROM up JOIN posts p ON p.id = up.parent
    WHERE up.depth < @row_limit::int
)
SELECT sqlc.embed(p), sqlc.embed(u)
FROM up JOIN posts p ON p.id = up.id JOIN users u ON u.id = p.author_id
WHERE up.depth > 0 AND p.deleted_at IS NULL AND may_see(@viewer_id, p.author_id, p.visibility, p.id)
ORDER BY up.depth;

-- name: PostDescendants :many
-- The replies below @id, at most @max_depth levels down and @row_limit posts, found
-- breadth first, that @viewer_id may see; level by level, oldest first within a level. A
-- hidden or deleted reply hides the replies below it.
WITH RECURSIVE down (id, depth) AS (
    SELECT p.id, 0 FROM posts p WHERE p.id = @id
    UNION ALL
    SELECT c.id, down.depth + 1
    FROM down JOIN posts c ON c.in_reply_to_id = down.id AND c.deleted_at IS NULL
    WHERE down.depth < @max_depth::int
      AND may_see(@viewer_id, c.author_id, c.visibility, c.id)
)
SELECT sqlc.embed(p), sqlc.embed(u)
-- The LIMIT inside stops the walk once it has found enough (a recursive query runs on demand).
FROM (SELECT down.id, down.depth FROM down WHERE down.depth > 0 LIMIT @row_limit) AS d
JOIN posts p ON p.id = d.id JOIN users u ON u.id = p.author_id
ORDER BY d.depth, p.id;

-- name: IdempotencyKeyInsert :exec
INSERT INTO idempotency_keys (user_id, key, post_id) VALUES (@user_id, @key, @post_id);

-- name: IdempotencyKeyPost :one
SELECT post_id FROM idempotency_keys WHERE user_id = @user_id AND key = @key;

-- name: PostListPublicAfter :many
-- The posts just newer than @after, oldest first (Mastodon's min_id).
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.visibility = 'public' AND p.reblog_of_id IS NULL
  AND p.id > @after AND p.id < @before
ORDER BY p.id
LIMIT @row_limit;

-- name: PostListByAuthorAfter :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.author_id = @author_id AND p.deleted_at IS NULL AND p.id > @after AND p.id < @before
  AND may_see(@viewer_id, p.author_id, p.visibility, p.id)
  AND NOT (@exclude_replies::boolean AND p.in_reply_to_id IS NOT NULL AND p.in_reply_to_account_id IS DISTINCT FROM p.author_id)
  AND NOT (@exclude_reblogs::boolean AND p.reblog_of_id IS NOT NULL)
  AND NOT (@exclude_direct::boolean AND p.visibility = 'direct')
  AND (@tagged_id::bigint = 0 OR p.id IN (SELECT pt.post_id FROM post_tags pt WHERE pt.tag_id = @tagged_id))
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id))
ORDER BY p.id
LIMIT @row_limit;

-- name: PostListHomeAfter :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.id > @after AND p.id < @before
  AND (p.author_id = @viewer_id
       OR p.author_id IN (SELECT f.followee_id FROM follows f WHERE f.follower_id = @viewer_id)
       OR p.id IN (SELECT pt.post_id FROM post_tags pt JOIN tag_follows tf ON tf.tag_id = pt.tag_id
                   WHERE tf.user_id = @viewer_id AND pt.listed))
  AND may_see(@viewer_id, p.author_id, p.visibility, p.id)
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media m WHERE m.post_id = coalesce(p.reblog_of_id, p.id)))
ORDER BY p.id
LIMIT @row_limit;

-- name: PostAppsByIDs :many
-- The apps that posts were written with, for the statuses' application field.
SELECT id, name, website FROM oauth_apps WHERE id = ANY(@ids::bigint[]);

-- name: PostSeenBy :one
-- The live post @id when @viewer_id may see it.
SELECT * FROM posts
WHERE id = @id AND deleted_at IS NULL AND may_see(@viewer_id, author_id, visibility, id);

-- name: PostGetSeenBy :one
-- The live post @id with its author, when @viewer_id may see it.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id = @id AND p.deleted_at IS NULL AND may_see(@viewer_id, p.author_id, p.visibility, p.id);

-- name: ReblogOf :one
-- The id of @author_id's boost of @reblog_of_id.
SELECT id FROM posts WHERE author_id = @author_id AND reblog_of_id = @reblog_of_id;

-- name: PostListPublicMedia :many
-- Public posts (no boosts) with attachments, newest first, keyset-paginated by id: rows with id < @before.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.visibility = 'public' AND p.reblog_of_id IS NULL
  AND p.id < @before AND p.id > @after
  AND EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id)
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostListPublicMediaAfter :many
-- The posts just newer than @after, oldest first (Mastodon's min_id).
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.visibility = 'public' AND p.reblog_of_id IS NULL
  AND p.id > @after AND p.id < @before
  AND EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id)
ORDER BY p.id
LIMIT @row_limit;

-- name: PostCreateWithEvent :one
-- A post with its post.created event (and its idempotency key, when given) in one
-- statement: one round trip, atomic as its own transaction. The event's payload is the
-- caller's (events.Prepare), with the new post's id put in. It also returns the author's
-- counts, so that the response needs no other query.
WITH p AS (
    INSERT INTO posts (author_id, body, language, app_id, visibility, spoiler_text, sensitive,
                       in_reply_to_id, in_reply_to_account_id)
    VALUES (@author_id, @body, sqlc.narg('language'), sqlc.narg('app_id'), @visibility, @spoiler_text, @sensitive,
            sqlc.narg('in_reply_to_id'), sqlc.narg('in_reply_to_account_id'))
    RETURNING *
), k AS (
    INSERT INTO idempotency_keys (user_id, key, post_id)
    SELECT p.author_id, @idempotency_key::text, p.id FROM p WHERE @idempotency_key::text <> ''
), e AS (
    INSERT INTO events (topic, payload, request_id, trace)
    SELECT @topic::text, jsonb_set(@payload::jsonb, '{post_id}', to_jsonb(p.id)), @request_id::text, @trace::text FROM p
    RETURNING id
)
SELECT p.id, p.author_id, p.body, p.created_at, p.deleted_at, p.language, p.app_id, p.visibility,
       p.spoiler_text, p.sensitive, p.in_reply_to_id, p.in_reply_to_account_id, p.reblog_of_id,
       p.edited_at, e.id AS event_id,
       -- The author's counts for the response, as UserStatsMany reads them (the new post is
       -- the consumers' to count): no query after the commit.
       coalesce((SELECT s.posts FROM user_stats s WHERE s.user_id = p.author_id), 0)::bigint AS author_posts,
       (SELECT count(*) FROM follows f WHERE f.followee_id = p.author_id) AS author_followers,
       (SELECT count(*) FROM follows f WHERE f.follower_id = p.author_id) AS author_following
FROM p, e;
