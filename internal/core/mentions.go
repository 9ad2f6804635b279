package core

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// applyMentions is the mentions consumer. For the batch's posts that are still live it
// resolves their @names (all of them in one query) into mention rows and one notification
// per mentioned account, appends a notification.created event for each, counts each
// mention on its account and enqueues one email job per notification whose recipient
// wants mention emails (delayed by MentionEmailDelay). For each deleted post it counts
// its mentions off again. Unknown names and self-mentions are ignored.
//
// It needs no lock on the posts: it reads their current state, and a post deleted after
// that read has its post.deleted event after this batch's position, by when its mention
// rows exist to be counted off. A post deleted before the read gets no mention rows, so
// its deletion counts nothing off.
func (s *Service) applyMentions(ctx context.Context, tx pgx.Tx, q *store.Queries, run *batchRun, batch []events.Record) (int64, error) {
	var createdIDs, deletedIDs []int64
	recordOf := map[int64]events.Record{} // post id → its post.created event
	for _, r := range batch {
		ev, err := events.Decode(r.Topic, r.Payload)
		if err != nil {
			return 0, err
		}
		switch e := ev.(type) {
		case events.PostCreated:
			createdIDs = append(createdIDs, e.PostID)
			recordOf[e.PostID] = r
		case events.PostDeleted:
			deletedIDs = append(deletedIDs, e.PostID)
		}
	}
	delta := map[int64]int64{}
	var lastEvent int64
	if len(createdIDs) > 0 {
		notified, last, err := s.mentionPosts(ctx, tx, q, run, createdIDs, recordOf)
		if err != nil {
			return 0, err
		}
		lastEvent = last
		for _, n := range notified {
			delta[n.RecipientID]++
		}
	}
	if len(deletedIDs) > 0 {
		gone, err := q.MentionsOfPosts(ctx, deletedIDs)
		if err != nil {
			return 0, err
		}
		for _, m := range gone {
			delta[m.UserID]--
		}
	}
	if ids, deltas := sortedDeltas(delta); len(ids) > 0 {
		if err := q.UserStatsAddMentionsMany(ctx, store.UserStatsAddMentionsManyParams{UserIds: ids, Deltas: deltas}); err != nil {
			return 0, err
		}
	}
	return lastEvent, nil
}

// mentionPosts writes the mentions, notifications, notification events and email jobs of
// the live posts among ids. It returns the notifications created and the id of the last
// event appended.
func (s *Service) mentionPosts(ctx context.Context, tx pgx.Tx, q *store.Queries, run *batchRun, ids []int64,
	recordOf map[int64]events.Record) ([]store.NotificationsInsertMentionPairsRow, int64, error) {
	posts, err := q.PostsLiveByIDs(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	namesOf := make(map[int64][]string, len(posts))
	var all []string
	for _, p := range posts {
		if names := text.Mentions(p.Body); len(names) > 0 {
			namesOf[p.ID] = names
			all = append(all, names...)
		}
	}
	if len(all) == 0 {
		return nil, 0, nil
	}
	users, err := q.UserIDsByUsernames(ctx, all)
	if err != nil {
		return nil, 0, err
	}
	byName := make(map[string]store.UserIDsByUsernamesRow, len(users))
	for _, u := range users {
		byName[strings.ToLower(u.Username)] = u
	}
	var postIDs, userIDs, actorIDs []int64
	for _, p := range posts {
		seen := map[int64]bool{}
		for _, name := range namesOf[p.ID] {
			u, ok := byName[name]
			if !ok || u.ID == p.AuthorID || seen[u.ID] {
				continue
			}
			seen[u.ID] = true
			postIDs, userIDs, actorIDs = append(postIDs, p.ID), append(userIDs, u.ID), append(actorIDs, p.AuthorID)
		}
	}
	if len(postIDs) == 0 {
		return nil, 0, nil
	}
	if err := q.MentionsInsertPairs(ctx, store.MentionsInsertPairsParams{PostIds: postIDs, UserIds: userIDs}); err != nil {
		return nil, 0, err
	}
	created, err := q.NotificationsInsertMentionPairs(ctx, store.NotificationsInsertMentionPairsParams{
		RecipientIds: userIDs, ActorIds: actorIDs, PostIds: postIDs,
	})
	if err != nil || len(created) == 0 {
		return nil, 0, err
	}
	wants := make(map[int64]bool, len(users))
	for _, u := range users {
		wants[u.ID] = u.EmailMentions
	}
	topics := make([]string, len(created))
	payloads := make([]string, len(created))
	requests := make([]string, len(created))
	traces := make([]string, len(created))
	perPost := map[int64]int{}
	var jobs []river.InsertManyParams
	for i, n := range created {
		b, err := json.Marshal(events.NotificationCreated{NotificationID: n.ID, RecipientID: n.RecipientID, Kind: "mention", PostID: n.PostID})
		if err != nil {
			return nil, 0, err
		}
		rec := recordOf[n.PostID]
		topics[i], payloads[i], requests[i], traces[i] = events.TopicNotificationCreated, string(b), rec.RequestID, rec.Trace
		perPost[n.PostID]++
		if !wants[n.RecipientID] {
			continue
		}
		opts := jobargs.MentionEmail{}.InsertOpts()
		if s.opts.MentionEmailDelay > 0 {
			opts.ScheduledAt = time.Now().Add(s.opts.MentionEmailDelay)
		}
		opts.Metadata = run.jobMetadata(rec)
		jobs = append(jobs, river.InsertManyParams{Args: jobargs.MentionEmail{NotificationID: n.ID}, InsertOpts: &opts})
	}
	for _, p := range posts {
		if n, ok := perPost[p.ID]; ok {
			run.log(recordOf[p.ID], "mentions applied", "post_id", p.ID, "notifications", n)
		}
	}
	appended, err := q.EventsAppendMany(ctx, store.EventsAppendManyParams{Topics: topics, Payloads: payloads, RequestIds: requests, Traces: traces})
	if err != nil {
		return nil, 0, fmt.Errorf("notification events: %w", err)
	}
	if len(jobs) > 0 {
		if _, err := s.opts.Jobs.InsertManyTx(ctx, tx, jobs); err != nil {
			return nil, 0, fmt.Errorf("enqueue mention emails: %w", err)
		}
	}
	return created, appended[len(appended)-1], nil
}
