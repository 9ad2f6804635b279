package api

import (
	"net/http"

	"github.com/starling-social/starling/internal/core"
)

// followRequests answers GET /api/v1/follow_requests: the accounts asking to follow the
// caller, newest request first, paged by the requests (max_id, since_id, min_id, limit;
// Link headers).
func (s *Server) followRequests(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r)
	if !ok {
		return
	}
	reqs, err := s.core.FollowRequests(r.Context(), callerOf(r).user.ID, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	users := make([]core.User, len(reqs))
	for i, q := range reqs {
		users[i] = q.User
	}
	accts, err := s.accounts(r.Context(), users)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if len(reqs) > 0 {
		s.setLink(w, r, reqs[0].RequestID, reqs[len(reqs)-1].RequestID)
	}
	writeJSON(w, http.StatusOK, accts)
}

// followRequestAnswer answers POST /api/v1/follow_requests/:account_id/authorize and
// /reject with the relationship to that account afterwards; 404 when it has not asked.
func (s *Server) followRequestAnswer(accept bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, ok := s.pathRecord(w, r)
		if !ok || !s.noFields(w, r) {
			return
		}
		me := *callerOf(r).user
		answer := s.core.RejectFollowRequest
		if accept {
			answer = s.core.AuthorizeFollowRequest
		}
		if err := answer(r.Context(), me, n); err != nil {
			s.answerError(w, r, err)
			return
		}
		s.relationshipOf(w, r, n)
	}
}
