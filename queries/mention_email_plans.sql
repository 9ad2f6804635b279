-- name: MentionEmailPlanGet :one
SELECT * FROM mention_email_plans WHERE notification_id = @notification_id;

-- name: MentionEmailSinglesSince :one
-- How many mentions of the recipient were planned as an email of their own since @since.
SELECT count(*) FROM mention_email_plans
WHERE recipient_id = @recipient_id AND NOT digest AND planned_at > @since;

-- name: MentionEmailPlanInsert :exec
INSERT INTO mention_email_plans (notification_id, recipient_id, digest)
VALUES (@notification_id, @recipient_id, @digest);

-- name: MentionDigestClaim :execrows
-- Gives the recipient's waiting mentions to digest job @job_id, unless that job took its
-- share already: a retry sends what its first attempt took, and no more.
UPDATE mention_email_plans m SET digest_job_id = @job_id
WHERE m.recipient_id = @recipient_id AND m.digest AND m.digest_job_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM mention_email_plans t WHERE t.digest_job_id = @job_id);

-- name: MentionDigestItems :many
-- The mentions digest job @job_id took, still to be emailed, of posts that still exist.
SELECT n.id AS notification_id, p.id AS post_id, a.username AS actor_username,
       a.display_name AS actor_display_name, p.body AS post_body
FROM mention_email_plans m
JOIN notifications n ON n.id = m.notification_id
JOIN posts p ON p.id = n.post_id AND p.deleted_at IS NULL
JOIN users a ON a.id = n.actor_id
WHERE m.digest_job_id = @job_id
  AND NOT EXISTS (SELECT 1 FROM email_deliveries d WHERE d.notification_id = n.id)
ORDER BY n.id;

-- name: MentionDigestWaiting :one
-- Whether mentions of the recipient wait for a digest that no job has taken yet.
SELECT EXISTS (SELECT 1 FROM mention_email_plans
               WHERE recipient_id = @recipient_id AND digest AND digest_job_id IS NULL);

-- name: EmailDeliveriesRecord :exec
-- Records one email that carried several notifications (a digest).
INSERT INTO email_deliveries (notification_id, message_id, recipient)
SELECT unnest(@notification_ids::bigint[]), @message_id, @recipient
ON CONFLICT (notification_id) DO NOTHING;
