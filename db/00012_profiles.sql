-- +goose Up

-- What an account says about itself beyond its name and bio (Mastodon's update_credentials):
-- a bot flag, whether it is listed in the people directory, up to four profile fields
-- ([{"name": …, "value": …}]), and the defaults of its new posts (Mastodon's source:
-- privacy, sensitive, language), which apply when a post does not say.
ALTER TABLE users
    ADD COLUMN bot boolean NOT NULL DEFAULT false,
    ADD COLUMN discoverable boolean NOT NULL DEFAULT true,
    ADD COLUMN fields jsonb NOT NULL DEFAULT '[]'
        CHECK (jsonb_typeof(fields) = 'array' AND jsonb_array_length(fields) <= 4),
    ADD COLUMN default_visibility text NOT NULL DEFAULT 'public'
        CHECK (default_visibility IN ('public', 'unlisted', 'private', 'direct')),
    ADD COLUMN default_sensitive boolean NOT NULL DEFAULT false,
    ADD COLUMN default_language text CHECK (default_language ~ '^[a-z]{2}$');

-- +goose Down
ALTER TABLE users
    DROP COLUMN default_language,
    DROP COLUMN default_sensitive,
    DROP COLUMN default_visibility,
    DROP COLUMN fields,
    DROP COLUMN discoverable,
    DROP COLUMN bot;
