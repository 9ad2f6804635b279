// Package events defines Starling's event log: one Go type per topic, each carrying ids and
// never whole bodies, and Append, which writes an event in the caller's transaction so the
// event commits together with the change it describes (the outbox pattern).
package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/starling-social/starling/internal/reqid"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/tracing"
)

// Event is a typed event payload. Topic names the stream it belongs to.
type Event interface {
	Topic() string
}

// Topics of the event log.
const (
	TopicUserCreated   = "user.created"
	TopicPostCreated   = "post.created"
	TopicPostDeleted   = "post.deleted"
	TopicFollowCreated = "follow.created"
	TopicFollowDeleted = "follow.deleted"
	// TopicNotificationCreated is written by the mentions worker for each notification.
	TopicNotificationCreated = "notification.created"
)

// NotificationCreated is written when someone gets a notification.
type NotificationCreated struct {
	NotificationID int64  `json:"notification_id"`
	RecipientID    int64  `json:"recipient_id"`
	Kind           string `json:"kind"`
	PostID         int64  `json:"post_id"`
}

// Topic implements Event.
func (NotificationCreated) Topic() string { return TopicNotificationCreated }

// UserCreated is written when an account is created.
type UserCreated struct {
	UserID int64 `json:"user_id"`
}

// PostCreated is written when a post is published.
type PostCreated struct {
	PostID   int64 `json:"post_id"`
	AuthorID int64 `json:"author_id"`
}

// PostDeleted is written when a post is deleted.
type PostDeleted struct {
	PostID   int64 `json:"post_id"`
	AuthorID int64 `json:"author_id"`
}

// FollowCreated is written when a user starts following another.
type FollowCreated struct {
	FollowerID int64 `json:"follower_id"`
	FolloweeID int64 `json:"followee_id"`
}

// FollowDeleted is written when a user stops following another.
type FollowDeleted struct {
	FollowerID int64 `json:"follower_id"`
	FolloweeID int64 `json:"followee_id"`
}

// Topic implements Event.
func (UserCreated) Topic() string { return TopicUserCreated }

// Topic implements Event.
func (PostCreated) Topic() string { return TopicPostCreated }

// Topic implements Event.
func (PostDeleted) Topic() string { return TopicPostDeleted }

// Topic implements Event.
func (FollowCreated) Topic() string { return TopicFollowCreated }

// Topic implements Event.
func (FollowDeleted) Topic() string { return TopicFollowDeleted }

// Append writes e to the event log through q, which should be bound to the transaction that
// makes the change e describes. The request id in ctx, if any, is stored with the event.
// It returns the new event's id.
func Append(ctx context.Context, q *store.Queries, e Event) (int64, error) {
	if !registered[e.Topic()] {
		// Every topic must be in Registry, and so in docs/asyncapi.yaml with a schema.
		return 0, fmt.Errorf("event topic %q is not registered", e.Topic())
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("event %s: %w", e.Topic(), err)
	}
	id, err := q.EventAppend(ctx, store.EventAppendParams{
		Topic:     e.Topic(),
		Payload:   payload,
		RequestID: reqid.From(ctx),
		Trace:     tracing.Traceparent(ctx),
	})
	if err != nil {
		return 0, fmt.Errorf("event %s: %w", e.Topic(), err)
	}
	return id, nil
}

var registered = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range Registry {
		m[t.Name] = true
	}
	return m
}()
