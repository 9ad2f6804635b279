package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/store"
)

// Notification kinds.
const (
	KindMention   = "mention"
	KindFavourite = "favourite"
	KindReblog    = "reblog"
	KindFollow    = "follow"
	// KindFollowRequest is a request to follow a locked account, until it is answered.
	KindFollowRequest = "follow_request"
)

// NotificationKinds lists every kind of notification, as the Mastodon API names them.
var NotificationKinds = []string{KindMention, KindFavourite, KindReblog, KindFollow, KindFollowRequest}

// Notification is one entry of a user's notifications.
type Notification struct {
	ID        int64
	Kind      string
	CreatedAt time.Time
	Read      bool
	Actor     User
	// Post is the post it is about: the one that mentions, or that was favourited or
	// boosted. Nil for a follow.
	Post *Post
}

// NotificationPage is one page of notifications, newest first. Next is the Before of the
// following page, or 0.
type NotificationPage struct {
	Items []Notification
	Next  int64
}

// NotificationFilter narrows a notification list: by who caused them (0: anyone) and by
// kind (empty: every kind).
type NotificationFilter struct {
	ActorID int64
	Kinds   []string
}

// Notifications returns userID's notifications about live posts, newest first.
func (s *Service) Notifications(ctx context.Context, userID int64, page Page) (NotificationPage, error) {
	return s.NotificationsFiltered(ctx, userID, NotificationFilter{}, page)
}

// NotificationsFiltered is Notifications narrowed by f.
func (s *Service) NotificationsFiltered(ctx context.Context, userID int64, f NotificationFilter, page Page) (NotificationPage, error) {
	kinds := f.Kinds
	if kinds == nil {
		kinds = []string{}
	}
	raw, next, err := keysetPage(page, func(r notificationRow) int64 { return r.id },
		func(before, after int64, limit int32) ([]notificationRow, error) {
			rows, err := s.q.NotificationsList(ctx, store.NotificationsListParams{RecipientID: userID, Before: before, After: after,
				RowLimit: limit, ActorID: f.ActorID, Kinds: kinds})
			return mapRows(rows, err, func(r store.NotificationsListRow) notificationRow {
				return notificationRow{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.PostID, r.User}
			})
		},
		func(after, before int64, limit int32) ([]notificationRow, error) {
			rows, err := s.q.NotificationsListAfter(ctx, store.NotificationsListAfterParams{RecipientID: userID, After: after, Before: before,
				RowLimit: limit, ActorID: f.ActorID, Kinds: kinds})
			return mapRows(rows, err, func(r store.NotificationsListAfterRow) notificationRow {
				return notificationRow{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.PostID, r.User}
			})
		})
	if err != nil {
		return NotificationPage{}, fmt.Errorf("notifications: %w", err)
	}
	items, err := s.notificationsFrom(ctx, userID, raw)
	return NotificationPage{Items: items, Next: next}, err
}

type notificationRow struct {
	id        int64
	kind      string
	createdAt time.Time
	readAt    *time.Time
	postID    *int64
	actor     store.User
}

// notificationsFrom completes raw notifications of userID with their posts, as userID
// sees them. A notification about a post userID may no longer see is left out.
func (s *Service) notificationsFrom(ctx context.Context, userID int64, raw []notificationRow) ([]Notification, error) {
	var ids []int64
	for _, r := range raw {
		if r.postID != nil {
			ids = append(ids, *r.postID)
		}
	}
	posts, err := s.postsFor(ctx, userID, ids)
	if err != nil {
		return nil, err
	}
	items := make([]Notification, 0, len(raw))
	for _, r := range raw {
		n := Notification{ID: r.id, Kind: r.kind, CreatedAt: r.createdAt, Read: r.readAt != nil, Actor: userFrom(r.actor)}
		if r.postID != nil {
			p, ok := posts[*r.postID]
			if !ok {
				continue
			}
			n.Post = &p
		}
		items = append(items, n)
	}
	return items, nil
}

// NotificationByID returns notification id of userID.
func (s *Service) NotificationByID(ctx context.Context, userID, id int64) (Notification, error) {
	r, err := s.q.NotificationGet(ctx, store.NotificationGetParams{ID: id, RecipientID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Notification{}, ErrNotFound
	}
	if err != nil {
		return Notification{}, fmt.Errorf("notification: %w", err)
	}
	items, err := s.notificationsFrom(ctx, userID, []notificationRow{{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.PostID, r.User}})
	if err != nil {
		return Notification{}, err
	}
	if len(items) == 0 {
		return Notification{}, ErrNotFound
	}
	return items[0], nil
}

// DismissNotification deletes notification id of userID.
func (s *Service) DismissNotification(ctx context.Context, userID, id int64) error {
	n, err := s.q.NotificationDismiss(ctx, store.NotificationDismissParams{ID: id, RecipientID: userID})
	if err != nil {
		return fmt.Errorf("dismiss notification: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ClearNotifications deletes all of userID's notifications.
func (s *Service) ClearNotifications(ctx context.Context, userID int64) error {
	if _, err := s.q.NotificationsClear(ctx, userID); err != nil {
		return fmt.Errorf("clear notifications: %w", err)
	}
	return nil
}

// UnreadNotifications counts userID's unread notifications.
func (s *Service) UnreadNotifications(ctx context.Context, userID int64) (int64, error) {
	n, err := s.q.NotificationsUnreadCount(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("unread notifications: %w", err)
	}
	return n, nil
}

// MarkNotificationsRead marks userID's notifications up to id upTo as read (all of them
// when upTo is 0).
func (s *Service) MarkNotificationsRead(ctx context.Context, userID, upTo int64) error {
	if upTo <= 0 {
		upTo = 1<<63 - 1
	}
	if _, err := s.q.NotificationsMarkRead(ctx, store.NotificationsMarkReadParams{RecipientID: userID, UpTo: upTo}); err != nil {
		return fmt.Errorf("mark notifications read: %w", err)
	}
	return nil
}
