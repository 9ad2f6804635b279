-- name: EmailVerificationInsert :exec
INSERT INTO email_verifications (token_hash, user_id, email, job_id, expires_at)
VALUES (@token_hash, @user_id, @email, @job_id, @expires_at);

-- name: EmailVerificationRecent :one
-- The verification emails sent to an account since @since by jobs other than @job_id
-- (each job counted once, however often it retried), when the first of them went out,
-- and when the newest link to @email did.
SELECT count(DISTINCT job_id) AS jobs,
       coalesce(min(created_at), now())::timestamptz AS oldest,
       coalesce(max(created_at) FILTER (WHERE lower(email) = lower(@email)), 'epoch')::timestamptz AS newest_to_email
FROM email_verifications
WHERE user_id = @user_id AND job_id <> @job_id AND created_at > @since;

-- name: EmailVerificationLookup :one
-- The link with this token, and the account it belongs to as it is now.
SELECT v.user_id, v.email, v.expires_at, u.username, u.email AS current_email, u.email_verified_at
FROM email_verifications v JOIN users u ON u.id = v.user_id
WHERE v.token_hash = @token_hash;

-- name: EmailVerificationLockToken :one
-- Locks the link, so that two uses of it take turns and the second finds it gone.
SELECT user_id, email, expires_at FROM email_verifications WHERE token_hash = @token_hash FOR UPDATE;

-- name: EmailVerificationDeleteOfUser :exec
DELETE FROM email_verifications WHERE user_id = @user_id;

-- name: EmailVerificationPrune :exec
-- Forgets an account's links that expired before @before.
DELETE FROM email_verifications WHERE user_id = @user_id AND expires_at < @before;
