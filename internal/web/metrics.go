package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/oauth"
)

// metricsForAdmins serves h, the Prometheus metrics, to administrators only: a request
// with an administrator's website session, or with a personal access token of an
// administrator account (Authorization: Bearer), which is what a scraper sends. Tokens that
// apps obtained are not enough: an app a person authorized reads their account, not the
// server's figures. Everyone else gets 403.
func (s *Server) metricsForAdmins(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := currentUser(r); u != nil && u.IsAdmin {
			h.ServeHTTP(w, r)
			return
		}
		raw, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if bearer && s.oauth != nil {
			ok, err := s.adminToken(r, strings.TrimSpace(raw))
			if err != nil {
				s.answerError(w, r, err)
				return
			}
			if ok {
				h.ServeHTTP(w, r)
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		s.clientError(w, r, http.StatusForbidden, "Administrators only",
			"The metrics are for administrators: send an administrator's personal access token.")
	})
}

// adminToken reports whether raw is a live personal access token of an administrator.
func (s *Server) adminToken(r *http.Request, raw string) (bool, error) {
	g, err := s.oauth.Lookup(r.Context(), raw)
	if errors.Is(err, oauth.ErrNotFound) {
		return false, nil
	}
	if err != nil || g.AppID != 0 || g.UserID == 0 {
		return false, err
	}
	u, err := s.core.UserByID(r.Context(), g.UserID)
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	return err == nil && u.IsAdmin, err
}
