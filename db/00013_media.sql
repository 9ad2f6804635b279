-- +goose Up

-- Uploaded pictures: post attachments, avatars and headers. A row is written by the
-- upload; its files by the processing (in the request for POST /api/v1/media, by a River
-- job for POST /api/v2/media). An attachment belongs to its uploader until a post of
-- theirs takes it (post_id); one nobody attached is removed after a day.
CREATE TABLE media (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      text        NOT NULL DEFAULT 'attachment'
        CHECK (purpose IN ('attachment', 'avatar', 'header')),
    post_id      bigint      REFERENCES posts (id) ON DELETE CASCADE,
    position     smallint    CHECK (position BETWEEN 0 AND 3),
    state        text        NOT NULL DEFAULT 'processing'
        CHECK (state IN ('processing', 'ready', 'failed')),
    -- Why processing failed, fit to show the uploader.
    failure      text,
    -- What the upload's bytes are (never what its name or the client said).
    upload_type  text        NOT NULL,
    description  text        NOT NULL DEFAULT '' CHECK (char_length(description) <= 1500),
    focus_x      real        NOT NULL DEFAULT 0 CHECK (focus_x BETWEEN -1 AND 1),
    focus_y      real        NOT NULL DEFAULT 0 CHECK (focus_y BETWEEN -1 AND 1),
    blurhash     text,
    animated     boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz,
    CHECK ((post_id IS NULL) = (position IS NULL)),
    CHECK (post_id IS NULL OR purpose = 'attachment')
);
CREATE UNIQUE INDEX media_post_idx ON media (post_id, position) WHERE post_id IS NOT NULL;
CREATE INDEX media_unattached_idx ON media (created_at) WHERE post_id IS NULL AND purpose = 'attachment';
CREATE INDEX media_account_idx ON media (account_id);

-- The bytes: the upload until it is processed, then the variants served. data is NULL when
-- the bytes live in the media directory (STARLING_MEDIA_DIR) under their sha256.
CREATE TABLE media_files (
    media_id     bigint  NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    variant      text    NOT NULL CHECK (variant IN ('upload', 'original', 'small')),
    content_type text    NOT NULL,
    width        integer NOT NULL DEFAULT 0,
    height       integer NOT NULL DEFAULT 0,
    size         integer NOT NULL CHECK (size >= 0),
    sha256       bytea   NOT NULL CHECK (length(sha256) = 32),
    data         bytea,
    PRIMARY KEY (media_id, variant)
);
-- Images are compressed already: store them out of line as they are, without trying pglz.
ALTER TABLE media_files ALTER COLUMN data SET STORAGE EXTERNAL;

-- A chosen avatar and header (NULL: the generated avatar, the plain header).
ALTER TABLE users
    ADD COLUMN avatar_media_id bigint REFERENCES media (id) ON DELETE SET NULL,
    ADD COLUMN header_media_id bigint REFERENCES media (id) ON DELETE SET NULL;

-- Secrets the server keeps for itself (the key that signs media addresses), made at first use.
CREATE TABLE server_keys (
    name  text  PRIMARY KEY,
    value bytea NOT NULL CHECK (length(value) >= 32)
);

-- A post with attachments may have no text (core requires text or media).
ALTER TABLE posts DROP CONSTRAINT posts_body_check;
ALTER TABLE posts ADD CONSTRAINT posts_body_check CHECK (
    (reblog_of_id IS NULL AND char_length(body) <= 500)
    OR (reblog_of_id IS NOT NULL AND body = '' AND in_reply_to_id IS NULL AND visibility <> 'direct'));

-- +goose Down
ALTER TABLE posts DROP CONSTRAINT posts_body_check;
ALTER TABLE posts ADD CONSTRAINT posts_body_check CHECK (
    (reblog_of_id IS NULL AND char_length(body) BETWEEN 1 AND 500)
    OR (reblog_of_id IS NOT NULL AND body = '' AND in_reply_to_id IS NULL AND visibility <> 'direct'));
DROP TABLE server_keys;
ALTER TABLE users DROP COLUMN header_media_id, DROP COLUMN avatar_media_id;
DROP TABLE media_files;
DROP TABLE media;
