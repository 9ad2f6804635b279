package core

import (
	"context"
	"fmt"
	"math"

	"github.com/starling-social/starling/internal/store"
)

// FamiliarFollowers are the accounts a viewer follows that also follow one account.
type FamiliarFollowers struct {
	// ID is the account followed.
	ID int64
	// Accounts are its followers whom the viewer follows, newest account first.
	Accounts []User
}

// familiarPage is how many of the viewer's follows FamiliarFollowersOf reads at a time.
const familiarPage = 500

// FamiliarFollowersOf returns, for each account of ids in order, the accounts viewerID
// follows that follow it. Unknown ids are left out and repeated ones answered once, as
// Mastodon does. It reads the viewer's follows a page at a time, each page with one query
// for which of them follow the accounts.
func (s *Service) FamiliarFollowersOf(ctx context.Context, viewerID int64, ids []int64) ([]FamiliarFollowers, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	known, err := s.q.Relationships(ctx, store.RelationshipsParams{ViewerID: viewerID, Ids: ids})
	if err != nil {
		return nil, fmt.Errorf("familiar followers: %w", err)
	}
	exists := make(map[int64]bool, len(known))
	for _, k := range known {
		exists[k.ID] = true
	}
	var targets []int64
	for _, id := range ids {
		if exists[id] {
			targets = append(targets, id)
			delete(exists, id)
		}
	}
	found := make(map[int64][]User, len(targets))
	for before := int64(math.MaxInt64); len(targets) > 0; {
		rows, err := s.q.FollowingOf(ctx, store.FollowingOfParams{UserID: viewerID, Before: before, RowLimit: familiarPage})
		if err != nil {
			return nil, fmt.Errorf("familiar followers: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		followed := make([]int64, len(rows))
		for i, u := range rows {
			followed[i] = u.ID
		}
		among, err := s.FollowersAmong(ctx, targets, followed)
		if err != nil {
			return nil, fmt.Errorf("familiar followers: %w", err)
		}
		for _, t := range targets {
			for _, u := range rows {
				if among[t][u.ID] {
					found[t] = append(found[t], userFrom(u))
				}
			}
		}
		if len(rows) < familiarPage {
			break
		}
		before = rows[len(rows)-1].ID
	}
	out := make([]FamiliarFollowers, len(targets))
	for i, t := range targets {
		out[i] = FamiliarFollowers{ID: t, Accounts: found[t]}
	}
	return out, nil
}
