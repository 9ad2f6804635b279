package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// applyCounters is the counters consumer: each account's post count goes up by one per
// post.created and down by one per post.deleted of its posts. A batch changes each
// account's row once, whatever how many of its posts the batch holds, so an account that
// posts a lot is no hot row.
func (s *Service) applyCounters(ctx context.Context, _ pgx.Tx, q *store.Queries, run *batchRun, batch []events.Record) (int64, error) {
	for _, r := range batch {
		run.ctxOf(r) // a span in each traced request's trace
	}
	created, err := decodeAll[events.PostCreated](batch)
	if err != nil {
		return 0, err
	}
	deleted, err := decodeAll[events.PostDeleted](batch)
	if err != nil {
		return 0, err
	}
	delta := map[int64]int64{}
	for _, e := range created {
		delta[e.AuthorID]++
	}
	for _, e := range deleted {
		delta[e.AuthorID]--
	}
	ids, deltas := sortedDeltas(delta)
	if len(ids) == 0 {
		return 0, nil
	}
	return 0, q.UserStatsAddPostsMany(ctx, store.UserStatsAddPostsManyParams{UserIds: ids, Deltas: deltas})
}

// Counters are a user's maintained counters.
type Counters struct {
	Posts            int64
	MentionsReceived int64
}

// CountersOf returns the counters the consumers maintain for userID.
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
