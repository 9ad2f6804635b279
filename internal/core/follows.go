package core

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// Follow makes followerID follow the user named username, or, when that account is
// locked, asks to (see FollowRequests). Following someone twice is not an error;
// following oneself is.
func (s *Service) Follow(ctx context.Context, followerID int64, username string) (User, error) {
	target, err := s.UserByUsername(ctx, username)
	if err != nil {
		return User{}, err
	}
	if target.ID == followerID {
		return User{}, invalid("username", "You cannot follow yourself.")
	}
	if target.Locked {
		return target, s.requestFollow(ctx, followerID, target)
	}
	var eventID int64
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		ids, err := q.FollowCreate(ctx, store.FollowCreateParams{FollowerID: followerID, FolloweeID: target.ID})
		if err != nil || len(ids) == 0 {
			return err
		}
		eventID, err = events.Append(ctx, q, events.FollowCreated{FollowerID: followerID, FolloweeID: target.ID, FollowID: ids[0]})
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("follow: %w", err)
	}
	s.woke(events.TopicFollowCreated, eventID)
	return target, nil
}

// Unfollow makes followerID stop following the user named username, or withdraws their
// request to. Unfollowing someone not followed is not an error.
func (s *Service) Unfollow(ctx context.Context, followerID int64, username string) (User, error) {
	target, err := s.UserByUsername(ctx, username)
	if err != nil {
		return User{}, err
	}
	var eventID int64
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		// A pending request is withdrawn (its notification goes with it).
		if _, err := q.FollowRequestTake(ctx, store.FollowRequestTakeParams{RequesterID: followerID, TargetID: target.ID}); err != nil {
			return err
		}
		n, err := q.FollowDelete(ctx, store.FollowDeleteParams{FollowerID: followerID, FolloweeID: target.ID})
		if err != nil || n == 0 {
			return err
		}
		eventID, err = events.Append(ctx, q, events.FollowDeleted{FollowerID: followerID, FolloweeID: target.ID})
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("unfollow: %w", err)
	}
	s.woke(events.TopicFollowDeleted, eventID)
	return target, nil
}

// FollowersAmong returns, for each author in authorIDs, which of userIDs follow them.
func (s *Service) FollowersAmong(ctx context.Context, authorIDs, userIDs []int64) (map[int64]map[int64]bool, error) {
	out := map[int64]map[int64]bool{}
	if len(authorIDs) == 0 || len(userIDs) == 0 {
		return out, nil
	}
	rows, err := s.q.FollowersAmong(ctx, store.FollowersAmongParams{AuthorIds: authorIDs, UserIds: userIDs})
	if err != nil {
		return nil, fmt.Errorf("followers: %w", err)
	}
	for _, r := range rows {
		if out[r.FolloweeID] == nil {
			out[r.FolloweeID] = map[int64]bool{}
		}
		out[r.FolloweeID][r.FollowerID] = true
	}
	return out, nil
}

// FollowOptions are the choices a follow request may carry (Mastodon's reblogs, notify
// and languages). The zero value is the default: see their boosts, no notification per
// post, every language.
type FollowOptions struct {
	HideReblogs bool
	Notify      bool
	Languages   []string
}

// CheckFollowOptions refuses, by field name, the options this server cannot honour yet,
// so that a follow never silently ignores what was asked.
func CheckFollowOptions(o FollowOptions) error {
	problems := map[string]string{}
	if o.HideReblogs {
		problems["reblogs"] = "hiding an account's boosts " + notYet[3:]
	}
	if o.Notify {
		problems["notify"] = "notifications of each new post " + notYet[3:]
	}
	if len(o.Languages) > 0 {
		problems["languages"] = "following only some languages " + notYet[3:]
	}
	if len(problems) > 0 {
		return &ValidationError{Fields: problems}
	}
	return nil
}
