-- +goose Up

-- OAuth 2.0 clients registered through POST /api/v1/apps. The secret is stored hashed.
CREATE TABLE oauth_apps (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name               text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    website            text        NOT NULL DEFAULT '' CHECK (char_length(website) <= 2000),
    redirect_uris      text[]      NOT NULL,
    scopes             text        NOT NULL,
    client_id          text        NOT NULL UNIQUE,
    client_secret_hash text        NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);

-- Authorization codes: single use, short-lived, stored hashed.
CREATE TABLE oauth_codes (
    code_hash      text        PRIMARY KEY,
    app_id         bigint      NOT NULL REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id        bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri   text        NOT NULL,
    scopes         text        NOT NULL,
    code_challenge text        NOT NULL DEFAULT '',
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);

-- Access tokens, stored hashed. app_id is null for personal access tokens; user_id is
-- null for app tokens from the client_credentials grant.
CREATE TABLE oauth_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash   text        NOT NULL UNIQUE,
    app_id       bigint      REFERENCES oauth_apps (id) ON DELETE CASCADE,
    user_id      bigint      REFERENCES users (id) ON DELETE CASCADE,
    name         text        NOT NULL DEFAULT '',
    scopes       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    CHECK (app_id IS NOT NULL OR user_id IS NOT NULL)
);
CREATE INDEX oauth_tokens_user_idx ON oauth_tokens (user_id) WHERE revoked_at IS NULL;

-- Idempotency-Key of POST /api/v1/statuses, written in the same transaction as the post,
-- so a retried request finds the post its first attempt created.
CREATE TABLE idempotency_keys (
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key        text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    post_id    bigint      NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE oauth_tokens;
DROP TABLE oauth_codes;
DROP TABLE oauth_apps;
