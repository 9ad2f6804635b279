-- +goose Up

-- Locked accounts: a follow of one is a request until its owner authorizes it (Mastodon's
-- follow requests). The request's notification depends on the request row, so answering
-- or withdrawing the request dismisses it. A follow made by authorizing a request is
-- marked, so that its owner is not notified of a follow they accepted themselves.
ALTER TABLE users ADD COLUMN locked boolean NOT NULL DEFAULT false;

CREATE TABLE follow_requests (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requester_id bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (requester_id, target_id),
    CHECK (requester_id <> target_id)
);
CREATE INDEX follow_requests_target_idx ON follow_requests (target_id, id);

ALTER TABLE follows ADD COLUMN from_request boolean NOT NULL DEFAULT false;

ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications
    ADD COLUMN follow_request_id bigint UNIQUE REFERENCES follow_requests (id) ON DELETE CASCADE,
    ADD CONSTRAINT notifications_kind_check CHECK (
        (kind = 'mention' AND post_id IS NOT NULL)
        OR (kind = 'favourite' AND post_id IS NOT NULL AND favourite_id IS NOT NULL)
        OR (kind = 'reblog' AND post_id IS NOT NULL AND reblog_id IS NOT NULL)
        OR (kind = 'follow' AND post_id IS NULL AND follow_id IS NOT NULL)
        OR (kind = 'follow_request' AND post_id IS NULL AND follow_request_id IS NOT NULL));

-- +goose Down
DELETE FROM notifications WHERE kind = 'follow_request';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications DROP COLUMN follow_request_id,
    ADD CONSTRAINT notifications_kind_check CHECK (
        (kind = 'mention' AND post_id IS NOT NULL)
        OR (kind = 'favourite' AND post_id IS NOT NULL AND favourite_id IS NOT NULL)
        OR (kind = 'reblog' AND post_id IS NOT NULL AND reblog_id IS NOT NULL)
        OR (kind = 'follow' AND post_id IS NULL AND follow_id IS NOT NULL));
ALTER TABLE follows DROP COLUMN from_request;
DROP TABLE follow_requests;
ALTER TABLE users DROP COLUMN locked;
