-- name: MediaInsert :one
INSERT INTO media (account_id, purpose, state, upload_type, description, focus_x, focus_y)
VALUES (@account_id, @purpose, @state, @upload_type, @description, @focus_x, @focus_y)
RETURNING *;

-- name: MediaFileInsert :exec
INSERT INTO media_files (media_id, variant, content_type, width, height, size, sha256, data)
VALUES (@media_id, @variant, @content_type, @width, @height, @size, @sha256, @data);

-- name: MediaFileDelete :exec
DELETE FROM media_files WHERE media_id = @media_id AND variant = @variant;

-- name: MediaGet :one
SELECT * FROM media WHERE id = @id;

-- name: MediaGetForUpdate :one
SELECT * FROM media WHERE id = @id FOR UPDATE;

-- name: MediaUpload :one
-- The bytes an upload waits to be processed with (NULL data: in the media directory).
SELECT * FROM media_files WHERE media_id = @media_id AND variant = 'upload';

-- name: MediaProcessed :exec
UPDATE media SET state = 'ready', blurhash = @blurhash, animated = @animated, processed_at = now()
WHERE id = @id;

-- name: MediaFailed :exec
UPDATE media SET state = 'failed', failure = @failure, processed_at = now() WHERE id = @id;

-- name: MediaDescribe :one
UPDATE media SET description = CASE WHEN @keep_description::boolean THEN description ELSE @description END,
                 focus_x = CASE WHEN @keep_focus::boolean THEN focus_x ELSE @focus_x END,
                 focus_y = CASE WHEN @keep_focus::boolean THEN focus_y ELSE @focus_y END
WHERE id = @id RETURNING *;

-- name: MediaAttach :execrows
-- Gives @post_id the media @ids in that order: only @account_id's own attachments that no
-- post has taken yet. The caller compares the count with len(@ids).
UPDATE media m SET post_id = @post_id, position = x.pos - 1
FROM unnest(@ids::bigint[]) WITH ORDINALITY AS x(id, pos)
WHERE m.id = x.id AND m.account_id = @account_id AND m.purpose = 'attachment'
  AND m.post_id IS NULL AND m.state = 'ready';

-- name: MediaFilesOf :many
-- The served variants' shapes (not their bytes) of the media @ids.
SELECT media_id, variant, content_type, width, height, size, sha256
FROM media_files WHERE media_id = ANY(@ids::bigint[]) AND variant <> 'upload';

-- name: MediaServe :one
-- What serving one variant needs: its shape, where its bytes are, and whether @viewer_id
-- may see it — an attachment of a live post they may see, their own unattached upload, or
-- an avatar or header (anyone's, as a profile is).
SELECT f.content_type, f.size, f.sha256, (f.data IS NULL)::boolean AS on_disk, m.post_id, m.account_id, m.blurhash,
       CASE
         WHEN m.purpose <> 'attachment' THEN true
         WHEN m.post_id IS NULL THEN m.account_id = @viewer_id
         ELSE EXISTS (SELECT 1 FROM posts p WHERE p.id = m.post_id AND p.deleted_at IS NULL
                        AND may_see(@viewer_id, p.author_id, p.visibility, p.id))
       END::boolean AS visible,
       COALESCE((SELECT p.visibility IN ('public', 'unlisted') FROM posts p WHERE p.id = m.post_id), m.purpose <> 'attachment')::boolean AS public,
       (m.purpose <> 'attachment' OR m.post_id IS NULL
        OR EXISTS (SELECT 1 FROM posts p WHERE p.id = m.post_id AND p.deleted_at IS NULL))::boolean AS live
FROM media m JOIN media_files f ON f.media_id = m.id
WHERE m.id = @media_id AND f.variant = @variant AND m.state = 'ready';

-- name: MediaFileData :one
SELECT data FROM media_files WHERE media_id = @media_id AND variant = @variant;

-- name: MediaUnused :many
-- The cleanup's next batch: attachments uploaded before @unattached_before that no post
-- took, attachments of deleted posts, and avatars and headers made before
-- @pictures_before that no account shows.
SELECT m.id FROM media m
WHERE (m.purpose = 'attachment' AND m.post_id IS NULL AND m.created_at < @unattached_before)
   OR (m.purpose = 'attachment' AND m.post_id IS NOT NULL
       AND EXISTS (SELECT 1 FROM posts p WHERE p.id = m.post_id AND p.deleted_at IS NOT NULL))
   OR (m.purpose <> 'attachment' AND m.created_at < @pictures_before
       AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = m.id OR u.header_media_id = m.id))
LIMIT @row_limit;

-- name: MediaDelete :many
-- Removes those of the media @ids that are still unused (see MediaUnused: a post may have
-- taken one since), answering the sha256 of their files kept on disk.
WITH gone AS (
    DELETE FROM media m WHERE m.id = ANY(@ids::bigint[])
      AND (m.purpose <> 'attachment' OR m.post_id IS NULL
           OR EXISTS (SELECT 1 FROM posts p WHERE p.id = m.post_id AND p.deleted_at IS NOT NULL))
      AND NOT EXISTS (SELECT 1 FROM users u WHERE u.avatar_media_id = m.id OR u.header_media_id = m.id)
    RETURNING m.id)
SELECT f.sha256 FROM media_files f JOIN gone g ON g.id = f.media_id WHERE f.data IS NULL;

-- name: MediaDiskFileUsed :one
-- Whether any stored file still has the bytes of @sha256 (identical uploads share a file).
SELECT EXISTS (SELECT 1 FROM media_files WHERE sha256 = @sha256 AND data IS NULL);

-- name: UserSetAvatar :exec
UPDATE users SET avatar_media_id = @media_id WHERE id = @id;

-- name: UserSetHeader :exec
UPDATE users SET header_media_id = @media_id WHERE id = @id;

-- name: ServerKey :one
SELECT value FROM server_keys WHERE name = @name;

-- name: ServerKeyInsert :exec
INSERT INTO server_keys (name, value) VALUES (@name, @value) ON CONFLICT (name) DO NOTHING;

-- name: MediaIDsOfPost :many
SELECT id FROM media WHERE post_id = @post_id ORDER BY position;

-- name: MediaDetach :exec
-- Takes post @post_id's attachments off it (an edit gives it its new list next).
UPDATE media SET post_id = NULL, position = NULL WHERE post_id = @post_id;

-- name: MediaDescribeAttached :execrows
UPDATE media SET description = CASE WHEN @keep_description::boolean THEN description ELSE @description END,
                 focus_x = CASE WHEN @keep_focus::boolean THEN focus_x ELSE @focus_x END,
                 focus_y = CASE WHEN @keep_focus::boolean THEN focus_y ELSE @focus_y END
WHERE id = @id AND post_id = @post_id;

-- name: MediaOfPostsWithFiles :many
-- The attachments of the posts @post_ids with their served files' shapes (an attachment
-- is processed before a post takes it), each post's in order: one row per file.
SELECT sqlc.embed(m), f.variant, f.content_type, f.width, f.height, f.size, f.sha256
FROM media m JOIN media_files f ON f.media_id = m.id AND f.variant <> 'upload'
WHERE m.post_id = ANY(@post_ids::bigint[])
ORDER BY m.post_id, m.position, f.variant;
