package api

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/oauth"
)

func (s *Server) statusCreate(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r) // the posting allowance is core's (Publish)
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	in := core.NewPost{
		Body:        f.String("status"),
		Visibility:  f.String("visibility"),
		SpoilerText: f.String("spoiler_text"),
		Sensitive:   f.Bool("sensitive"),
		// Without sensitive, the author's default applies (source[sensitive]).
		SensitiveUnset: !f.Has("sensitive"),
		Language:       f.String("language"),
		ScheduledAt:    f.Time("scheduled_at"),
		InReplyTo:      f.ID("in_reply_to_id"),
		MediaIDs:       f.IDs("media_ids", maxListItems),
		Poll:           pollInput(f.Object("poll")),
		QuoteOf:        max(f.ID("quoted_status_id"), f.ID("quote_id")), // quote_id: Fedibird's name
		QuotePolicy:    f.String("quote_approval_policy"),
		App:            grantApp(c.grant),
		// The header is Mastodon's; the field is the same key for clients that cannot set headers.
		IdempotencyKey: r.Header.Get("Idempotency-Key"),
	}
	plainText(f)
	if f.Len("media_attributes") > 0 { // Tusky and Ice Cubes always send it, empty
		f.Fail("media_attributes", "media descriptions are not supported by this server yet")
	}
	if f.Len("allowed_mentions") > 0 {
		f.Fail("allowed_mentions", "limiting who is notified is not supported by this server yet")
	}
	if !s.checkFields(w, f) {
		return
	}
	p, _, err := s.core.Publish(r.Context(), *c.user, in)
	if err != nil {
		s.answerError(w, r, renameFields(err, map[string]string{"body": "status"}))
		return
	}
	s.writeStatus(w, r, p, false)
}

// grantApp is the app a token's grant was issued to, nil for a personal token.
func grantApp(g oauth.Grant) *core.App {
	if g.AppID == 0 {
		return nil
	}
	return &core.App{ID: g.AppID, Name: g.AppName, Website: g.AppWebsite}
}

// pollInput reads a poll object (nil when none was sent).
func pollInput(f *fields) *core.PollInput {
	if f == nil {
		return nil
	}
	return &core.PollInput{Options: f.Strings("options", maxListItems), ExpiresIn: f.Int("expires_in"),
		Multiple: f.Bool("multiple"), HideTotals: f.Bool("hide_totals")}
}

// plainText honours content_type, which some apps send (a Pleroma extension): posts here
// are plain text, so text/plain is what the server does anyway and anything else is
// refused.
func plainText(f *fields) {
	if ct := f.String("content_type"); ct != "" && ct != "text/plain" {
		f.Fail("content_type", "only text/plain is supported: posts here are plain text")
	}
}

func (s *Server) writeStatus(w http.ResponseWriter, r *http.Request, p core.Post, withText bool) {
	sts, err := s.statuses(r.Context(), []core.Post{p})
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	st := sts[0]
	if withText {
		st.Text = &p.Body
	}
	writeJSON(w, http.StatusOK, st)
}

// pathRecord returns the path's id; for one that cannot be a record's it answers 404
// itself and returns ok=false.
func (s *Server) pathRecord(w http.ResponseWriter, r *http.Request) (int64, bool) {
	n, ok := pathID(r, mux.Vars(r)["id"])
	if !ok {
		writeError(w, http.StatusNotFound, "Record not found")
	}
	return n, ok
}

// pathPost loads the post named by the path's id. It answers 404 itself and returns
// ok=false when there is none.
func (s *Server) pathPost(w http.ResponseWriter, r *http.Request) (core.Post, bool) {
	n, ok := s.pathRecord(w, r)
	if !ok {
		return core.Post{}, false
	}
	p, err := s.core.PostFor(r.Context(), viewerID(r), n)
	if err != nil {
		s.answerError(w, r, err)
		return core.Post{}, false
	}
	return p, true
}

func (s *Server) statusGet(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.pathPost(w, r); ok {
		s.writeStatus(w, r, p, false)
	}
}

func (s *Server) statusDelete(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pathPost(w, r)
	if !ok {
		return
	}
	if err := s.core.DeletePost(r.Context(), *callerOf(r).user, p.ID); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.writeStatus(w, r, p, true) // Mastodon returns the deleted status with its source text
}

// writeTimeline answers a page of posts (or err), with Link headers by post id.
func (s *Server) writeTimeline(w http.ResponseWriter, r *http.Request, t core.Timeline, err error) {
	keys := make([]int64, len(t.Posts))
	for i, p := range t.Posts {
		keys[i] = p.ID
	}
	s.writePosts(w, r, t.Posts, keys, err)
}

// writePosts answers posts (or err), with Link headers for the page keyed by keys: the
// posts' ids, or those of the rows listing them (favourites, bookmarks).
func (s *Server) writePosts(w http.ResponseWriter, r *http.Request, posts []core.Post, keys []int64, err error) {
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	sts, err := s.statuses(r.Context(), posts)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if len(keys) > 0 {
		s.setLink(w, r, keys[0], keys[len(keys)-1])
	}
	writeJSON(w, http.StatusOK, sts)
}

// timelineFilters reads the filters a timeline query may carry: every account here is
// local, so local changes nothing, while remote posts do not exist (remote leaves
// nothing); only_media keeps the posts with attachments.
func timelineFilters(f *fields) (none, onlyMedia bool) {
	f.Bool("local")
	return f.Bool("remote"), f.Bool("only_media")
}

func (s *Server) timelineHome(w http.ResponseWriter, r *http.Request) {
	s.timeline(w, r, func(ctx context.Context, p core.Page, onlyMedia bool) (core.Timeline, error) {
		if onlyMedia { // not Mastodon's, but apps send it
			return s.core.HomeMediaTimeline(ctx, viewerID(r), p)
		}
		return s.core.HomeTimeline(ctx, viewerID(r), p)
	})
}

func (s *Server) timelinePublic(w http.ResponseWriter, r *http.Request) {
	s.timeline(w, r, func(ctx context.Context, p core.Page, onlyMedia bool) (core.Timeline, error) {
		if onlyMedia {
			return s.core.PublicMediaTimeline(ctx, viewerID(r), p)
		}
		return s.core.PublicTimeline(ctx, viewerID(r), p)
	})
}

// timeline answers a timeline endpoint: its page and filters from the query, then the
// page read reads (nothing when the filters leave nothing).
func (s *Server) timeline(w http.ResponseWriter, r *http.Request, read func(context.Context, core.Page, bool) (core.Timeline, error)) {
	p, f, ok := s.listQuery(w, r)
	if !ok {
		return
	}
	none, onlyMedia := timelineFilters(f)
	if !s.checkFields(w, f) {
		return
	}
	if none {
		writeJSON(w, http.StatusOK, []Status{})
		return
	}
	t, err := read(r.Context(), p, onlyMedia)
	s.writeTimeline(w, r, t, err)
}
