package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// MentionsResult says what ApplyMentions did.
type MentionsResult struct {
	// Skipped is true when the post no longer exists or is deleted.
	Skipped bool
	// Notified lists the notifications created by this call; empty on a repeated call.
	Notified []int64
}

// ApplyMentions resolves the @mentions of post postID into mention and notification rows,
// enqueues one email job per new notification (delayed by MentionEmailDelay) and the stats
// job that counts the mentions, then calls finish, all in one transaction. Unknown names
// and self-mentions are ignored. Calling it again for the same post changes nothing: the
// rows have unique keys and only newly created notifications get an email job.
func (s *Service) ApplyMentions(ctx context.Context, postID int64, finish Finish) (MentionsResult, error) {
	var res MentionsResult
	var lastEvent int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		res = MentionsResult{}
		post, err := q.PostLockForJob(ctx, postID)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && post.DeletedAt != nil) {
			res.Skipped = true
			return finish(ctx, tx)
		}
		if err != nil {
			return err
		}
		names := text.Mentions(post.Body)
		var users []store.UserIDsByUsernamesRow
		if len(names) > 0 {
			if users, err = q.UserIDsByUsernames(ctx, names); err != nil {
				return err
			}
		}
		var ids []int64
		for _, u := range users {
			if u.ID != post.AuthorID {
				ids = append(ids, u.ID)
			}
		}
		if len(ids) > 0 {
			if err := q.MentionsInsert(ctx, store.MentionsInsertParams{PostID: postID, UserIds: ids}); err != nil {
				return err
			}
			created, err := q.NotificationsInsertMentions(ctx, store.NotificationsInsertMentionsParams{
				ActorID: post.AuthorID, PostID: postID, RecipientIds: ids,
			})
			if err != nil {
				return err
			}
			optedIn := map[int64]bool{}
			for _, u := range users {
				optedIn[u.ID] = u.EmailMentions
			}
			var params []river.InsertManyParams
			for _, n := range created {
				res.Notified = append(res.Notified, n.ID)
				lastEvent, err = events.Append(ctx, q, events.NotificationCreated{
					NotificationID: n.ID, RecipientID: n.RecipientID, Kind: "mention", PostID: postID,
				})
				if err != nil {
					return err
				}
				if !optedIn[n.RecipientID] {
					continue
				}
				opts := jobargs.MentionEmail{}.InsertOpts()
				if s.opts.MentionEmailDelay > 0 {
					opts.ScheduledAt = time.Now().Add(s.opts.MentionEmailDelay)
				}
				params = append(params, river.InsertManyParams{Args: jobargs.MentionEmail{NotificationID: n.ID}, InsertOpts: &opts})
			}
			if len(created) == 0 {
				return finish(ctx, tx) // a repeated attempt: everything was done before
			}
			params = append(params, river.InsertManyParams{Args: jobargs.Stats{Op: jobargs.StatsMentions, PostID: postID}})
			if _, err := s.opts.Jobs.InsertManyTx(ctx, tx, params); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return MentionsResult{}, fmt.Errorf("apply mentions of post %d: %w", postID, err)
	}
	s.woke(events.TopicNotificationCreated, lastEvent)
	return res, nil
}
