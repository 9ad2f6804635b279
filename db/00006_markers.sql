-- +goose Up

-- Where a user stopped reading a timeline (Mastodon's markers), so that their apps resume
-- there on any device: the last status (home) or notification (notifications) they saw.
-- version starts at 1 and grows by one on every save; one upsert statement does it, so
-- concurrent saves each count.
CREATE TABLE markers (
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    timeline     text        NOT NULL CHECK (timeline IN ('home', 'notifications')),
    last_read_id bigint      NOT NULL CHECK (last_read_id > 0),
    version      integer     NOT NULL DEFAULT 1,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, timeline)
);

-- +goose Down
DROP TABLE markers;
