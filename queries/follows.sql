-- name: FollowCreate :many
-- The new follow's id; no row when the follow existed.
INSERT INTO follows (follower_id, followee_id) VALUES (@follower_id, @followee_id)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: FollowDelete :execrows
DELETE FROM follows WHERE follower_id = @follower_id AND followee_id = @followee_id;

-- name: FollowExists :one
SELECT EXISTS (
    SELECT 1 FROM follows WHERE follower_id = @follower_id AND followee_id = @followee_id
);

-- name: FollowersAmong :many
-- Which of the given users follow which of the given authors.
SELECT follower_id, followee_id FROM follows
WHERE followee_id = ANY(@author_ids::bigint[]) AND follower_id = ANY(@user_ids::bigint[]);
