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
	TopicUserCreated = "user.created"
	TopicPostCreated = "post.created"
	TopicPostDeleted = "post.deleted"
	TopicPostUpdated = "post.updated"
	// TopicFavouriteCreated and TopicFavouriteDeleted are written when a favourite is given
	// or taken back.
	TopicFavouriteCreated = "favourite.created"
	TopicFavouriteDeleted = "favourite.deleted"
	// TopicConversationUpdated is written by the conversations consumer when a direct post
	// lands in one participant's conversation.
	TopicConversationUpdated = "conversation.updated"
	TopicFollowCreated       = "follow.created"
	TopicFollowDeleted       = "follow.deleted"
	TopicFollowRequested     = "follow.requested"
	// TopicNotificationCreated is written by the mentions and interactions consumers for
	// each notification.
	TopicNotificationCreated = "notification.created"
	// TopicAccountUpdated is written when what an account shows or may do changes: its
	// profile, pictures, lock, pinned posts, featured tags, settings or role.
	TopicAccountUpdated = "account.updated"
	// TopicTokenRevoked is written when access tokens are revoked.
	TopicTokenRevoked = "token.revoked"
)

// AccountUpdated is written when what account UserID shows or may do changes (profile,
// pictures, lock, pins, featured tags, settings, role). Readers drop what they keep of it.
type AccountUpdated struct {
	UserID int64 `json:"user_id"`
}

// Topic implements Event.
func (AccountUpdated) Topic() string { return TopicAccountUpdated }

// TokenRevoked is written when access tokens TokenIDs are revoked; UserID is their user,
// 0 for an app's own token.
type TokenRevoked struct {
	UserID   int64   `json:"user_id,omitempty"`
	TokenIDs []int64 `json:"token_ids"`
}

// Topic implements Event.
func (TokenRevoked) Topic() string { return TopicTokenRevoked }

// NotificationCreated is written when someone gets a notification.
type NotificationCreated struct {
	NotificationID int64 `json:"notification_id"`
	RecipientID    int64 `json:"recipient_id"`
	// Kind is mention, favourite, reblog or follow.
	Kind string `json:"kind"`
	// PostID is the post it is about; 0 for a follow.
	PostID int64 `json:"post_id,omitempty"`
}

// Topic implements Event.
func (NotificationCreated) Topic() string { return TopicNotificationCreated }

// UserCreated is written when an account is created.
type UserCreated struct {
	UserID int64 `json:"user_id"`
}

// PostCreated is written when a post is published, and when a post is boosted: a boost
// is a post of its own (ReblogOfID is the boosted post).
type PostCreated struct {
	PostID   int64 `json:"post_id"`
	AuthorID int64 `json:"author_id"`
	// Visibility is the post's (public, unlisted, private, direct); "" in events written
	// before version 2, which were all public.
	Visibility string `json:"visibility,omitempty"`
	// InReplyToID is the post this one answers, 0 for none.
	InReplyToID int64 `json:"in_reply_to_id,omitempty"`
	// ReblogOfID is the post this one boosts, 0 for none.
	ReblogOfID int64 `json:"reblog_of_id,omitempty"`
}

// PostDeleted is written when a post is deleted or a boost undone. It carries what
// PostCreated carried, so that consumers can undo its effects without the row.
type PostDeleted struct {
	PostID      int64  `json:"post_id"`
	AuthorID    int64  `json:"author_id"`
	Visibility  string `json:"visibility,omitempty"`
	InReplyToID int64  `json:"in_reply_to_id,omitempty"`
	ReblogOfID  int64  `json:"reblog_of_id,omitempty"`
}

// PostUpdated is written when a post is edited.
type PostUpdated struct {
	PostID   int64 `json:"post_id"`
	AuthorID int64 `json:"author_id"`
}

// FavouriteCreated is written when a user favourites a post.
type FavouriteCreated struct {
	FavouriteID int64 `json:"favourite_id"`
	PostID      int64 `json:"post_id"`
	UserID      int64 `json:"user_id"`
	AuthorID    int64 `json:"author_id"`
}

// ConversationUpdated is written when direct post PostID becomes the newest of
// conversation ConversationID of user UserID.
type ConversationUpdated struct {
	ConversationID int64 `json:"conversation_id"`
	UserID         int64 `json:"user_id"`
	PostID         int64 `json:"post_id"`
}

// Topic implements Event.
func (ConversationUpdated) Topic() string { return TopicConversationUpdated }

// FavouriteDeleted is written when a user takes a favourite back.
type FavouriteDeleted struct {
	PostID   int64 `json:"post_id"`
	UserID   int64 `json:"user_id"`
	AuthorID int64 `json:"author_id"`
}

// FollowCreated is written when a user starts following another.
type FollowCreated struct {
	FollowerID int64 `json:"follower_id"`
	FolloweeID int64 `json:"followee_id"`
	// FollowID is the follow's row, 0 in events written before version 2.
	FollowID int64 `json:"follow_id,omitempty"`
}

// FollowRequested is written when a user asks to follow a locked account.
type FollowRequested struct {
	RequesterID int64 `json:"requester_id"`
	TargetID    int64 `json:"target_id"`
	// RequestID is the request's row.
	RequestID int64 `json:"request_id"`
}

// Topic implements Event.
func (FollowRequested) Topic() string { return TopicFollowRequested }

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
func (PostUpdated) Topic() string { return TopicPostUpdated }

// Topic implements Event.
func (FavouriteCreated) Topic() string { return TopicFavouriteCreated }

// Topic implements Event.
func (FavouriteDeleted) Topic() string { return TopicFavouriteDeleted }

// Topic implements Event.
func (FollowCreated) Topic() string { return TopicFollowCreated }

// Topic implements Event.
func (FollowDeleted) Topic() string { return TopicFollowDeleted }

// Append writes e to the event log through q, which should be bound to the transaction that
// makes the change e describes. The request id in ctx, if any, is stored with the event.
// It returns the new event's id.
func Append(ctx context.Context, q *store.Queries, e Event) (int64, error) {
	p, err := Prepare(ctx, e)
	if err != nil {
		return 0, err
	}
	id, err := q.EventAppend(ctx, store.EventAppendParams{Topic: p.Topic, Payload: p.Payload, RequestID: p.RequestID, Trace: p.Trace})
	if err != nil {
		return 0, fmt.Errorf("event %s: %w", e.Topic(), err)
	}
	return id, nil
}

// Prepared is an event encoded for the log: what Append writes, for a statement that
// writes the event itself together with the change it describes (a post and its
// post.created in one statement).
type Prepared struct {
	Topic     string
	Payload   []byte
	RequestID string
	Trace     string
}

// Prepare encodes e, with the request id and trace of ctx, as Append writes it.
func Prepare(ctx context.Context, e Event) (Prepared, error) {
	if !registered[e.Topic()] {
		// Every topic must be in Registry, and so in docs/asyncapi.yaml with a schema.
		return Prepared{}, fmt.Errorf("event topic %q is not registered", e.Topic())
	}
	payload, err := json.Marshal(e)
	if err != nil {
		return Prepared{}, fmt.Errorf("event %s: %w", e.Topic(), err)
	}
	return Prepared{Topic: e.Topic(), Payload: payload, RequestID: reqid.From(ctx), Trace: tracing.Traceparent(ctx)}, nil
}

var registered = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range Registry {
		m[t.Name] = true
	}
	return m
}()
