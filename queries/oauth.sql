-- name: OAuthAppCreate :one
INSERT INTO oauth_apps (name, website, redirect_uris, scopes, client_id, client_secret_hash)
VALUES (@name, @website, @redirect_uris, @scopes, @client_id, @client_secret_hash)
RETURNING *;

-- name: OAuthAppByClientID :one
SELECT * FROM oauth_apps WHERE client_id = @client_id;

-- name: OAuthAppByID :one
SELECT * FROM oauth_apps WHERE id = @id;

-- name: OAuthCodeCreate :exec
INSERT INTO oauth_codes (code_hash, app_id, user_id, redirect_uri, scopes, code_challenge, expires_at)
VALUES (@code_hash, @app_id, @user_id, @redirect_uri, @scopes, @code_challenge, @expires_at);

-- name: OAuthCodeForExchange :one
-- Locks a code for its exchange, which checks it and marks it used (OAuthCodeMarkUsed) in
-- the same transaction: a refused exchange leaves the code as it was.
SELECT * FROM oauth_codes WHERE code_hash = @code_hash FOR UPDATE;

-- name: OAuthCodeMarkUsed :exec
UPDATE oauth_codes SET used_at = now() WHERE code_hash = @code_hash;

-- name: OAuthTokenCreate :one
INSERT INTO oauth_tokens (token_hash, app_id, user_id, name, scopes)
VALUES (@token_hash, @app_id, @user_id, @name, @scopes)
RETURNING *;

-- name: OAuthTokenByHash :one
SELECT t.*, coalesce(a.name, '') AS app_name, coalesce(a.website, '') AS app_website
FROM oauth_tokens t LEFT JOIN oauth_apps a ON a.id = t.app_id
WHERE t.token_hash = @token_hash AND t.revoked_at IS NULL;

-- name: OAuthTokenRevokeByHash :many
UPDATE oauth_tokens SET revoked_at = now()
WHERE token_hash = @token_hash AND revoked_at IS NULL AND (app_id = @app_id OR @app_id = 0)
RETURNING id, user_id;

-- name: OAuthTokenRevokeRevokeForCode :many
UPDATE oauth_tokens SET revoked_at = now() WHERE app_id = @app_id AND user_id = @user_id AND revoked_at IS NULL
RETURNING id;

-- name: OAuthTokensOfUser :many
SELECT t.id, t.name, t.scopes, t.created_at, t.last_used_at, coalesce(a.name, '') AS app_name,
       coalesce(a.website, '') AS app_website, t.app_id IS NULL AS personal
FROM oauth_tokens t LEFT JOIN oauth_apps a ON a.id = t.app_id
WHERE t.user_id = @user_id AND t.revoked_at IS NULL
ORDER BY t.id DESC;

-- name: OAuthTokenRevokeForUser :many
UPDATE oauth_tokens SET revoked_at = now() WHERE id = @id AND user_id = @user_id AND revoked_at IS NULL
RETURNING id;

-- name: OAuthTokenTouch :exec
UPDATE oauth_tokens SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: OAuthTokensRevokeAllOfUser :many
UPDATE oauth_tokens SET revoked_at = now() WHERE user_id = @user_id AND revoked_at IS NULL
RETURNING id;
