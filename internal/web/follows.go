package web

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/problem"
)

func (s *Server) follow(w http.ResponseWriter, r *http.Request) {
	if !s.allowFollow(w, r) {
		return
	}
	target, err := s.core.Follow(r.Context(), currentUser(r).ID, mux.Vars(r)["username"])
	if p := problem.Of(err); p.Kind == problem.Invalid {
		s.clientError(w, r, p.Status, "Cannot follow", p.Fields["username"])
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "You follow @"+target.Username+" now.")
	http.Redirect(w, r, "/@"+target.Username, http.StatusSeeOther)
}

func (s *Server) unfollow(w http.ResponseWriter, r *http.Request) {
	if !s.allowFollow(w, r) {
		return
	}
	target, err := s.core.Unfollow(r.Context(), currentUser(r).ID, mux.Vars(r)["username"])
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "You no longer follow @"+target.Username+".")
	http.Redirect(w, r, "/@"+target.Username, http.StatusSeeOther)
}

// allowFollow counts a follow or an unfollow against the account's allowance (30 a
// minute, both together); over it, it answers 429 itself and returns false.
func (s *Server) allowFollow(w http.ResponseWriter, r *http.Request) bool {
	return s.limits == nil || s.allow(w, r, s.limits.followUser, strconv.FormatInt(currentUser(r).ID, 10))
}
