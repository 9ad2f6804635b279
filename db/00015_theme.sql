-- +goose Up

-- The website's colour theme, chosen per user: follow the system's (the default), or
-- always light, or always dark.
ALTER TABLE users ADD COLUMN theme text NOT NULL DEFAULT 'system'
    CHECK (theme IN ('system', 'light', 'dark'));

-- +goose Down
ALTER TABLE users DROP COLUMN theme;
