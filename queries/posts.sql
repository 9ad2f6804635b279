-- name: PostCreate :one
INSERT INTO posts (author_id, body, language, app_id)
VALUES (@author_id, @body, sqlc.narg('language'), sqlc.narg('app_id'))
RETURNING *;

-- name: PostGetByID :one
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id = @id AND p.deleted_at IS NULL;

-- name: PostSoftDelete :execrows
UPDATE posts SET deleted_at = now() WHERE id = @id AND deleted_at IS NULL;

-- name: PostListPublic :many
-- Newest first, keyset-paginated by id: rows with id < @before.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.id < @before AND p.id > @after
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostListByAuthor :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.author_id = @author_id AND p.deleted_at IS NULL AND p.id < @before AND p.id > @after
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostListHome :many
-- The viewer's own posts and those of everyone they follow, newest first.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.id < @before AND p.id > @after
  AND (p.author_id = @viewer_id
       OR p.author_id IN (SELECT f.followee_id FROM follows f WHERE f.follower_id = @viewer_id))
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostsByIDs :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id = ANY(@ids::bigint[]) AND p.deleted_at IS NULL;

-- name: IdempotencyKeyInsert :exec
INSERT INTO idempotency_keys (user_id, key, post_id) VALUES (@user_id, @key, @post_id);

-- name: IdempotencyKeyPost :one
SELECT post_id FROM idempotency_keys WHERE user_id = @user_id AND key = @key;

-- name: PostListPublicAfter :many
-- The posts just newer than @after, oldest first (Mastodon's min_id).
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.id > @after AND p.id < @before
ORDER BY p.id
LIMIT @row_limit;

-- name: PostListByAuthorAfter :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.author_id = @author_id AND p.deleted_at IS NULL AND p.id > @after AND p.id < @before
ORDER BY p.id
LIMIT @row_limit;

-- name: PostListHomeAfter :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.id > @after AND p.id < @before
  AND (p.author_id = @viewer_id
       OR p.author_id IN (SELECT f.followee_id FROM follows f WHERE f.follower_id = @viewer_id))
ORDER BY p.id
LIMIT @row_limit;

-- name: PostAppsByIDs :many
-- The apps that posts were written with, for the statuses' application field.
SELECT id, name, website FROM oauth_apps WHERE id = ANY(@ids::bigint[]);
