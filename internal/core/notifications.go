package core

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/store"
)

// Notification is one entry of a user's notifications.
type Notification struct {
	ID        int64
	Kind      string
	CreatedAt time.Time
	Read      bool
	Actor     User
	Post      Post
}

// NotificationPage is one page of notifications, newest first. Next is the Before of the
// following page, or 0.
type NotificationPage struct {
	Items []Notification
	Next  int64
}

// Notifications returns userID's notifications about live posts, newest first.
func (s *Service) Notifications(ctx context.Context, userID int64, page Page) (NotificationPage, error) {
	return s.NotificationsFrom(ctx, userID, 0, page)
}

// NotificationsFrom is Notifications limited to those caused by actorID (all when 0).
func (s *Service) NotificationsFrom(ctx context.Context, userID, actorID int64, page Page) (NotificationPage, error) {
	raw, next, err := keysetPage(page, func(r notificationRow) int64 { return r.id },
		func(before, after int64, limit int32) ([]notificationRow, error) {
			rows, err := s.q.NotificationsList(ctx, store.NotificationsListParams{RecipientID: userID, Before: before, After: after, RowLimit: limit, ActorID: actorID})
			return mapRows(rows, err, func(r store.NotificationsListRow) notificationRow {
				return notificationRow{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.Post, r.User}
			})
		},
		func(after, before int64, limit int32) ([]notificationRow, error) {
			rows, err := s.q.NotificationsListAfter(ctx, store.NotificationsListAfterParams{RecipientID: userID, After: after, Before: before, RowLimit: limit, ActorID: actorID})
			return mapRows(rows, err, func(r store.NotificationsListAfterRow) notificationRow {
				return notificationRow{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.Post, r.User}
			})
		})
	if err != nil {
		return NotificationPage{}, fmt.Errorf("notifications: %w", err)
	}
	items, err := s.notificationsFrom(ctx, raw)
	return NotificationPage{Items: items, Next: next}, err
}

type notificationRow struct {
	id        int64
	kind      string
	createdAt time.Time
	readAt    *time.Time
	post      store.Post
	actor     store.User
}

func (s *Service) notificationsFrom(ctx context.Context, raw []notificationRow) ([]Notification, error) {
	items := make([]Notification, len(raw))
	posts := make([]Post, len(raw))
	for i, r := range raw {
		actor := userFrom(r.actor)
		items[i] = Notification{ID: r.id, Kind: r.kind, CreatedAt: r.createdAt, Read: r.readAt != nil, Actor: actor}
		posts[i] = Post{ID: r.post.ID, Body: r.post.Body, CreatedAt: r.post.CreatedAt, Author: actor}
	}
	if err := s.resolveMentions(ctx, posts); err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Post = posts[i]
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
	items, err := s.notificationsFrom(ctx, []notificationRow{{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.Post, r.User}})
	if err != nil {
		return Notification{}, err
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
