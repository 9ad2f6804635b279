-- name: SearchSettings :one
-- Bounds one search transaction: its statements' run time and the similarity that the
-- trigram operator % asks for (a typo in a short name still matches); and no JIT, whose
-- compiling (28 ms) cost more than any search it would speed up. Returns the newest
-- indexed post's id, where the windows of a search of posts start.
SELECT set_config('statement_timeout', sqlc.arg(timeout)::text, true)::text AS timeout,
       set_config('pg_trgm.similarity_threshold', sqlc.arg(similarity)::text, true)::text AS similarity,
       set_config('jit', 'off', true)::text AS jit,
       coalesce((SELECT max(post_id) FROM post_search), 0)::bigint AS newest;

-- name: SearchIndexPosts :exec
-- Indexes the live posts among ids that are not boosts (again, for an edited one), with
-- has_link as the application found it, and records their configurations.
WITH indexed AS (
    INSERT INTO post_search (post_id, author_id, visibility, created_at, reply, sensitive, has_link,
                             language, config, document)
    SELECT p.id, p.author_id, p.visibility, p.created_at, p.in_reply_to_id IS NOT NULL, p.sensitive,
           x.has_link, p.language, search_config(p.language), search_document(p.language, p.spoiler_text, p.body, p.id)
    FROM posts p
    JOIN (SELECT unnest(sqlc.arg(ids)::bigint[]) AS id, unnest(sqlc.arg(has_links)::boolean[]) AS has_link) AS x ON x.id = p.id
    WHERE p.deleted_at IS NULL AND p.reblog_of_id IS NULL
    ON CONFLICT (post_id) DO UPDATE
    SET sensitive = excluded.sensitive, has_link = excluded.has_link, language = excluded.language,
        config = excluded.config, document = excluded.document
    RETURNING config
)
INSERT INTO search_configs (config) SELECT DISTINCT config FROM indexed ON CONFLICT DO NOTHING;

-- name: SearchUnindexPosts :exec
DELETE FROM post_search WHERE post_id = ANY(@ids::bigint[]);

-- name: SearchBackfillNext :one
-- Where the backfill of the index stands (no row: done).
SELECT next_post_id FROM search_backfill;

-- name: SearchBackfillPosts :many
-- The next posts the backfill indexes: the @row_limit newest with an id at most @up_to.
SELECT id, body, visibility, author_id, reblog_of_id, deleted_at FROM posts
WHERE id <= @up_to ORDER BY id DESC LIMIT @row_limit;

-- name: SearchBackfillMove :exec
UPDATE search_backfill SET next_post_id = @next_post_id;

-- name: SearchBackfillDone :exec
DELETE FROM search_backfill;

-- name: SearchPosts :many
-- The posts matching @query (search_query syntax) that @viewer_id may find, within the
-- filters and, unless @bucket_lo is negative, among the ids of buckets @bucket_lo to
-- @bucket_hi, ranked by relevance with recency (a month-old post counts half as much as
-- the same post today) among the @candidates newest matches. Others'
-- unlisted posts are not found: unlisted keeps a post out of discovery. @scope: 0 every
-- post, 1 the viewer's bookmarks, 2 their favourites, 3 their library (their own posts and
-- those they favourited, bookmarked or were mentioned in).
WITH q AS (
    -- The words' query, for ranking, and the same ANDed with the window's buckets, for
    -- finding: one condition on the document index, whichever the window, so that one
    -- plan (prepared once, generic) fits every search.
    SELECT w.q, CASE WHEN @bucket_lo::bigint < 0 THEN w.q
                     ELSE w.q && search_buckets(@bucket_lo, @bucket_hi::bigint) END AS filter
    FROM (SELECT search_query(@query::text) AS q) AS w
),
matches AS (
    SELECT s.post_id, s.created_at, s.document
    FROM post_search s, q
    WHERE s.document @@ q.filter
      -- + 0 here and in the order: the primary key is never scanned beside the document
      -- index, nor walked backwards hoping to meet enough matches soon (no plan can tell a
      -- rare word from a common one); the buckets narrow the search instead.
      AND s.post_id + 0 < @before AND s.post_id + 0 > @after
      AND s.created_at < @created_before AND s.created_at >= @created_after
      AND (@author_id::bigint = 0 OR s.author_id = @author_id)
      AND (NOT @only_replies::boolean OR s.reply)
      AND (NOT @only_sensitive::boolean OR s.sensitive)
      AND (NOT @only_links::boolean OR s.has_link)
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media md WHERE md.post_id = s.post_id))
      AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media md WHERE md.post_id = s.post_id))
      AND (@language::text = '' OR s.language = @language)
      AND (s.visibility = 'public' OR s.author_id = @viewer_id
           OR (@viewer_id <> 0 AND s.visibility IN ('private', 'direct')
               AND may_see(@viewer_id, s.author_id, s.visibility, s.post_id)))
      AND (@scope::int = 0
           OR (@scope IN (1, 3) AND EXISTS (SELECT 1 FROM bookmarks b WHERE b.user_id = @viewer_id AND b.post_id = s.post_id))
           OR (@scope IN (2, 3) AND EXISTS (SELECT 1 FROM favourites f WHERE f.user_id = @viewer_id AND f.post_id = s.post_id))
           OR (@scope = 3 AND (s.author_id = @viewer_id
               OR EXISTS (SELECT 1 FROM mentions m WHERE m.user_id = @viewer_id AND m.post_id = s.post_id))))
    ORDER BY s.post_id + 0 DESC
    LIMIT @candidates
)
SELECT m.post_id, count(*) OVER () AS candidates
FROM matches m, q
ORDER BY ts_rank_cd(m.document, q.q) / (1 + extract(epoch FROM now() - m.created_at) / 2592000) DESC, m.post_id DESC
LIMIT @row_limit OFFSET @row_offset;

-- name: SearchPostsFiltered :many
-- The posts within the filters of SearchPosts when the search has no words, newest first.
-- The visibility and scope conditions repeat SearchPosts' on purpose: moved into a SQL
-- function (with its EXISTS subqueries) they are not inlined, and a search of a common
-- word went from 24 ms to 390 ms.
SELECT s.post_id
FROM post_search s
WHERE s.post_id < @before AND s.post_id > @after
  AND s.created_at < @created_before AND s.created_at >= @created_after
  AND (@author_id::bigint = 0 OR s.author_id = @author_id)
  AND (NOT @only_replies::boolean OR s.reply)
  AND (NOT @only_sensitive::boolean OR s.sensitive)
  AND (NOT @only_links::boolean OR s.has_link)
  AND (NOT @only_media::boolean OR EXISTS (SELECT 1 FROM media md WHERE md.post_id = s.post_id))
  AND (@language::text = '' OR s.language = @language)
  AND (s.visibility = 'public' OR s.author_id = @viewer_id
       OR (@viewer_id <> 0 AND s.visibility IN ('private', 'direct')
           AND may_see(@viewer_id, s.author_id, s.visibility, s.post_id)))
  AND (@scope::int = 0
       OR (@scope IN (1, 3) AND EXISTS (SELECT 1 FROM bookmarks b WHERE b.user_id = @viewer_id AND b.post_id = s.post_id))
       OR (@scope IN (2, 3) AND EXISTS (SELECT 1 FROM favourites f WHERE f.user_id = @viewer_id AND f.post_id = s.post_id))
       OR (@scope = 3 AND (s.author_id = @viewer_id
           OR EXISTS (SELECT 1 FROM mentions m WHERE m.user_id = @viewer_id AND m.post_id = s.post_id))))
ORDER BY s.post_id DESC
LIMIT @row_limit OFFSET @row_offset;

-- name: SearchHeadlines :many
-- The passage of each post among @ids that matches @query, its matches between the
-- markers U+E000 and U+E001 (the caller escapes the text and turns them into <mark>).
SELECT s.post_id,
       ts_headline(s.config, p.spoiler_text || ' ' || p.body, search_query(@query::text),
                   'StartSel=' || chr(57344) || ', StopSel=' || chr(57345) || ', MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "')::text AS headline
FROM post_search s JOIN posts p ON p.id = s.post_id
WHERE s.post_id = ANY(@ids::bigint[]);

-- name: SearchLikePosts :many
-- The same question answered the way a search without an index does it (LIKE over every
-- public post, newest first): the baseline of the search benchmark.
SELECT p.id FROM posts p
WHERE p.deleted_at IS NULL AND p.visibility = 'public' AND p.reblog_of_id IS NULL
  AND p.body ILIKE '%' || @pattern::text || '%'
ORDER BY p.id DESC
LIMIT @row_limit;

-- name: AccountsSearch :many
-- Accounts whose username or display name starts with @prefix (a LIKE pattern, already
-- escaped and lowercased, ending in %) or is similar to @q (trigrams, at the transaction's
-- threshold): the exact username first, then prefixes, accounts the viewer follows, and
-- the most similar.
SELECT sqlc.embed(u)
FROM users u
WHERE (lower(u.username) LIKE @prefix OR lower(u.display_name) LIKE @prefix
       OR lower(u.display_name) LIKE '% ' || @prefix
       OR lower(u.username) % @q OR lower(u.display_name) % @q)
  AND (NOT @following::boolean OR u.id IN (SELECT f.followee_id FROM follows f WHERE f.follower_id = @viewer_id))
ORDER BY lower(u.username) = @q DESC,
         lower(u.username) LIKE @prefix DESC,
         u.id IN (SELECT f.followee_id FROM follows f WHERE f.follower_id = @viewer_id) DESC,
         greatest(similarity(lower(u.username), @q), similarity(lower(u.display_name), @q)) DESC,
         lower(u.username)
LIMIT @row_limit OFFSET @row_offset;
