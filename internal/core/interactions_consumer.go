package core

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// applyInteractions is the interactions consumer: one notification per favourite, boost,
// follow and follow request that still stands when its event is applied, to the favourited or boosted
// post's author or the followed account, each with its notification.created event. A
// favourite, boost or follow undone before that gets none; undone after, its notification
// is deleted with it (the notification row depends on it), and doing it again makes a new
// one: one notification per favourite, boost or follow that stands. Favouriting or boosting
// one's own post notifies nobody.
func (s *Service) applyInteractions(ctx context.Context, _ pgx.Tx, q *store.Queries, run *batchRun, batch []events.Record) (int64, error) {
	activities := map[string][]int64{}    // kind → the ids of its rows (favourites, boosts, follows)
	causeOf := map[string]events.Record{} // kind + row id → its event
	note := func(kind string, id int64, r events.Record) {
		activities[kind] = append(activities[kind], id)
		causeOf[activityKey(kind, id)] = r
	}
	for _, r := range batch {
		ev, err := events.Decode(r.Topic, r.Payload)
		if err != nil {
			return 0, err
		}
		switch e := ev.(type) {
		case events.FavouriteCreated:
			note(KindFavourite, e.FavouriteID, r)
		case events.PostCreated:
			if e.ReblogOfID != 0 {
				note(KindReblog, e.PostID, r)
			}
		case events.FollowCreated:
			if e.FollowID != 0 { // follows made before version 2 of the event have no row id
				note(KindFollow, e.FollowID, r)
			}
		case events.FollowRequested:
			note(KindFollowRequest, e.RequestID, r)
		}
	}
	var ns []notified
	for _, kind := range []string{KindFavourite, KindReblog, KindFollow, KindFollowRequest} {
		ids := activities[kind]
		if len(ids) == 0 {
			continue
		}
		created, err := insertInteractionNotifications(ctx, q, kind, ids)
		if err != nil {
			return 0, err
		}
		for _, n := range created {
			cause := causeOf[activityKey(kind, n.activityID)]
			run.log(cause, kind+" notified", "notification_id", n.id, "recipient_id", n.recipientID)
			ns = append(ns, newNotified(n.id, n.recipientID, n.postID, kind, cause))
		}
	}
	return appendNotified(ctx, q, ns)
}

// interactionNotification is a notification the interactions consumer created.
type interactionNotification struct {
	id, recipientID, postID, activityID int64
}

func insertInteractionNotifications(ctx context.Context, q *store.Queries, kind string, ids []int64) ([]interactionNotification, error) {
	switch kind {
	case KindFavourite:
		rows, err := q.NotificationsInsertFavourites(ctx, ids)
		return mapRows(rows, err, func(r store.NotificationsInsertFavouritesRow) interactionNotification {
			return interactionNotification{r.ID, r.RecipientID, r.PostID, r.ActivityID}
		})
	case KindReblog:
		rows, err := q.NotificationsInsertReblogs(ctx, ids)
		return mapRows(rows, err, func(r store.NotificationsInsertReblogsRow) interactionNotification {
			return interactionNotification{r.ID, r.RecipientID, r.PostID, r.ActivityID}
		})
	case KindFollowRequest:
		rows, err := q.NotificationsInsertFollowRequests(ctx, ids)
		return mapRows(rows, err, func(r store.NotificationsInsertFollowRequestsRow) interactionNotification {
			return interactionNotification{r.ID, r.RecipientID, r.PostID, r.ActivityID}
		})
	default:
		rows, err := q.NotificationsInsertFollows(ctx, ids)
		return mapRows(rows, err, func(r store.NotificationsInsertFollowsRow) interactionNotification {
			return interactionNotification{r.ID, r.RecipientID, r.PostID, r.ActivityID}
		})
	}
}

func activityKey(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }
