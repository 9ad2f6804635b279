package web

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
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
	if target.Locked {
		s.sessions.Put(r.Context(), "flash", "You asked to follow @"+target.Username+"; they will answer.")
	} else {
		s.sessions.Put(r.Context(), "flash", "You follow @"+target.Username+" now.")
	}
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
	s.sessions.Put(r.Context(), "flash", "You no longer follow @"+target.Username+" (nor ask to).")
	http.Redirect(w, r, "/@"+target.Username, http.StatusSeeOther)
}

// allowFollow counts a follow or an unfollow against the account's allowance (30 a
// minute, both together); over it, it answers 429 itself and returns false.
func (s *Server) allowFollow(w http.ResponseWriter, r *http.Request) bool {
	return s.limits == nil || s.allow(w, r, s.limits.followUser, strconv.FormatInt(currentUser(r).ID, 10))
}

// followList is the page of the people who follow an account (followers) or whom it
// follows, MaxPageSize at a time, newest account first.
func (s *Server) followList(followers bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.page(w, r)
		if !ok {
			return
		}
		prof, err := s.core.ProfileOf(r.Context(), mux.Vars(r)["username"], viewerOf(r))
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		p.Limit = core.MaxPageSize
		list, title, path := s.core.FollowingOf, "Followed by", "/following"
		if followers {
			list, title, path = s.core.FollowersOf, "Followers of", "/followers"
		}
		users, err := list(r.Context(), prof.User.ID, p)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		v := view{Title: title + " " + isolate("@"+prof.User.Username), Profile: &prof, Accounts: users}
		if len(users) == core.MaxPageSize {
			v.Next = fmt.Sprintf("/@%s%s?before=%d", prof.User.Username, path, users[len(users)-1].ID)
		}
		s.render(w, r, http.StatusOK, "accounts", v)
	}
}

// followRequests is the page of the accounts asking to follow the logged-in user, with a
// form to accept or decline each.
func (s *Server) followRequests(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	reqs, err := s.core.FollowRequests(r.Context(), currentUser(r).ID, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	users := make([]core.User, len(reqs))
	for i, q := range reqs {
		users[i] = q.User
	}
	v := view{Title: "Follow requests", Accounts: users}
	if len(reqs) == core.DefaultPageSize {
		v.Next = fmt.Sprintf("/follow_requests?before=%d", reqs[len(reqs)-1].RequestID)
	}
	s.render(w, r, http.StatusOK, "follow_requests", v)
}

// followRequestAnswer accepts or declines the request of the account in the path.
func (s *Server) followRequestAnswer(accept bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
		if err != nil {
			s.notFound(w, r)
			return
		}
		answer, done := s.core.RejectFollowRequest, "Declined."
		if accept {
			answer, done = s.core.AuthorizeFollowRequest, "Accepted: they follow you now."
		}
		if err := answer(r.Context(), *currentUser(r), id); err != nil {
			s.answerError(w, r, err)
			return
		}
		s.sessions.Put(r.Context(), "flash", done)
		http.Redirect(w, r, "/follow_requests", http.StatusSeeOther)
	}
}
