-- +goose Up

-- Each account's direct conversations: one row per account and set of other participants
-- (sorted ids), pointing at its newest direct post. Written by the conversations consumer
-- of the event log, exactly once per post.
CREATE TABLE conversations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    participants bigint[]    NOT NULL,
    last_post_id bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    unread       boolean     NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, participants)
);
CREATE INDEX conversations_user_last_idx ON conversations (user_id, last_post_id DESC);

-- The conversations consumer has no row yet: EnsureConsumers registers it at the start
-- of the retained log, so it backfills the direct posts written since migration 00009.

-- +goose Down
DELETE FROM consumers WHERE name = 'conversations';
DROP TABLE conversations;
