package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
)

// Tag is Mastodon's Tag entity.
type Tag struct {
	// ID is null for a valid name nobody has used or followed yet.
	ID      *string      `json:"id"`
	Name    string       `json:"name"`
	URL     string       `json:"url"`
	History []TagHistory `json:"history"`
	// Following and Featuring are present only for a logged-in reader.
	Following *bool `json:"following,omitempty"`
	Featuring *bool `json:"featuring,omitempty"`
}

// TagHistory is one day of a tag's use: the day as a UNIX timestamp, and the counts, all
// as strings (as Mastodon sends them).
type TagHistory struct {
	Day      string `json:"day"`
	Uses     string `json:"uses"`
	Accounts string `json:"accounts"`
}

// FeaturedTag is Mastodon's FeaturedTag entity.
type FeaturedTag struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	URL           string  `json:"url"`
	StatusesCount string  `json:"statuses_count"`
	LastStatusAt  *string `json:"last_status_at"`
}

// tagURL is the website's page of the tag with key.
func (s *Server) tagURL(key string) string { return s.base + "/tags/" + url.PathEscape(key) }

func (s *Server) tag(r *http.Request, t core.Tag) Tag {
	out := Tag{Name: t.Name, URL: s.tagURL(t.Key), History: make([]TagHistory, len(t.History))}
	if t.ID != 0 {
		v := id(t.ID)
		out.ID = &v
	}
	for i, d := range t.History {
		out.History[i] = TagHistory{Day: strconv.FormatInt(d.Day.Unix(), 10),
			Uses: strconv.FormatInt(d.Uses, 10), Accounts: strconv.FormatInt(d.Accounts, 10)}
	}
	if viewerID(r) != 0 {
		following, featuring := t.Following, t.Featuring
		out.Following, out.Featuring = &following, &featuring
	}
	return out
}

func (s *Server) tags(r *http.Request, ts []core.Tag) []Tag {
	out := make([]Tag, len(ts))
	for i, t := range ts {
		out[i] = s.tag(r, t)
	}
	return out
}

func (s *Server) featuredTag(f core.FeaturedTag) FeaturedTag {
	out := FeaturedTag{ID: id(f.ID), Name: f.Tag.Name, URL: s.tagURL(f.Tag.Key),
		StatusesCount: strconv.FormatInt(f.Posts, 10)}
	if !f.LastPostAt.IsZero() {
		d := f.LastPostAt.UTC().Format("2006-01-02")
		out.LastStatusAt = &d
	}
	return out
}

// tagGet answers GET /api/v1/tags/:name: the tag, also one nobody has used yet.
func (s *Server) tagGet(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	t, err := s.core.TagNamed(r.Context(), viewerID(r), mux.Vars(r)["name"])
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.tag(r, t))
}

// tagAction answers POST /api/v1/tags/:name/follow and /unfollow (and feature).
func (s *Server) tagAction(act func(ctx context.Context, u core.User, name string) (core.Tag, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.noFields(w, r) {
			return
		}
		t, err := act(r.Context(), *callerOf(r).user, mux.Vars(r)["name"])
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.tag(r, t))
	}
}

func (s *Server) tagFollow(w http.ResponseWriter, r *http.Request) {
	s.tagAction(s.core.FollowTag)(w, r)
}

func (s *Server) tagUnfollow(w http.ResponseWriter, r *http.Request) {
	s.tagAction(s.core.UnfollowTag)(w, r)
}

// followedTags answers GET /api/v1/followed_tags, paged by follow (Link headers).
func (s *Server) followedTags(w http.ResponseWriter, r *http.Request) {
	p, f, ok := s.listQuery(w, r)
	if !ok || !s.checkFields(w, f) {
		return
	}
	page, err := s.core.FollowedTags(r.Context(), viewerID(r), p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if len(page.Keys) > 0 {
		s.setLink(w, r, page.Keys[0], page.Keys[len(page.Keys)-1])
	}
	writeJSON(w, http.StatusOK, s.tags(r, page.Tags))
}

// featuredTags answers GET /api/v1/featured_tags: the caller's featured tags.
func (s *Server) featuredTags(w http.ResponseWriter, r *http.Request) {
	s.writeFeaturedTags(w, r, viewerID(r))
}

// accountFeaturedTags answers GET /api/v1/accounts/:id/featured_tags.
func (s *Server) accountFeaturedTags(w http.ResponseWriter, r *http.Request) {
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	s.writeFeaturedTags(w, r, u.ID)
}

func (s *Server) writeFeaturedTags(w http.ResponseWriter, r *http.Request, userID int64) {
	if !s.noFields(w, r) {
		return
	}
	fs, err := s.core.FeaturedTags(r.Context(), userID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out := make([]FeaturedTag, len(fs))
	for i, f := range fs {
		out[i] = s.featuredTag(f)
	}
	writeJSON(w, http.StatusOK, out)
}

// featuredTagCreate answers POST /api/v1/featured_tags (name).
func (s *Server) featuredTagCreate(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	name := f.String("name")
	if name == "" {
		f.Fail("name", "is required")
	}
	if !s.checkFields(w, f) {
		return
	}
	ft, err := s.core.FeatureTag(r.Context(), *callerOf(r).user, name)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.featuredTag(ft))
}

// featuredTagDelete answers DELETE /api/v1/featured_tags/:id.
func (s *Server) featuredTagDelete(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	if err := s.core.UnfeatureTag(r.Context(), *callerOf(r).user, n); err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// featuredTagSuggestions answers GET /api/v1/featured_tags/suggestions: the caller's most
// used tags.
func (s *Server) featuredTagSuggestions(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	ts, err := s.core.FeaturedTagSuggestions(r.Context(), viewerID(r))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.tags(r, ts))
}

// trendingTags answers GET /api/v1/trends/tags (and its old name /api/v1/trends): limit
// (default 10, at most 20) and offset.
func (s *Server) trendingTags(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	limit, offset := int(f.Int("limit")), int(f.Int("offset"))
	switch {
	case f.Has("limit") && (limit < 1 || limit > 20):
		f.Fail("limit", "is from 1 to 20")
	case limit == 0:
		limit = 10
	}
	if offset < 0 || offset > core.MaxSearchOffset {
		f.Fail("offset", "is from 0 to "+strconv.Itoa(core.MaxSearchOffset))
	}
	if !s.checkFields(w, f) {
		return
	}
	ts, err := s.core.TrendingTags(r.Context(), viewerID(r), limit, offset)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.tags(r, ts))
}

// timelineTag answers GET /api/v1/timelines/tag/:hashtag with any[], all[], none[] and the
// timeline filters.
func (s *Server) timelineTag(w http.ResponseWriter, r *http.Request) {
	p, f, ok := s.listQuery(w, r)
	if !ok {
		return
	}
	none, onlyMedia := timelineFilters(f)
	filter := core.TagFilter{Tag: mux.Vars(r)["hashtag"], OnlyMedia: onlyMedia,
		Any: f.Strings("any", 10), All: f.Strings("all", 10), None: f.Strings("none", 10)}
	if !s.checkFields(w, f) {
		return
	}
	if none {
		writeJSON(w, http.StatusOK, []Status{})
		return
	}
	t, err := s.core.TagTimeline(r.Context(), viewerID(r), filter, p)
	s.writeTimeline(w, r, t, err)
}
