-- The live streams' periodic re-check of the credentials they were opened with: one query
-- per kind for all of a process's streams (internal/core/credentials.go).

-- name: CredentialTokensLive :many
-- Of the given access token ids, those still valid, as OAuthTokenByHash judges a token.
SELECT id FROM oauth_tokens WHERE id = ANY(@ids::bigint[]) AND revoked_at IS NULL;

-- name: CredentialSessionsLive :many
-- Of the given website sessions (stored key, account, login time), the keys still valid:
-- stored and unexpired, and logged in no earlier than the account's sessions_valid_after
-- (the rule of the website's loadUser).
SELECT c.session::text AS session
FROM (SELECT unnest(@sessions::text[]) AS session, unnest(@user_ids::bigint[]) AS user_id,
             unnest(@auth_ats::timestamptz[]) AS auth_at) AS c
JOIN sessions s ON s.token = c.session AND s.expiry > now()
JOIN users u ON u.id = c.user_id AND c.auth_at >= u.sessions_valid_after;
