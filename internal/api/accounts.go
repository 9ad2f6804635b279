package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/starling-social/starling/internal/core"
)

func (s *Server) verifyCredentials(w http.ResponseWriter, r *http.Request) {
	s.credentialAccount(w, r, *callerOf(r).user)
}

// targetUser loads the {id} account; it answers 404 itself.
func (s *Server) targetUser(w http.ResponseWriter, r *http.Request) (core.User, bool) {
	n, ok := s.pathRecord(w, r)
	if !ok {
		return core.User{}, false
	}
	u, err := s.core.UserByID(r.Context(), n)
	if err != nil {
		s.answerError(w, r, err)
		return core.User{}, false
	}
	return u, true
}

func (s *Server) writeAccount(w http.ResponseWriter, r *http.Request, u core.User) {
	accts, err := s.accounts(r.Context(), []core.User{u})
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, accts[0])
}

func (s *Server) accountGet(w http.ResponseWriter, r *http.Request) {
	if u, ok := s.targetUser(w, r); ok {
		s.writeAccount(w, r, u)
	}
}

func (s *Server) accountLookup(w http.ResponseWriter, r *http.Request) {
	acct := r.URL.Query().Get("acct")
	if acct == "" {
		writeError(w, http.StatusBadRequest, "acct is required")
		return
	}
	// Local accounts only: "name" or "name@this-host". Starling does not federate, so an
	// account of another server is never here, whatever its name.
	name, domain, withDomain := strings.Cut(strings.TrimPrefix(acct, "@"), "@")
	if withDomain && !strings.EqualFold(domain, s.host()) {
		writeError(w, http.StatusNotFound, "Record not found")
		return
	}
	u, err := s.core.UserByUsername(r.Context(), name)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.writeAccount(w, r, u)
}

func (s *Server) accountStatuses(w http.ResponseWriter, r *http.Request) {
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	p, f, ok := s.listQuery(w, r)
	if !ok {
		return
	}
	pinned := f.Bool("pinned")
	filter := core.AuthorFilter{ExcludeReplies: f.Bool("exclude_replies"), ExcludeReblogs: f.Bool("exclude_reblogs"),
		ExcludeDirect: f.Bool("exclude_direct"), Tagged: f.String("tagged"), OnlyMedia: f.Bool("only_media")}
	if pinned && filter.OnlyMedia {
		f.Fail("only_media", "cannot be combined with pinned")
	}
	if !s.checkFields(w, f) {
		return
	}
	switch {
	case pinned: // a handful of posts (core.MaxPins): one page, no paging
		posts, err := s.core.PinnedPosts(r.Context(), viewerID(r), u.ID)
		s.writeTimeline(w, r, core.Timeline{Posts: posts}, err)
	default:
		t, err := s.core.UserTimeline(r.Context(), viewerID(r), u.ID, filter, p)
		s.writeTimeline(w, r, t, err)
	}
}

func (s *Server) accountFollowers(w http.ResponseWriter, r *http.Request) {
	s.accountList(w, r, s.core.FollowersOf)
}

func (s *Server) accountFollowing(w http.ResponseWriter, r *http.Request) {
	s.accountList(w, r, s.core.FollowingOf)
}

func (s *Server) accountList(w http.ResponseWriter, r *http.Request, f func(ctx context.Context, id int64, p core.Page) ([]core.User, error)) {
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	p, ok := pageParams(w, r)
	if !ok {
		return
	}
	users, err := f(r.Context(), u.ID, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	accts, err := s.accounts(r.Context(), users)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if len(users) > 0 {
		s.setLink(w, r, users[0].ID, users[len(users)-1].ID)
	}
	writeJSON(w, http.StatusOK, accts)
}

func (s *Server) relationshipOf(w http.ResponseWriter, r *http.Request, target int64) {
	rels, err := s.core.RelationshipsOf(r.Context(), viewerID(r), []int64{target})
	if err != nil || len(rels) == 0 {
		s.answerError(w, r, errors.Join(err, core.ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, relationship(rels[0]))
}

func relationship(r core.Relationship) Relationship {
	return Relationship{ID: id(r.ID), Following: r.Following, ShowingReblogs: r.Following, FollowedBy: r.FollowedBy, Languages: nil,
		Requested: r.Requested, RequestedBy: r.RequestedBy}
}

func (s *Server) accountFollow(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	reblogs := !f.Has("reblogs") || f.Bool("reblogs")
	if f.Has("reblog") { // megalodon sends the singular
		reblogs = reblogs && f.Bool("reblog")
	}
	opts := core.FollowOptions{HideReblogs: !reblogs, Notify: f.Bool("notify"), Languages: f.Strings("languages", maxListItems)}
	if !s.checkFields(w, f) {
		return
	}
	if err := core.CheckFollowOptions(opts); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.changeFollow(w, r, s.core.Follow)
}

func (s *Server) accountUnfollow(w http.ResponseWriter, r *http.Request) {
	if s.noFields(w, r) {
		s.changeFollow(w, r, s.core.Unfollow)
	}
}

// changeFollow applies change (follow or unfollow) from the viewer to the path's account
// and answers with the relationship that results.
func (s *Server) changeFollow(w http.ResponseWriter, r *http.Request, change func(ctx context.Context, followerID int64, username string) (core.User, error)) {
	u, ok := s.targetUser(w, r)
	if !ok {
		return
	}
	if _, err := change(r.Context(), viewerID(r), u.Username); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.relationshipOf(w, r, u.ID)
}

func (s *Server) relationships(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	raw := append(q["id[]"], q["id"]...)
	if len(raw) > 100 {
		writeError(w, http.StatusUnprocessableEntity, "At most 100 ids")
		return
	}
	var ids []int64
	for _, s := range raw {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			ids = append(ids, n)
		}
	}
	rels, err := s.core.RelationshipsOf(r.Context(), viewerID(r), ids)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out := make([]Relationship, len(rels))
	for i, rel := range rels {
		out[i] = relationship(rel)
	}
	writeJSON(w, http.StatusOK, out)
}
