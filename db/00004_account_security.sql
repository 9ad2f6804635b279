-- +goose Up

-- Sessions that logged in before this instant are no longer valid: set by a password
-- change and by "log out everywhere".
ALTER TABLE users ADD COLUMN sessions_valid_after timestamptz NOT NULL DEFAULT 'epoch';

-- +goose Down
ALTER TABLE users DROP COLUMN sessions_valid_after;
