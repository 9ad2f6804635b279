package core

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/starling-social/starling/internal/store"
)

// AccountCounts are the numbers shown with an account.
type AccountCounts struct {
	Posts, Followers, Following int64
	// LastPostAt is when the account last posted, or nil.
	LastPostAt *time.Time
}

// CountsOf returns the counts of each user in ids.
func (s *Service) CountsOf(ctx context.Context, ids []int64) (map[int64]AccountCounts, error) {
	out := make(map[int64]AccountCounts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.q.UserStatsMany(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("account counts: %w", err)
	}
	for _, r := range rows {
		c := AccountCounts{Posts: r.Posts, Followers: r.Followers, Following: r.Following}
		if r.LastPostAt.Unix() > 0 { // 'epoch' stands for never
			t := r.LastPostAt
			c.LastPostAt = &t
		}
		out[r.ID] = c
	}
	return out, nil
}

// FollowersOf returns the users who follow userID, newest account id first, below before.
func (s *Service) FollowersOf(ctx context.Context, userID int64, page Page) ([]User, error) {
	users, _, err := keysetPage(page, storeUserID,
		func(before, after int64, limit int32) ([]store.User, error) {
			return s.q.FollowersOf(ctx, store.FollowersOfParams{UserID: userID, Before: before, After: after, RowLimit: limit})
		},
		func(after, before int64, limit int32) ([]store.User, error) {
			return s.q.FollowersOfAfter(ctx, store.FollowersOfAfterParams{UserID: userID, After: after, Before: before, RowLimit: limit})
		})
	if err != nil {
		return nil, fmt.Errorf("followers: %w", err)
	}
	return usersFrom(users), nil
}

func storeUserID(u store.User) int64 { return u.ID }

// FollowingOf returns the users userID follows.
func (s *Service) FollowingOf(ctx context.Context, userID int64, page Page) ([]User, error) {
	users, _, err := keysetPage(page, storeUserID,
		func(before, after int64, limit int32) ([]store.User, error) {
			return s.q.FollowingOf(ctx, store.FollowingOfParams{UserID: userID, Before: before, After: after, RowLimit: limit})
		},
		func(after, before int64, limit int32) ([]store.User, error) {
			return s.q.FollowingOfAfter(ctx, store.FollowingOfAfterParams{UserID: userID, After: after, Before: before, RowLimit: limit})
		})
	if err != nil {
		return nil, fmt.Errorf("following: %w", err)
	}
	return usersFrom(users), nil
}

func usersFrom(rows []store.User) []User {
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = userFrom(r)
	}
	return out
}

// Relationship says how the viewer and another user are connected.
type Relationship struct {
	ID         int64
	Following  bool
	FollowedBy bool
	// Requested: the viewer asked to follow them; RequestedBy: they asked to follow the viewer.
	Requested, RequestedBy bool
}

// RelationshipsOf returns viewerID's relationships with each user in ids (unknown ids are
// left out).
func (s *Service) RelationshipsOf(ctx context.Context, viewerID int64, ids []int64) ([]Relationship, error) {
	rows, err := s.q.Relationships(ctx, store.RelationshipsParams{ViewerID: viewerID, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("relationships: %w", err)
	}
	byID := map[int64]Relationship{}
	for _, r := range rows {
		byID[r.ID] = Relationship{ID: r.ID, Following: r.Following, FollowedBy: r.FollowedBy,
			Requested: r.Requested, RequestedBy: r.RequestedBy}
	}
	var out []Relationship
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// instanceCounts is what InstanceCounts and ActiveMonth last counted, and when. Its mutex
// is held while counting, so that however many requests come at once, a process counts
// at most once per Options.InstanceCountsMaxAge.
type instanceCounts struct {
	mu                  sync.Mutex
	countedAt, activeAt time.Time
	users, posts        int64
	active              int64
}

// InstanceCounts returns how many users and live posts the server has, as counted at most
// Options.InstanceCountsMaxAge ago (1 minute by default) by this process: the instance
// endpoints and nodeinfo answer anyone, and a count per request would be theirs to order.
func (s *Service) InstanceCounts(ctx context.Context) (users, posts int64, err error) {
	c := &s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.countedAt.IsZero() && time.Since(c.countedAt) < s.opts.InstanceCountsMaxAge {
		return c.users, c.posts, nil
	}
	r, err := s.q.InstanceCounts(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("instance counts: %w", err)
	}
	c.users, c.posts, c.countedAt = r.Users, r.Posts, time.Now()
	return r.Users, r.Posts, nil
}

// ActiveMonth returns how many accounts wrote a post in the last 30 days: Starling keeps no
// record of logins, so posting is what counts as active. Like InstanceCounts, it is
// counted at most Options.InstanceCountsMaxAge ago (1 minute by default).
func (s *Service) ActiveMonth(ctx context.Context) (int64, error) {
	c := &s.counts
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.activeAt.IsZero() && time.Since(c.activeAt) < s.opts.InstanceCountsMaxAge {
		return c.active, nil
	}
	n, err := s.q.InstanceActiveAuthors(ctx)
	if err != nil {
		return 0, fmt.Errorf("active accounts: %w", err)
	}
	c.active, c.activeAt = n, time.Now()
	return n, nil
}

// UsersByIDs returns the accounts among ids that exist, by id.
func (s *Service) UsersByIDs(ctx context.Context, ids []int64) (map[int64]User, error) {
	out := map[int64]User{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := s.q.UsersByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("users by ids: %w", err)
	}
	for _, u := range usersFrom(rows) {
		out[u.ID] = u
	}
	return out, nil
}
