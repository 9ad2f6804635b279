-- name: NotificationsList :many
-- A user's notifications (of @kinds, all when empty; about live posts), newest first,
-- keyset-paginated by id.
SELECT n.id, n.kind, n.created_at, n.read_at, n.post_id, sqlc.embed(a)
FROM notifications n
JOIN users a ON a.id = n.actor_id
WHERE n.recipient_id = @recipient_id AND n.id < @before AND n.id > @after
  AND (@actor_id::bigint = 0 OR n.actor_id = @actor_id)
  AND (cardinality(@kinds::text[]) = 0 OR n.kind = ANY(@kinds::text[]))
  AND (n.post_id IS NULL OR EXISTS (SELECT 1 FROM posts p WHERE p.id = n.post_id AND p.deleted_at IS NULL))
ORDER BY n.id DESC
LIMIT @row_limit;

-- name: NotificationsUnreadCount :one
SELECT count(*) FROM notifications n
WHERE n.recipient_id = @recipient_id AND n.read_at IS NULL
  AND (n.post_id IS NULL OR EXISTS (SELECT 1 FROM posts p WHERE p.id = n.post_id AND p.deleted_at IS NULL));

-- name: NotificationsMarkRead :execrows
UPDATE notifications SET read_at = now()
WHERE recipient_id = @recipient_id AND read_at IS NULL AND id <= @up_to;

-- name: NotificationForEmail :one
-- Everything a mention email needs, and whether it should still be sent.
SELECT n.id, n.recipient_id, p.id AS post_id,
       r.username AS recipient_username, r.email AS recipient_email, r.email_mentions,
       (r.email_verified_at IS NOT NULL)::boolean AS recipient_verified,
       a.username AS actor_username, a.display_name AS actor_display_name,
       p.body AS post_body, p.deleted_at AS post_deleted_at,
       EXISTS (SELECT 1 FROM email_deliveries d WHERE d.notification_id = n.id) AS delivered,
       EXISTS (SELECT 1 FROM mention_email_plans m WHERE m.notification_id = n.id AND m.digest) AS in_digest
FROM notifications n
JOIN users r ON r.id = n.recipient_id
JOIN users a ON a.id = n.actor_id
JOIN posts p ON p.id = n.post_id
WHERE n.id = @id AND n.kind = 'mention';

-- name: EmailDeliveryRecord :execrows
INSERT INTO email_deliveries (notification_id, message_id, recipient)
VALUES (@notification_id, @message_id, @recipient)
ON CONFLICT (notification_id) DO NOTHING;

-- name: NotificationsListAfter :many
-- The notifications just newer than @after, oldest first (min_id).
SELECT n.id, n.kind, n.created_at, n.read_at, n.post_id, sqlc.embed(a)
FROM notifications n
JOIN users a ON a.id = n.actor_id
WHERE n.recipient_id = @recipient_id AND n.id > @after AND n.id < @before
  AND (@actor_id::bigint = 0 OR n.actor_id = @actor_id)
  AND (cardinality(@kinds::text[]) = 0 OR n.kind = ANY(@kinds::text[]))
  AND (n.post_id IS NULL OR EXISTS (SELECT 1 FROM posts p WHERE p.id = n.post_id AND p.deleted_at IS NULL))
ORDER BY n.id
LIMIT @row_limit;

-- name: NotificationGet :one
SELECT n.id, n.kind, n.created_at, n.read_at, n.post_id, sqlc.embed(a)
FROM notifications n
JOIN users a ON a.id = n.actor_id
WHERE n.id = @id AND n.recipient_id = @recipient_id
  AND (n.post_id IS NULL OR EXISTS (SELECT 1 FROM posts p WHERE p.id = n.post_id AND p.deleted_at IS NULL));

-- name: NotificationDismiss :execrows
DELETE FROM notifications WHERE id = @id AND recipient_id = @recipient_id;

-- name: NotificationsClear :execrows
DELETE FROM notifications WHERE recipient_id = @recipient_id;
