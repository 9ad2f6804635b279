-- name: EventAppend :one
INSERT INTO events (topic, payload, request_id) VALUES (@topic, @payload, @request_id)
RETURNING id;

-- name: EventListByTopic :many
-- Events of one topic in id order; used by tests and tools, not by the live stream.
SELECT id, topic, payload, request_id, created_at FROM events
WHERE topic = @topic AND id > @after
ORDER BY id
LIMIT @row_limit;
