-- name: TagsInsert :exec
-- Creates the tags among names (folded keys, distinct) that do not exist yet, with the
-- names as written in displays.
INSERT INTO tags (name, display)
SELECT x.n, x.d FROM (SELECT unnest(sqlc.arg(keys)::text[]) AS n, unnest(sqlc.arg(displays)::text[]) AS d) AS x
ON CONFLICT (name) DO NOTHING;

-- name: TagsByNames :many
SELECT * FROM tags WHERE name = ANY(@names::text[]);

-- name: TagsByIDs :many
SELECT * FROM tags WHERE id = ANY(@ids::bigint[]);

-- name: PostTagsAdd :exec
INSERT INTO post_tags (tag_id, post_id, author_id, listed)
SELECT x.t, x.p, x.a, x.l FROM (SELECT unnest(sqlc.arg(tag_ids)::bigint[]) AS t, unnest(sqlc.arg(post_ids)::bigint[]) AS p,
             unnest(sqlc.arg(author_ids)::bigint[]) AS a, unnest(sqlc.arg(listed)::boolean[]) AS l) AS x
ON CONFLICT DO NOTHING;

-- name: PostTagsRemove :exec
DELETE FROM post_tags WHERE post_id = ANY(@post_ids::bigint[]);

-- name: TagUsesAdd :exec
-- Adds the uses given per (tag, day, account) triple (distinct triples).
INSERT INTO tag_uses (tag_id, day, account_id, uses)
SELECT x.t, x.d, x.a, x.n FROM (SELECT unnest(sqlc.arg(tag_ids)::bigint[]) AS t, unnest(sqlc.arg(days)::date[]) AS d,
             unnest(sqlc.arg(account_ids)::bigint[]) AS a, unnest(sqlc.arg(uses)::bigint[]) AS n) AS x
ON CONFLICT (tag_id, day, account_id) DO UPDATE SET uses = tag_uses.uses + excluded.uses;

-- name: TagHistory :many
-- The uses and distinct accounts of each tag among @tag_ids on each day since @since.
SELECT tag_id, day, sum(uses)::bigint AS uses, count(*)::bigint AS accounts
FROM tag_uses
WHERE tag_id = ANY(@tag_ids::bigint[]) AND day >= @since::date
GROUP BY tag_id, day;

-- name: TagsTrending :many
-- The tags most used by distinct accounts in listed posts over the week to @today, a day's
-- accounts counting half as much as the next day's.
SELECT t.id, t.name, t.display,
       sum(power(0.5, (sqlc.arg(today)::date - u.day)))::float8 AS score
FROM tag_uses u JOIN tags t ON t.id = u.tag_id
WHERE u.day > sqlc.arg(today)::date - 7 AND u.day <= sqlc.arg(today)::date
GROUP BY t.id
ORDER BY score DESC, t.name
LIMIT @row_limit OFFSET @row_offset;

-- name: TagsSearch :many
-- Tags whose name starts with @prefix (an escaped LIKE pattern ending in %) or is similar
-- to @q: the exact name first, then prefixes (shortest first), then the most similar.
SELECT * FROM tags t
WHERE t.name LIKE @prefix OR t.name % @q
ORDER BY t.name = @q DESC, t.name LIKE @prefix DESC, similarity(t.name, @q) DESC, char_length(t.name), t.name
LIMIT @row_limit OFFSET @row_offset;

-- name: TagFollow :exec
INSERT INTO tag_follows (user_id, tag_id) VALUES (@user_id, @tag_id) ON CONFLICT DO NOTHING;

-- name: TagUnfollow :exec
DELETE FROM tag_follows WHERE user_id = @user_id AND tag_id = @tag_id;

-- name: TagsFollowedAmong :many
-- Which of @tag_ids @user_id follows.
SELECT tag_id FROM tag_follows WHERE user_id = @user_id AND tag_id = ANY(@tag_ids::bigint[]);

-- name: TagsFeaturedAmong :many
-- Which of @tag_ids @user_id features.
SELECT tag_id FROM featured_tags WHERE user_id = @user_id AND tag_id = ANY(@tag_ids::bigint[]);

-- name: FollowedTags :many
-- The tags @user_id follows, the latest followed first, by follow id.
SELECT f.id AS follow_id, sqlc.embed(t)
FROM tag_follows f JOIN tags t ON t.id = f.tag_id
WHERE f.user_id = @user_id AND f.id < @before AND f.id > @after
ORDER BY f.id DESC
LIMIT @row_limit;

-- name: FollowedTagsAfter :many
SELECT f.id AS follow_id, sqlc.embed(t)
FROM tag_follows f JOIN tags t ON t.id = f.tag_id
WHERE f.user_id = @user_id AND f.id > @after AND f.id < @before
ORDER BY f.id
LIMIT @row_limit;

-- name: TagFollowersAmong :many
-- Which of @user_ids follow which of @tag_ids (for the live home streams).
SELECT user_id, tag_id FROM tag_follows
WHERE user_id = ANY(@user_ids::bigint[]) AND tag_id = ANY(@tag_ids::bigint[]);

-- name: FeaturedTagAdd :one
INSERT INTO featured_tags (user_id, tag_id) VALUES (@user_id, @tag_id)
ON CONFLICT (user_id, tag_id) DO UPDATE SET user_id = excluded.user_id
RETURNING id;

-- name: FeaturedTagsCount :one
SELECT count(*) FROM featured_tags WHERE user_id = @user_id;

-- name: FeaturedTagDelete :execrows
DELETE FROM featured_tags WHERE id = @id AND user_id = @user_id;

-- name: FeaturedTagsOf :many
-- The tags @user_id features, with how many listed posts of theirs have each and when the
-- newest was written.
SELECT f.id, sqlc.embed(t),
       (SELECT count(*) FROM post_tags pt WHERE pt.author_id = f.user_id AND pt.tag_id = f.tag_id AND pt.listed)::bigint AS posts,
       coalesce((SELECT max(p.created_at) FROM post_tags pt JOIN posts p ON p.id = pt.post_id
                 WHERE pt.author_id = f.user_id AND pt.tag_id = f.tag_id AND pt.listed AND p.deleted_at IS NULL),
                'epoch'::timestamptz)::timestamptz AS last_post_at
FROM featured_tags f JOIN tags t ON t.id = f.tag_id
WHERE f.user_id = @user_id
ORDER BY f.id;

-- name: TagsUsedBy :many
-- The tags @user_id used most in their listed posts: suggestions for featured tags.
SELECT sqlc.embed(t) FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
WHERE pt.author_id = @user_id AND pt.listed
GROUP BY t.id ORDER BY count(*) DESC, t.name LIMIT 10;

-- name: PostListTag :many
-- The listed posts with any of @any_ids, all of @all_ids and none of @none_ids, newest
-- first.
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id IN (SELECT pt.post_id FROM post_tags pt
               WHERE pt.tag_id = ANY(@any_ids::bigint[]) AND pt.listed AND pt.post_id < @before AND pt.post_id > @after)
  AND p.deleted_at IS NULL AND p.visibility = 'public'
  AND (SELECT count(*) FROM post_tags a WHERE a.post_id = p.id AND a.tag_id = ANY(@all_ids::bigint[])) = cardinality(@all_ids::bigint[])
  AND NOT EXISTS (SELECT 1 FROM post_tags n WHERE n.post_id = p.id AND n.tag_id = ANY(@none_ids::bigint[]))
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id))
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: PostListTagAfter :many
SELECT sqlc.embed(p), sqlc.embed(u)
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.id IN (SELECT pt.post_id FROM post_tags pt
               WHERE pt.tag_id = ANY(@any_ids::bigint[]) AND pt.listed AND pt.post_id > @after AND pt.post_id < @before)
  AND p.deleted_at IS NULL AND p.visibility = 'public'
  AND (SELECT count(*) FROM post_tags a WHERE a.post_id = p.id AND a.tag_id = ANY(@all_ids::bigint[])) = cardinality(@all_ids::bigint[])
  AND NOT EXISTS (SELECT 1 FROM post_tags n WHERE n.post_id = p.id AND n.tag_id = ANY(@none_ids::bigint[]))
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media m WHERE m.post_id = p.id))
ORDER BY p.id
LIMIT @row_limit;
