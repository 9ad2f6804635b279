package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
)

// page reads the keyset cursor (?before=ID) of a timeline, answering 400 itself when it is
// malformed.
func (s *Server) page(w http.ResponseWriter, r *http.Request) (core.Page, bool) {
	var p core.Page
	if v := r.URL.Query().Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			s.clientError(w, r, http.StatusBadRequest, "Bad request", "The page address is malformed.")
			return p, false
		}
		p.Before = n
	}
	return p, true
}

func nextURL(path string, t core.Timeline) string {
	if t.Next == 0 {
		return ""
	}
	return fmt.Sprintf("%s?before=%d", path, t.Next)
}

func (s *Server) publicTimeline(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	t, err := s.core.PublicTimeline(r.Context(), viewerOf(r), p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "timeline", view{
		Title: "Public timeline", Timeline: t, Next: nextURL("/", t),
		Compose: currentUser(r) != nil, Form: newForm(), Stream: s.liveStream(p, "public"),
	})
}

func (s *Server) homeTimeline(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	t, err := s.core.HomeTimeline(r.Context(), currentUser(r).ID, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "timeline", view{
		Title: "Home", Timeline: t, Next: nextURL("/home", t), Compose: true, Form: newForm(),
		Stream: s.liveStream(p, "home"),
	})
}

func (s *Server) userTimeline(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	viewerID := viewerOf(r)
	prof, err := s.core.ProfileOf(r.Context(), mux.Vars(r)["username"], viewerID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	t, err := s.core.UserTimeline(r.Context(), viewerID, prof.User.ID, core.AuthorFilter{}, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	featured, err := s.core.FeaturedTags(r.Context(), prof.User.ID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	var pinned []core.Post
	if p.Before == 0 { // the first page shows the pinned posts above the rest
		if pinned, err = s.core.PinnedPosts(r.Context(), viewerID, prof.User.ID); err != nil {
			s.answerError(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "timeline", view{FeaturedTags: featured, Pinned: pinned,
		Title: isolate(prof.User.Name()) + " (@" + prof.User.Username + ")", Profile: &prof, Timeline: t,
		Next: nextURL("/@"+prof.User.Username, t), Compose: viewerID == prof.User.ID, Form: newForm(),
		Stream: s.liveStream(p, "user:"+prof.User.Username),
	})
}

// liveStream returns the stream a timeline page follows: only its first page is live.
func (s *Server) liveStream(p core.Page, stream string) string {
	if s.hub == nil || p.Before != 0 {
		return ""
	}
	return stream
}
