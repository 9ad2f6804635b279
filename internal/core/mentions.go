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

// applyMentions is the mentions consumer. For the batch's posts (new or edited) that are
// still live it resolves their @names (all of them in one query) into mention rows and one notification
// per mentioned account, appends a notification.created event for each, counts each
// mention on its account and enqueues one email job per notification whose recipient
// wants mention emails (delayed by MentionEmailDelay); a mention notified before (an edit
// of a post) is not notified again. For each deleted post it counts its counted mentions
// off again. Unknown names and self-mentions are ignored.
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
		case events.PostUpdated: // an edit may mention more accounts; each is notified once
			if _, ok := recordOf[e.PostID]; !ok {
				createdIDs = append(createdIDs, e.PostID)
			}
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
	counted := store.MentionsCountParams{}
	for _, n := range created {
		counted.PostIds, counted.UserIds = append(counted.PostIds, n.PostID), append(counted.UserIds, n.RecipientID)
	}
	if err := q.MentionsCount(ctx, counted); err != nil {
		return nil, 0, err
	}
	wants := make(map[int64]bool, len(users))
	for _, u := range users {
		wants[u.ID] = u.EmailMentions
	}
	perPost := map[int64]int{}
	notified := make([]notified, len(created))
	var jobs []river.InsertManyParams
	for i, n := range created {
		rec := recordOf[n.PostID]
		notified[i] = newNotified(n.ID, n.RecipientID, n.PostID, KindMention, rec)
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
	last, err := appendNotified(ctx, q, notified)
	if err != nil {
		return nil, 0, err
	}
	if len(jobs) > 0 {
		if _, err := s.opts.Jobs.InsertManyTx(ctx, tx, jobs); err != nil {
			return nil, 0, fmt.Errorf("enqueue mention emails: %w", err)
		}
	}
	return created, last, nil
}

// notified is a notification just created, with the event that caused it.
type notified struct {
	event events.NotificationCreated
	cause events.Record
}

func newNotified(id, recipientID, postID int64, kind string, cause events.Record) notified {
	return notified{events.NotificationCreated{NotificationID: id, RecipientID: recipientID, Kind: kind, PostID: postID}, cause}
}

// appendNotified appends a notification.created event for each of ns, with the request id
// and trace of its cause, in one statement, and returns the last event's id (0 for none).
func appendNotified(ctx context.Context, q *store.Queries, ns []notified) (int64, error) {
	if len(ns) == 0 {
		return 0, nil
	}
	p := store.EventsAppendManyParams{}
	for _, n := range ns {
		b, err := json.Marshal(n.event)
		if err != nil {
			return 0, err
		}
		p.Topics, p.Payloads = append(p.Topics, events.TopicNotificationCreated), append(p.Payloads, string(b))
		p.RequestIds, p.Traces = append(p.RequestIds, n.cause.RequestID), append(p.Traces, n.cause.Trace)
	}
	appended, err := q.EventsAppendMany(ctx, p)
	if err != nil {
		return 0, fmt.Errorf("notification events: %w", err)
	}
	return appended[len(appended)-1], nil
}
