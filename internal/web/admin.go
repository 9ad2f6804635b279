package web

import (
	"net/http"
	"time"

	"github.com/starling-social/starling/internal/core"
)

// requireAdmin lets only admins through; everyone else gets 403.
func (s *Server) requireAdmin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := currentUser(r)
		if u == nil || !u.IsAdmin {
			s.clientError(w, r, http.StatusForbidden, "Administrators only",
				"This page is for administrators. Log in with an administrator account.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// adminView is what the admin page shows: how far each consumer of the event log is
// behind, and River's unfinished jobs by queue and state.
type adminView struct {
	Consumers []consumerRow
	Queues    []core.QueueDepth
}

// consumerRow is one consumer's line on the admin page.
type consumerRow struct {
	core.ConsumerLag
	// OldestAge is the age of the oldest event it has yet to apply (0: caught up).
	OldestAge time.Duration
}

// admin shows the pipeline's state to administrators.
func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	lags, err := s.core.ConsumerLags(r.Context())
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	queues, err := s.core.QueueDepths(r.Context())
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	v := adminView{Queues: queues}
	now := time.Now()
	for _, l := range lags {
		row := consumerRow{ConsumerLag: l}
		if !l.Oldest.IsZero() {
			row.OldestAge = now.Sub(l.Oldest).Round(time.Millisecond)
		}
		v.Consumers = append(v.Consumers, row)
	}
	s.render(w, r, http.StatusOK, "admin", view{Title: "Administration", Admin: &v})
}
