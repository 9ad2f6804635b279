package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/store"
)

// MentionEmailBound limits the mention emails of one recipient: at most Limit emails of a
// single mention in any Window. Past it, further mentions wait for one digest email, sent
// a Window after the first of them waited, so a recipient gets at most Limit single
// emails and about one digest per Window. A Limit of 0 means no bound.
type MentionEmailBound struct {
	Limit  int
	Window time.Duration
}

// PlanMentionEmail decides, once per notification and under a lock on the recipient, how
// the email for notification id goes out: on its own while the recipient had fewer than
// b.Limit single mention emails in the last b.Window, otherwise in the recipient's next
// digest. It reports whether it went to the digest; then it has also enqueued the
// recipient's mention_digest job (a waiting one absorbs it) and called finish, in the same
// transaction. For a single email the caller sends and then records the delivery, which
// finishes the job. A repeated call returns the first decision.
func (s *Service) PlanMentionEmail(ctx context.Context, id, recipientID int64, b MentionEmailBound, finish Finish) (bool, error) {
	if b.Limit <= 0 {
		return false, nil
	}
	var digest bool
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if _, err := q.UserGetForUpdate(ctx, recipientID); err != nil {
			return err
		}
		plan, err := q.MentionEmailPlanGet(ctx, id)
		switch {
		case err == nil:
			digest = plan.Digest
		case errors.Is(err, pgx.ErrNoRows):
			n, err := q.MentionEmailSinglesSince(ctx, store.MentionEmailSinglesSinceParams{
				RecipientID: recipientID, Since: time.Now().Add(-b.Window),
			})
			if err != nil {
				return err
			}
			digest = n >= int64(b.Limit)
			if err := q.MentionEmailPlanInsert(ctx, store.MentionEmailPlanInsertParams{
				NotificationID: id, RecipientID: recipientID, Digest: digest,
			}); err != nil {
				return err
			}
			if digest {
				if err := s.enqueueDigest(ctx, tx, recipientID, b); err != nil {
					return err
				}
			}
		default:
			return err
		}
		if digest {
			return finish(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("plan email of notification %d: %w", id, err)
	}
	return digest, nil
}

// enqueueDigest enqueues recipientID's digest, due a window from now, unless one is
// waiting or running already.
func (s *Service) enqueueDigest(ctx context.Context, tx pgx.Tx, recipientID int64, b MentionEmailBound) error {
	opts := jobargs.MentionDigest{}.InsertOpts()
	opts.ScheduledAt = time.Now().Add(b.Window)
	_, err := s.opts.Jobs.InsertManyTx(ctx, tx, []river.InsertManyParams{
		{Args: jobargs.MentionDigest{RecipientID: recipientID}, InsertOpts: &opts},
	})
	if err != nil {
		return fmt.Errorf("enqueue digest: %w", err)
	}
	return nil
}

// DigestItem is one mention listed in a digest.
type DigestItem struct {
	NotificationID int64
	PostID         int64
	ActorUsername  string
	ActorName      string
	PostBody       string
}

// MentionDigest is what the digest worker needs to send one digest email.
type MentionDigest struct {
	RecipientID       int64
	RecipientUsername string
	RecipientEmail    string
	// Items are the mentions to list, oldest first.
	Items []DigestItem
	// Skip says why nothing should be sent, or is "" when the email should go out.
	Skip string
}

// MentionDigestFor gives digest job jobID the mentions of recipientID that wait for a
// digest (a retry of the job keeps what its first attempt took, and takes no more), and
// returns the email listing those not yet emailed whose posts still exist, or why none
// should be sent: the recipient turned mention emails off, their address is not verified,
// or nothing is left.
func (s *Service) MentionDigestFor(ctx context.Context, recipientID, jobID int64) (MentionDigest, error) {
	d := MentionDigest{RecipientID: recipientID}
	if _, err := s.q.MentionDigestClaim(ctx, store.MentionDigestClaimParams{RecipientID: recipientID, JobID: &jobID}); err != nil {
		return MentionDigest{}, fmt.Errorf("mention digest of user %d: %w", recipientID, err)
	}
	u, err := s.q.UserGetByID(ctx, recipientID)
	if errors.Is(err, pgx.ErrNoRows) {
		d.Skip = "account no longer exists"
		return d, nil
	}
	if err != nil {
		return MentionDigest{}, fmt.Errorf("mention digest of user %d: %w", recipientID, err)
	}
	d.RecipientUsername, d.RecipientEmail = u.Username, u.Email
	rows, err := s.q.MentionDigestItems(ctx, &jobID)
	if err != nil {
		return MentionDigest{}, fmt.Errorf("mention digest of user %d: %w", recipientID, err)
	}
	for _, r := range rows {
		it := DigestItem{NotificationID: r.NotificationID, PostID: r.PostID, ActorUsername: r.ActorUsername,
			ActorName: r.ActorDisplayName, PostBody: r.PostBody}
		if it.ActorName == "" {
			it.ActorName = it.ActorUsername
		}
		d.Items = append(d.Items, it)
	}
	switch {
	case !u.EmailMentions:
		d.Skip = "recipient turned mention emails off"
	case u.EmailVerifiedAt == nil:
		d.Skip = "recipient's address is not verified"
	case len(d.Items) == 0:
		d.Skip = "nothing left to send"
	}
	return d, nil
}

// RecordMentionDigest records that the digest email messageID carrying notifications ids
// was handed to the mail server for recipient (ids is empty when nothing was sent), calls
// finish, and, when more mentions of recipientID wait for a digest by now, enqueues the
// next digest a window later: all in one transaction under the recipient's lock, so that a
// mention planned while this digest was being sent still gets one.
func (s *Service) RecordMentionDigest(ctx context.Context, recipientID int64, ids []int64, messageID, recipient string, b MentionEmailBound, finish Finish) error {
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if _, err := q.UserGetForUpdate(ctx, recipientID); errors.Is(err, pgx.ErrNoRows) {
			return finish(ctx, tx)
		} else if err != nil {
			return err
		}
		if len(ids) > 0 {
			if err := q.EmailDeliveriesRecord(ctx, store.EmailDeliveriesRecordParams{
				NotificationIds: ids, MessageID: messageID, Recipient: recipient,
			}); err != nil {
				return err
			}
		}
		// Completing this job first lets the next digest of the recipient be inserted.
		if err := finish(ctx, tx); err != nil {
			return err
		}
		waiting, err := q.MentionDigestWaiting(ctx, recipientID)
		if err != nil || !waiting {
			return err
		}
		return s.enqueueDigest(ctx, tx, recipientID, b)
	})
	if err != nil {
		return fmt.Errorf("record mention digest of user %d: %w", recipientID, err)
	}
	return nil
}
