-- name: FavouriteCreate :one
-- Favourites post @post_id as @user_id; no row when they had already.
INSERT INTO favourites (user_id, post_id) VALUES (@user_id, @post_id)
ON CONFLICT (user_id, post_id) DO NOTHING
RETURNING id;

-- name: FavouriteDelete :execrows
DELETE FROM favourites WHERE user_id = @user_id AND post_id = @post_id;

-- name: FavouritedBy :many
-- Who favourited post @post_id, newest first, keyset-paginated by favourite id.
SELECT f.id AS favourite_id, sqlc.embed(u)
FROM favourites f JOIN users u ON u.id = f.user_id
WHERE f.post_id = @post_id AND f.id < @before AND f.id > @after
ORDER BY f.id DESC
LIMIT @row_limit;

-- name: FavouritedByAfter :many
SELECT f.id AS favourite_id, sqlc.embed(u)
FROM favourites f JOIN users u ON u.id = f.user_id
WHERE f.post_id = @post_id AND f.id > @after AND f.id < @before
ORDER BY f.id
LIMIT @row_limit;

-- name: RebloggedBy :many
-- Who boosted post @post_id (boosts that @viewer_id may see), newest first, by boost id.
SELECT r.id AS reblog_id, sqlc.embed(u)
FROM posts r JOIN users u ON u.id = r.author_id
WHERE r.reblog_of_id = @post_id AND r.id < @before AND r.id > @after
  AND may_see(@viewer_id, r.author_id, r.visibility, r.id)
ORDER BY r.id DESC
LIMIT @row_limit;

-- name: RebloggedByAfter :many
SELECT r.id AS reblog_id, sqlc.embed(u)
FROM posts r JOIN users u ON u.id = r.author_id
WHERE r.reblog_of_id = @post_id AND r.id > @after AND r.id < @before
  AND may_see(@viewer_id, r.author_id, r.visibility, r.id)
ORDER BY r.id
LIMIT @row_limit;

-- name: FavouritesOf :many
-- The posts @user_id favourited (that they may still see), newest favourite first.
SELECT f.id AS favourite_id, sqlc.embed(p), sqlc.embed(u)
FROM favourites f JOIN posts p ON p.id = f.post_id AND p.deleted_at IS NULL JOIN users u ON u.id = p.author_id
WHERE f.user_id = @user_id AND f.id < @before AND f.id > @after
  AND may_see(@user_id, p.author_id, p.visibility, p.id)
ORDER BY f.id DESC
LIMIT @row_limit;

-- name: FavouritesOfAfter :many
SELECT f.id AS favourite_id, sqlc.embed(p), sqlc.embed(u)
FROM favourites f JOIN posts p ON p.id = f.post_id AND p.deleted_at IS NULL JOIN users u ON u.id = p.author_id
WHERE f.user_id = @user_id AND f.id > @after AND f.id < @before
  AND may_see(@user_id, p.author_id, p.visibility, p.id)
ORDER BY f.id
LIMIT @row_limit;

-- name: BookmarkCreate :exec
INSERT INTO bookmarks (user_id, post_id) VALUES (@user_id, @post_id)
ON CONFLICT (user_id, post_id) DO NOTHING;

-- name: BookmarkDelete :exec
DELETE FROM bookmarks WHERE user_id = @user_id AND post_id = @post_id;

-- name: BookmarksOf :many
-- The posts @user_id bookmarked (that they may still see), newest bookmark first.
SELECT b.id AS bookmark_id, sqlc.embed(p), sqlc.embed(u)
FROM bookmarks b JOIN posts p ON p.id = b.post_id AND p.deleted_at IS NULL JOIN users u ON u.id = p.author_id
WHERE b.user_id = @user_id AND b.id < @before AND b.id > @after
  AND may_see(@user_id, p.author_id, p.visibility, p.id)
ORDER BY b.id DESC
LIMIT @row_limit;

-- name: BookmarksOfAfter :many
SELECT b.id AS bookmark_id, sqlc.embed(p), sqlc.embed(u)
FROM bookmarks b JOIN posts p ON p.id = b.post_id AND p.deleted_at IS NULL JOIN users u ON u.id = p.author_id
WHERE b.user_id = @user_id AND b.id > @after AND b.id < @before
  AND may_see(@user_id, p.author_id, p.visibility, p.id)
ORDER BY b.id
LIMIT @row_limit;

-- name: PinCreate :execrows
INSERT INTO pins (user_id, post_id) VALUES (@user_id, @post_id)
ON CONFLICT (user_id, post_id) DO NOTHING;

-- name: PinDelete :exec
DELETE FROM pins WHERE user_id = @user_id AND post_id = @post_id;

-- name: PinsCount :one
-- How many live posts @user_id has pinned; the caller holds the user's row lock.
SELECT count(*) FROM pins n JOIN posts p ON p.id = n.post_id AND p.deleted_at IS NULL
WHERE n.user_id = @user_id;

-- name: PinnedOf :many
-- The posts @author_id pinned that @viewer_id may see, newest pin first.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM pins n JOIN posts p ON p.id = n.post_id AND p.deleted_at IS NULL JOIN users u ON u.id = p.author_id
WHERE n.user_id = @author_id AND may_see(@viewer_id, p.author_id, p.visibility, p.id)
ORDER BY n.created_at DESC, p.id DESC;

-- name: MentionsAdd :many
-- Adds the mention rows of post @post_id for @user_ids that it lacks; returns the accounts
-- added. For private and direct posts this runs in the post's own transaction: their
-- mention rows are who may see them. Mentions are never taken away (an edit that drops an
-- @name leaves the account able to see the post, as on Mastodon).
INSERT INTO mentions (post_id, user_id)
SELECT @post_id, unnest(@user_ids::bigint[])
ON CONFLICT DO NOTHING
RETURNING user_id;
