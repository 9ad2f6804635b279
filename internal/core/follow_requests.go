package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// requestFollow records followerID's request to follow the locked account target, with
// its follow.requested event (the interactions consumer notifies target). Asking again, or
// asking to follow an account already followed, changes nothing.
func (s *Service) requestFollow(ctx context.Context, followerID int64, target User) error {
	var eventID int64
	unlocked := false
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		locked, err := q.UserLockedForShare(ctx, target.ID)
		if err != nil {
			return err
		}
		if !locked { // unlocked since it was read: a follow after all
			unlocked = true
			return nil
		}
		rels, err := q.Relationships(ctx, store.RelationshipsParams{ViewerID: followerID, Ids: []int64{target.ID}})
		if err != nil || len(rels) == 1 && rels[0].Following {
			return err
		}
		ids, err := q.FollowRequestCreate(ctx, store.FollowRequestCreateParams{RequesterID: followerID, TargetID: target.ID})
		if err != nil || len(ids) == 0 {
			return err
		}
		eventID, err = events.Append(ctx, q, events.FollowRequested{RequesterID: followerID, TargetID: target.ID, RequestID: ids[0]})
		return err
	})
	if err != nil {
		return fmt.Errorf("follow request: %w", err)
	}
	if unlocked {
		target.Locked = false
		_, err := s.Follow(ctx, followerID, target.Username)
		return err
	}
	s.woke(events.TopicFollowRequested, eventID)
	s.log.InfoContext(ctx, "follow requested", "requester_id", followerID, "target_id", target.ID)
	return nil
}

// FollowRequester is an account asking to follow, with the id of its request (the key
// of the list's pages).
type FollowRequester struct {
	RequestID int64
	User      User
}

// FollowRequests lists the accounts asking to follow targetID, newest request first.
func (s *Service) FollowRequests(ctx context.Context, targetID int64, page Page) ([]FollowRequester, error) {
	before, limit := page.normalized()
	rows, err := s.q.FollowRequestsOf(ctx, store.FollowRequestsOfParams{TargetID: targetID, Before: before,
		After: page.After, RowLimit: limit})
	if err != nil {
		return nil, fmt.Errorf("follow requests: %w", err)
	}
	out := make([]FollowRequester, len(rows))
	for i, r := range rows {
		out[i] = FollowRequester{RequestID: r.RequestID, User: userFrom(r.User)}
	}
	return out, nil
}

// FollowRequestCount is how many accounts ask to follow targetID.
func (s *Service) FollowRequestCount(ctx context.Context, targetID int64) (int64, error) {
	n, err := s.q.FollowRequestCount(ctx, targetID)
	if err != nil {
		return 0, fmt.Errorf("follow requests: %w", err)
	}
	return n, nil
}

// AuthorizeFollowRequest makes requesterID a follower of target, who had asked: the
// follow is written as any follow is (its follow.created event counts it), without a
// follow notification to target, who accepted it. No such request is ErrNotFound.
func (s *Service) AuthorizeFollowRequest(ctx context.Context, target User, requesterID int64) error {
	var eventID int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		var err error
		eventID, err = s.authorize(ctx, q, target.ID, requesterID)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return err
		}
		return fmt.Errorf("authorize follow request: %w", err)
	}
	s.woke(events.TopicFollowCreated, eventID)
	return nil
}

func (s *Service) authorize(ctx context.Context, q *store.Queries, targetID, requesterID int64) (int64, error) {
	taken, err := q.FollowRequestTake(ctx, store.FollowRequestTakeParams{RequesterID: requesterID, TargetID: targetID})
	if err != nil {
		return 0, err
	}
	if len(taken) == 0 {
		return 0, ErrNotFound
	}
	ids, err := q.FollowCreateFromRequest(ctx, store.FollowCreateFromRequestParams{FollowerID: requesterID, FolloweeID: targetID})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	return events.Append(ctx, q, events.FollowCreated{FollowerID: requesterID, FolloweeID: targetID, FollowID: ids[0]})
}

// RejectFollowRequest turns requesterID's request down. No such request is ErrNotFound.
func (s *Service) RejectFollowRequest(ctx context.Context, target User, requesterID int64) error {
	taken, err := s.q.FollowRequestTake(ctx, store.FollowRequestTakeParams{RequesterID: requesterID, TargetID: target.ID})
	if err != nil {
		return fmt.Errorf("reject follow request: %w", err)
	}
	if len(taken) == 0 {
		return ErrNotFound
	}
	return nil
}

// setLocked locks or unlocks user's account in q's transaction. Unlocking accepts every
// pending request, as Mastodon does; it answers the last follow.created event written.
func (s *Service) setLocked(ctx context.Context, q *store.Queries, userID int64, locked bool) (int64, error) {
	if err := q.UserSetLocked(ctx, store.UserSetLockedParams{ID: userID, Locked: locked}); err != nil {
		return 0, err
	}
	if locked {
		return 0, nil
	}
	requesters, err := q.FollowRequestersAll(ctx, userID)
	if err != nil {
		return 0, err
	}
	var last int64
	for _, r := range requesters {
		id, err := s.authorize(ctx, q, userID, r)
		if err != nil {
			return 0, err
		}
		last = max(last, id)
	}
	return last, nil
}
