-- +goose Up

-- When the account's current address was verified (its link used, or the account made by
-- an administrator); NULL while it is not. Changing the address sets it back to NULL.
-- Mention emails go only to verified addresses.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Accounts that exist now keep their mention emails: they have been receiving them, and
-- turning them off with no message would look like a fault. The per-recipient bound below
-- now caps what any address can be sent. docs/operations.md says how to ask everyone to
-- verify instead.
UPDATE users SET email_verified_at = now();

-- One row per verification link sent. Only the SHA-256 of the link's token is stored. A
-- link verifies exactly the address it was sent to, and only while that is still the
-- account's address; using one deletes every link of the account. The verify_email job
-- that sent it is kept so that its retries (which send a new link, also valid) count as
-- one email against the per-account allowance.
CREATE TABLE email_verifications (
    token_hash bytea       PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      text        NOT NULL,
    job_id     bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id, created_at);

-- How each mention notification is emailed, decided once, under a lock on the recipient:
-- on its own (digest = false), or in the recipient's next digest once they had their
-- hourly share of single emails. digest_job_id is the mention_digest job that took it.
CREATE TABLE mention_email_plans (
    notification_id bigint      PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    recipient_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest          boolean     NOT NULL,
    digest_job_id   bigint,
    planned_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mention_email_plans_recipient_idx ON mention_email_plans (recipient_id, planned_at);
CREATE INDEX mention_email_plans_job_idx ON mention_email_plans (digest_job_id) WHERE digest_job_id IS NOT NULL;
CREATE INDEX mention_email_plans_waiting_idx ON mention_email_plans (recipient_id) WHERE digest AND digest_job_id IS NULL;

-- A digest's notifications share its Message-ID: one row per notification still, but the
-- Message-ID is no longer unique.
ALTER TABLE email_deliveries DROP CONSTRAINT email_deliveries_message_id_key;

-- +goose Down
-- Keeps one delivery row per digest, the unique Message-ID's old meaning.
DELETE FROM email_deliveries d USING email_deliveries e
WHERE e.message_id = d.message_id AND e.notification_id < d.notification_id;
ALTER TABLE email_deliveries ADD CONSTRAINT email_deliveries_message_id_key UNIQUE (message_id);
DROP TABLE mention_email_plans;
DROP TABLE email_verifications;
ALTER TABLE users DROP COLUMN email_verified_at;
