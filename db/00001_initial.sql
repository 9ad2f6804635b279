-- +goose Up

-- Accounts. Usernames are unique regardless of case; the original spelling is kept for display.
CREATE TABLE users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text        NOT NULL CHECK (username ~ '^[A-Za-z0-9_]{1,30}$'),
    email         text        NOT NULL CHECK (char_length(email) BETWEEN 3 AND 254),
    password_hash text        NOT NULL,
    display_name  text        NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 50),
    bio           text        NOT NULL DEFAULT '' CHECK (char_length(bio) <= 500),
    is_admin      boolean     NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Posts are soft-deleted so that the event log and later jobs can still refer to them.
CREATE TABLE posts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id  bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    body       text        NOT NULL CHECK (char_length(body) BETWEEN 1 AND 500),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX posts_live_idx ON posts (id DESC) WHERE deleted_at IS NULL;
CREATE INDEX posts_author_live_idx ON posts (author_id, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE follows (
    follower_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (follower_id, followee_id),
    CHECK (follower_id <> followee_id)
);
CREATE INDEX follows_followee_idx ON follows (followee_id, follower_id);

-- The outbox and event log. Rows are written in the same transaction as the change they
-- describe. xid is the writing transaction's id: readers use it to read only below the
-- oldest running transaction, so an event that commits late is never skipped.
CREATE TABLE events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic      text        NOT NULL,
    payload    jsonb       NOT NULL,
    request_id text        NOT NULL DEFAULT '',
    xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_xid_id_idx ON events (xid, id);
CREATE INDEX events_created_at_idx ON events (created_at);

-- Web sessions (scs pgxstore layout). The token column holds a SHA-256 of the cookie value,
-- never the cookie itself.
CREATE TABLE sessions (
    token  text        PRIMARY KEY,
    data   bytea       NOT NULL,
    expiry timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- +goose Down
DROP TABLE sessions;
DROP TABLE events;
DROP TABLE follows;
DROP TABLE posts;
DROP TABLE users;
