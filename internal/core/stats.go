package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/store"
)

// ApplyStats applies one counter change for post postID and calls finish, in one
// transaction. Each change has a key in the stats ledger, so applying it twice changes the
// counters once. It reports whether the change was applied by this call.
//
// The post row is locked while counting, so the counting of a post's mentions and the
// uncounting at its deletion take turns: a post deleted before its mentions were counted
// never has them counted.
func (s *Service) ApplyStats(ctx context.Context, op string, postID int64, finish Finish) (bool, error) {
	if op != jobargs.StatsPostCreated && op != jobargs.StatsPostDeleted && op != jobargs.StatsMentions {
		return false, fmt.Errorf("%w: unknown stats op %q", ErrBadJob, op)
	}
	var applied bool
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		applied = false
		post, err := q.PostLockForJob(ctx, postID)
		if errors.Is(err, pgx.ErrNoRows) {
			return finish(ctx, tx) // the post is gone for good: nothing to count
		}
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s:%d", op, postID)
		switch op {
		case jobargs.StatsPostCreated, jobargs.StatsPostDeleted:
			n, err := q.StatsLedgerInsert(ctx, store.StatsLedgerInsertParams{Key: key, Counted: true})
			if err != nil {
				return err
			}
			if n == 0 {
				break // applied before
			}
			applied = true
			delta := int64(1)
			if op == jobargs.StatsPostDeleted {
				delta = -1
			}
			if err = q.UserStatsAddPosts(ctx, store.UserStatsAddPostsParams{UserID: post.AuthorID, Delta: delta}); err != nil {
				return err
			}
			if op == jobargs.StatsPostDeleted {
				counted, err := q.StatsLedgerCounted(ctx, fmt.Sprintf("%s:%d", jobargs.StatsMentions, postID))
				if err != nil {
					return err
				}
				if counted {
					if err := q.UserStatsAddMentions(ctx, store.UserStatsAddMentionsParams{PostID: postID, Delta: -1}); err != nil {
						return err
					}
				}
			}
		case jobargs.StatsMentions:
			live := post.DeletedAt == nil
			n, err := q.StatsLedgerInsert(ctx, store.StatsLedgerInsertParams{Key: key, Counted: live})
			if err != nil {
				return err
			}
			if n == 1 && live {
				applied = true
				if err := q.UserStatsAddMentions(ctx, store.UserStatsAddMentionsParams{PostID: postID, Delta: 1}); err != nil {
					return err
				}
			}
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return false, fmt.Errorf("apply stats %s of post %d: %w", op, postID, err)
	}
	return applied, nil
}

// Counters are a user's maintained counters.
type Counters struct {
	Posts            int64
	MentionsReceived int64
}

// CountersOf returns the counters the stats worker maintains for userID.
func (s *Service) CountersOf(ctx context.Context, userID int64) (Counters, error) {
	st, err := s.q.UserStatsGet(ctx, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Counters{}, nil
	}
	if err != nil {
		return Counters{}, fmt.Errorf("counters: %w", err)
	}
	return Counters{Posts: st.Posts, MentionsReceived: st.MentionsReceived}, nil
}
