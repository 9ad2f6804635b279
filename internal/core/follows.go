package core

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// Follow makes followerID follow the user named username. Following someone twice is not
// an error; following oneself is.
func (s *Service) Follow(ctx context.Context, followerID int64, username string) (User, error) {
	target, err := s.UserByUsername(ctx, username)
	if err != nil {
		return User{}, err
	}
	if target.ID == followerID {
		return User{}, invalid("username", "You cannot follow yourself.")
	}
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		n, err := q.FollowCreate(ctx, store.FollowCreateParams{FollowerID: followerID, FolloweeID: target.ID})
		if err != nil || n == 0 {
			return err
		}
		_, err = events.Append(ctx, q, events.FollowCreated{FollowerID: followerID, FolloweeID: target.ID})
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("follow: %w", err)
	}
	return target, nil
}

// Unfollow makes followerID stop following the user named username. Unfollowing someone
// not followed is not an error.
func (s *Service) Unfollow(ctx context.Context, followerID int64, username string) (User, error) {
	target, err := s.UserByUsername(ctx, username)
	if err != nil {
		return User{}, err
	}
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		n, err := q.FollowDelete(ctx, store.FollowDeleteParams{FollowerID: followerID, FolloweeID: target.ID})
		if err != nil || n == 0 {
			return err
		}
		_, err = events.Append(ctx, q, events.FollowDeleted{FollowerID: followerID, FolloweeID: target.ID})
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("unfollow: %w", err)
	}
	return target, nil
}
