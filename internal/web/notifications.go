package web

import (
	"fmt"
	"net/http"
	"strconv"
)

func (s *Server) notifications(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	np, err := s.core.Notifications(r.Context(), currentUser(r).ID, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	v := view{Title: "Notifications", Notifications: np}
	if np.Next != 0 {
		v.Next = fmt.Sprintf("/notifications?before=%d", np.Next)
	}
	s.render(w, r, http.StatusOK, "notifications", v)
}

func (s *Server) notificationsRead(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	upTo, _ := strconv.ParseInt(r.PostForm.Get("up_to"), 10, 64)
	if err := s.core.MarkNotificationsRead(r.Context(), currentUser(r).ID, upTo); err != nil {
		s.answerError(w, r, err)
		return
	}
	http.Redirect(w, r, "/notifications", http.StatusSeeOther)
}
