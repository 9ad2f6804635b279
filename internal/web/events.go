package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/live"
)

// liveEvents serves the website's live stream: GET /events?stream=public|home|user:NAME|tag:NAME.
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
			s.answerError(w, r, err)
			return
		}
		f.AuthorID, f.Viewer = author.ID, viewerOf(r)
	case strings.HasPrefix(stream, "tag:"):
		tag, err := s.core.TagNamed(r.Context(), viewerOf(r), strings.TrimPrefix(stream, "tag:"))
		if errors.Is(err, core.ErrNotFound) {
			http.Error(w, "no such tag", http.StatusNotFound)
			return
		}
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		f.Tag = tag.Key
	case stream == "notifications":
		if u == nil {
			http.Error(w, "log in to follow your notifications", http.StatusForbidden)
			return
		}
	default:
		http.Error(w, "unknown stream: use public, home, notifications, user:NAME or tag:NAME", http.StatusBadRequest)
		return
	}
	if u != nil {
		f.NotificationsOf = u.ID
	}
	var uid int64
	var cred core.Credential
	if u != nil {
		uid, cred = u.ID, s.sessionCredential(r, u)
	}
	s.hub.Serve(w, r, uid, s.proxies.ClientIP(r), cred, f, s.htmlEvents(u), func(w http.ResponseWriter, status int, msg string) { http.Error(w, msg, status) })
}

// sessionCredential is the credential of u's logged-in session, which the hub re-checks
// while the stream runs: logging out, "log out everywhere" or a password change ends the
// stream within seconds.
func (s *Server) sessionCredential(r *http.Request, u *core.User) core.Credential {
	return core.Credential{Session: hashToken(s.sessions.Token(r.Context())), UserID: u.ID,
		AuthAt: time.Unix(0, s.sessions.GetInt64(r.Context(), sessionAuthAt))}
}

// htmlEvents is the formatter of viewer's stream (nil for nobody logged in): the viewer
// is bound here, not read from the request's context, which the stream does not keep.
func (s *Server) htmlEvents(viewer *core.User) live.Formatter {
	return func(ctx context.Context, d *live.Delivery) (live.Event, error) { return s.htmlEvent(ctx, viewer, d) }
}

// htmlEvent formats a delivery for viewer's live.js: a rendered post fragment, the id of
// a deleted post, or the viewer's unread count.
func (s *Server) htmlEvent(ctx context.Context, viewer *core.User, d *live.Delivery) (live.Event, error) {
	switch d.Topic {
	case events.TopicPostCreated, events.TopicPostUpdated:
		if d.Post == nil {
			return live.Event{}, nil // deleted before it could be shown
		}
		// Rendered as a reload would render it for this reader (their controls), once per
		// reader for all their streams.
		var uid int64
		if viewer != nil {
			uid = viewer.ID
		}
		data, err := d.Encoded(fmt.Sprintf("web-post:%d", uid), func() ([]byte, error) {
			var buf bytes.Buffer
			if err := s.pages.byName["timeline"].ExecuteTemplate(&buf, "post", newPostView(viewer, *d.Post)); err != nil {
				return nil, fmt.Errorf("rendering post %d: %w", d.PostID, err)
			}
			return json.Marshal(map[string]any{"id": d.PostID, "author": d.Post.Author.Username, "html": buf.String(),
				"edited": d.Topic == events.TopicPostUpdated})
		})
		return live.Event{Name: "post", Data: data}, err
	case events.TopicPostDeleted:
		b, err := json.Marshal(map[string]any{"id": d.PostID})
		return live.Event{Name: "delete", Data: b}, err
	case events.TopicNotificationCreated:
		n, err := s.core.UnreadNotifications(ctx, d.RecipientID)
		if err != nil {
			return live.Event{}, err
		}
		b, err := json.Marshal(map[string]any{"unread": n})
		return live.Event{Name: "notification", Data: b}, err
	}
	return live.Event{}, nil
}
