package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/store"
)

// MentionEmail is what the email worker needs to send one mention email.
type MentionEmail struct {
	NotificationID    int64
	PostID            int64
	RecipientID       int64
	RecipientUsername string
	RecipientEmail    string
	ActorUsername     string
	ActorName         string
	PostBody          string
	// Skip says why nothing should be sent, or is "" when the email should go out.
	Skip string
}

// MentionEmailFor returns the email for notification id, or why none should be sent: the
// post was deleted, the recipient turned mention emails off or has not verified their
// address, it was sent already, or it waits for the recipient's digest.
func (s *Service) MentionEmailFor(ctx context.Context, id int64) (MentionEmail, error) {
	row, err := s.q.NotificationForEmail(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return MentionEmail{NotificationID: id, Skip: "notification no longer exists"}, nil
	}
	if err != nil {
		return MentionEmail{}, fmt.Errorf("mention email %d: %w", id, err)
	}
	m := MentionEmail{
		NotificationID: id, PostID: row.PostID, RecipientID: row.RecipientID, RecipientUsername: row.RecipientUsername,
		RecipientEmail: row.RecipientEmail, ActorUsername: row.ActorUsername,
		ActorName: row.ActorDisplayName, PostBody: row.PostBody,
	}
	if m.ActorName == "" {
		m.ActorName = m.ActorUsername
	}
	switch {
	case row.PostDeletedAt != nil:
		m.Skip = "post deleted"
	case !row.EmailMentions:
		m.Skip = "recipient turned mention emails off"
	case !row.RecipientVerified:
		m.Skip = "recipient's address is not verified"
	case row.Delivered:
		m.Skip = "already delivered"
	case row.InDigest:
		m.Skip = "waits for the recipient's digest"
	}
	return m, nil
}

// RecordEmailDelivery records that the email for notification id was handed to the mail
// server, and calls finish, in one transaction. A second record for the same notification
// is a no-op.
func (s *Service) RecordEmailDelivery(ctx context.Context, id int64, messageID, recipient string, finish Finish) error {
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if _, err := q.EmailDeliveryRecord(ctx, store.EmailDeliveryRecordParams{
			NotificationID: id, MessageID: messageID, Recipient: recipient,
		}); err != nil {
			return err
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("record delivery of notification %d: %w", id, err)
	}
	return nil
}
