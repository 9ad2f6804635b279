package core

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// applyCounters is the counters consumer: each account's post count goes up by one per
// post.created and down by one per post.deleted of its posts and boosts (direct posts are
// not counted, as on Mastodon); each post's replies, favourites and boosts counts follow
// the replies, favourites and boosts made and undone. A batch changes each account's and
// each post's row once, whatever how many of its events the batch holds, so an account
// that posts a lot, or a post many favourite at once, is no hot row.
func (s *Service) applyCounters(ctx context.Context, _ pgx.Tx, q *store.Queries, run *batchRun, batch []events.Record) (int64, error) {
	users := map[int64]int64{}
	posts := map[int64]*PostCounts{}
	post := func(id int64) *PostCounts {
		if posts[id] == nil {
			posts[id] = &PostCounts{}
		}
		return posts[id]
	}
	count := func(author int64, visibility string, inReplyTo, reblogOf, sign int64) {
		if visibility != VisibilityDirect {
			users[author] += sign
		}
		if inReplyTo != 0 {
			post(inReplyTo).Replies += sign
		}
		if reblogOf != 0 {
			post(reblogOf).Reblogs += sign
		}
	}
	for _, r := range batch {
		run.ctxOf(r) // a span in each traced request's trace
		ev, err := events.Decode(r.Topic, r.Payload)
		if err != nil {
			return 0, err
		}
		switch e := ev.(type) {
		case events.PostCreated:
			count(e.AuthorID, e.Visibility, e.InReplyToID, e.ReblogOfID, +1)
		case events.PostDeleted:
			count(e.AuthorID, e.Visibility, e.InReplyToID, e.ReblogOfID, -1)
		case events.FavouriteCreated:
			post(e.PostID).Favourites++
		case events.FavouriteDeleted:
			post(e.PostID).Favourites--
		}
	}
	if ids, deltas := sortedDeltas(users); len(ids) > 0 {
		if err := q.UserStatsAddPostsMany(ctx, store.UserStatsAddPostsManyParams{UserIds: ids, Deltas: deltas}); err != nil {
			return 0, err
		}
	}
	if len(posts) == 0 {
		return 0, nil
	}
	ids := make([]int64, 0, len(posts))
	for id, c := range posts {
		if *c != (PostCounts{}) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // the rows' locks in one order
	p := store.PostStatsAddManyParams{PostIds: ids}
	for _, id := range ids {
		c := posts[id]
		p.Replies, p.Favourites, p.Reblogs = append(p.Replies, c.Replies), append(p.Favourites, c.Favourites), append(p.Reblogs, c.Reblogs)
	}
	return 0, q.PostStatsAddMany(ctx, p)
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
