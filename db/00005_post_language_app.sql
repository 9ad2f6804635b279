-- +goose Up

-- The language a post is written in (ISO 639-1, as the API accepts it), when its author
-- said; and the OAuth app it was posted with, when it came through the API.
ALTER TABLE posts ADD COLUMN language text CHECK (language ~ '^[a-z]{2}$');
ALTER TABLE posts ADD COLUMN app_id bigint REFERENCES oauth_apps (id) ON DELETE SET NULL;

-- +goose Down
ALTER TABLE posts DROP COLUMN app_id;
ALTER TABLE posts DROP COLUMN language;
