-- +goose Up

-- Whether a user wants an email when someone mentions them.
ALTER TABLE users ADD COLUMN email_mentions boolean NOT NULL DEFAULT true;

-- Who a post mentions, written by the mentions worker. The primary key makes a repeated
-- attempt a no-op.
CREATE TABLE mentions (
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (post_id, user_id)
);
CREATE INDEX mentions_user_idx ON mentions (user_id, post_id);

CREATE TABLE notifications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    actor_id     bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL CHECK (kind IN ('mention')),
    post_id      bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz,
    -- One notification per kind, post and recipient: the exactly-once key.
    UNIQUE (kind, post_id, recipient_id)
);
CREATE INDEX notifications_recipient_idx ON notifications (recipient_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (recipient_id) WHERE read_at IS NULL;

-- Per-user counters, maintained by the stats worker.
CREATE TABLE user_stats (
    user_id           bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    posts             bigint NOT NULL DEFAULT 0,
    mentions_received bigint NOT NULL DEFAULT 0
);

-- The ledger of counter changes already applied. A stats job inserts its key here in the
-- same transaction as the change, so a second attempt of the same job changes nothing.
CREATE TABLE stats_applied (
    key        text        PRIMARY KEY,
    counted    boolean     NOT NULL DEFAULT true,
    applied_at timestamptz NOT NULL DEFAULT now()
);

-- One row per mention email handed to the mail server. The Message-ID is stable, so a
-- resend after a crash carries the same id.
CREATE TABLE email_deliveries (
    notification_id bigint      PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    message_id      text        NOT NULL UNIQUE,
    recipient       text        NOT NULL,
    sent_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_deliveries_sent_at_idx ON email_deliveries (sent_at);

-- Figures for each finished UTC day, computed by a periodic job.
CREATE TABLE daily_stats (
    day                   date        PRIMARY KEY,
    posts                 bigint      NOT NULL,
    active_authors        bigint      NOT NULL,
    new_users             bigint      NOT NULL,
    mentions              bigint      NOT NULL,
    notifications_emailed bigint      NOT NULL,
    computed_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX posts_created_at_idx ON posts (created_at);
CREATE INDEX users_created_at_idx ON users (created_at);

-- +goose Down
DROP INDEX users_created_at_idx;
DROP INDEX posts_created_at_idx;
DROP TABLE daily_stats;
DROP TABLE email_deliveries;
DROP TABLE stats_applied;
DROP TABLE user_stats;
DROP TABLE notifications;
DROP TABLE mentions;
ALTER TABLE users DROP COLUMN email_mentions;
