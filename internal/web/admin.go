package web

import "net/http"

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
