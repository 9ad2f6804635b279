-- name: FollowRequestCreate :many
-- The new request's id; no row when it existed.
INSERT INTO follow_requests (requester_id, target_id) VALUES (@requester_id, @target_id)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: FollowRequestTake :many
-- Removes @requester_id's request to follow @target_id, answering its id (no row: none).
DELETE FROM follow_requests WHERE requester_id = @requester_id AND target_id = @target_id
RETURNING id;

-- name: FollowRequestsOf :many
-- The accounts asking to follow @target_id, newest request first, keyset-paginated by the
-- request's id.
SELECT fr.id AS request_id, sqlc.embed(u)
FROM follow_requests fr JOIN users u ON u.id = fr.requester_id
WHERE fr.target_id = @target_id AND fr.id < @before AND fr.id > @after
ORDER BY fr.id DESC
LIMIT @row_limit;

-- name: FollowRequestersAll :many
SELECT requester_id FROM follow_requests WHERE target_id = @target_id ORDER BY id;

-- name: FollowRequestCount :one
SELECT count(*) FROM follow_requests WHERE target_id = @target_id;

-- name: FollowCreateFromRequest :many
-- A follow made by authorizing a request; no row when it existed.
INSERT INTO follows (follower_id, followee_id, from_request) VALUES (@follower_id, @followee_id, true)
ON CONFLICT DO NOTHING
RETURNING id;

-- name: UserSetLocked :exec
UPDATE users SET locked = @locked WHERE id = @id;

-- name: NotificationsInsertFollowRequests :many
-- One follow_request notification per request of @request_ids still pending; returns
-- those created now.
INSERT INTO notifications (recipient_id, actor_id, kind, follow_request_id)
SELECT fr.target_id, fr.requester_id, 'follow_request', fr.id
FROM follow_requests fr
WHERE fr.id = ANY(@request_ids::bigint[])
ORDER BY fr.id
ON CONFLICT (follow_request_id) DO NOTHING
RETURNING id, recipient_id, coalesce(post_id, 0)::bigint AS post_id, coalesce(follow_request_id, 0)::bigint AS activity_id;

-- name: UserLockedForShare :one
-- Whether @id is locked, holding the row against a concurrent lock or unlock until the
-- transaction ends (an unlock then sees the request and accepts it).
SELECT locked FROM users WHERE id = @id FOR SHARE;
