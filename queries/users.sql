-- name: UserCreate :one
INSERT INTO users (username, email, password_hash, display_name)
VALUES (@username, @email, @password_hash, @display_name)
RETURNING *;

-- name: UserGetByID :one
SELECT * FROM users WHERE id = @id;

-- name: UserGetByUsername :one
SELECT * FROM users WHERE lower(username) = lower(@username);

-- name: UserGetByLogin :one
-- Finds the account for a login form that accepts a username or an email address.
SELECT * FROM users
WHERE lower(username) = lower(@login) OR lower(email) = lower(@login)
ORDER BY id
LIMIT 1;

-- name: UserSetAdmin :execrows
UPDATE users SET is_admin = @is_admin WHERE lower(username) = lower(@username);

-- name: UserStats :one
-- Counts shown on a profile page.
SELECT
    (SELECT count(*) FROM posts p WHERE p.author_id = @id AND p.deleted_at IS NULL) AS posts,
    (SELECT count(*) FROM follows f WHERE f.followee_id = @id) AS followers,
    (SELECT count(*) FROM follows f WHERE f.follower_id = @id) AS following;

-- name: UserUpdateSettings :exec
UPDATE users SET display_name = @display_name, bio = @bio, email_mentions = @email_mentions
WHERE id = @id;
