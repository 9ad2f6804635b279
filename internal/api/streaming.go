package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/text"
)

func (s *Server) streamingHealth(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("OK"))
}

// stream serves f in Mastodon's SSE format, resumable with Last-Event-ID.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, f live.Filter) {
	if s.hub == nil {
		writeError(w, http.StatusServiceUnavailable, "Streaming is not available on this process")
		return
	}
	s.hub.Serve(w, r, viewerID(r), s.proxies.ClientIP(r), credentialOf(r), f, s.mastodonEvent, writeError)
}

// credentialOf is the credential of r's access token, which the hub re-checks while the
// stream runs (revoking the token ends the stream within seconds), or the zero Credential
// for an anonymous stream.
func credentialOf(r *http.Request) core.Credential {
	if c := callerOf(r); c != nil {
		return core.Credential{TokenID: c.grant.TokenID}
	}
	return core.Credential{}
}

// mastodonEvent formats a delivery as Mastodon does: update with a Status (a boost's
// wrapping its post), status.update with an edited Status, delete with the status id,
// notification with a Notification.
func (s *Server) mastodonEvent(ctx context.Context, d *live.Delivery) (live.Event, error) {
	switch d.Topic {
	case events.TopicPostCreated, events.TopicPostUpdated:
		if d.Post == nil {
			return live.Event{}, nil // deleted before it could be shown
		}
		name := "update"
		if d.Topic == events.TopicPostUpdated {
			name = "status.update" // an edit: the whole status again, as Mastodon sends it
		}
		data, err := d.Encoded("mastodon-status", func() ([]byte, error) {
			sts, err := s.statuses(ctx, []core.Post{*d.Post})
			if err != nil {
				return nil, err
			}
			if len(sts) != 1 {
				return nil, fmt.Errorf("post %d: %d statuses", d.PostID, len(sts))
			}
			return json.Marshal(sts[0])
		})
		return live.Event{Name: name, Data: data}, err
	case events.TopicPostDeleted:
		return live.Event{Name: "delete", Data: []byte(id(d.PostID))}, nil
	case events.TopicNotificationCreated:
		n, err := s.core.NotificationByID(ctx, d.RecipientID, d.NotificationID)
		if errors.Is(err, core.ErrNotFound) {
			return live.Event{}, nil // its post was deleted meanwhile
		}
		if err != nil {
			return live.Event{}, err
		}
		e, err := s.notification(ctx, n)
		if err != nil {
			return live.Event{}, err
		}
		b, err := json.Marshal(e)
		return live.Event{Name: "notification", Data: b}, err
	case events.TopicConversationUpdated:
		c, err := s.core.ConversationByID(ctx, d.RecipientID, d.ConversationID)
		if errors.Is(err, core.ErrNotFound) {
			return live.Event{}, nil // removed or its post deleted meanwhile
		}
		if err != nil {
			return live.Event{}, err
		}
		cs, err := s.conversations(ctx, []core.Conversation{c})
		if err != nil {
			return live.Event{}, err
		}
		b, err := json.Marshal(cs[0])
		return live.Event{Name: "conversation", Data: b}, err
	}
	return live.Event{}, nil
}

func (s *Server) streamDirect(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, live.Filter{ConversationsOf: viewerID(r)})
}

func (s *Server) streamUser(w http.ResponseWriter, r *http.Request) {
	uid := viewerID(r)
	s.stream(w, r, live.Filter{HomeOf: uid, NotificationsOf: uid})
}

func (s *Server) streamNotifications(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, live.Filter{NotificationsOf: viewerID(r)})
}

// streamHashtag serves /api/v1/streaming/hashtag(/local)?tag=NAME: the listed posts with
// the tag (every post here is local).
func (s *Server) streamHashtag(w http.ResponseWriter, r *http.Request) {
	key, ok := tagFilterKey(r.URL.Query().Get("tag"))
	if !ok {
		writeError(w, http.StatusUnprocessableEntity, "tag must be a hashtag")
		return
	}
	s.stream(w, r, live.Filter{Tag: key})
}

// tagFilterKey is the key of a hashtag stream's tag (with or without '#').
func tagFilterKey(tag string) (string, bool) {
	tag = strings.TrimPrefix(tag, "#")
	if !text.ValidTag(tag) {
		return "", false
	}
	return text.FoldTag(tag), true
}

func (s *Server) streamPublic(w http.ResponseWriter, r *http.Request) {
	s.stream(w, r, live.Filter{Public: true})
}
