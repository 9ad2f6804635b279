package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/live"
)

// liveEvents serves the website's live stream: GET /events?stream=public|home|user:NAME.
// A logged-in viewer also gets their notification count on every stream.
func (s *Server) liveEvents(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	var f live.Filter
	stream := r.URL.Query().Get("stream")
	switch {
	case stream == "public":
		f.Public = true
	case stream == "home":
		if u == nil {
			http.Error(w, "log in to follow your home timeline", http.StatusForbidden)
			return
		}
		f.HomeOf = u.ID
	case strings.HasPrefix(stream, "user:"):
		author, err := s.core.UserByUsername(r.Context(), strings.TrimPrefix(stream, "user:"))
		if errors.Is(err, core.ErrNotFound) {
			http.Error(w, "no such user", http.StatusNotFound)
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		f.AuthorID = author.ID
	case stream == "notifications":
		if u == nil {
			http.Error(w, "log in to follow your notifications", http.StatusForbidden)
			return
		}
	default:
		http.Error(w, "unknown stream: use public, home, notifications or user:NAME", http.StatusBadRequest)
		return
	}
	if u != nil {
		f.NotificationsOf = u.ID
	}
	var uid int64
	if u != nil {
		uid = u.ID
	}
	s.hub.Serve(w, r, uid, s.proxies.ClientIP(r), f, s.htmlEvent, func(w http.ResponseWriter, status int, msg string) { http.Error(w, msg, status) })
}

// htmlEvent formats a delivery for the website's live.js: a rendered post fragment, the
// id of a deleted post, or the viewer's unread count.
func (s *Server) htmlEvent(ctx context.Context, d *live.Delivery) (live.Event, bool) {
	switch d.Topic {
	case events.TopicPostCreated:
		if d.Post == nil {
			return live.Event{}, false // deleted before it could be shown
		}
		data := d.Encoded("web-post", func() []byte {
			var buf bytes.Buffer
			if err := s.pages.byName["timeline"].ExecuteTemplate(&buf, "post", postView{Post: *d.Post}); err != nil {
				s.log.ErrorContext(ctx, "live: rendering a post failed", "post_id", d.PostID, "err", err)
				return nil
			}
			b, _ := json.Marshal(map[string]any{"id": d.PostID, "author": d.Post.Author.Username, "html": buf.String()})
			return b
		})
		return live.Event{Name: "post", Data: data}, data != nil
	case events.TopicPostDeleted:
		return live.Event{Name: "delete", Data: d.Encoded("web-delete", func() []byte {
			b, _ := json.Marshal(map[string]any{"id": d.PostID})
			return b
		})}, true
	case events.TopicNotificationCreated:
		n, err := s.core.UnreadNotifications(ctx, d.RecipientID)
		if err != nil {
			return live.Event{}, false
		}
		b, _ := json.Marshal(map[string]any{"unread": n})
		return live.Event{Name: "notification", Data: b}, true
	}
	return live.Event{}, false
}
