package api

import "net/http"

// preferences answers GET /api/v1/preferences with Mastodon's preference keys.
func (s *Server) preferences(w http.ResponseWriter, r *http.Request) {
	p, err := s.core.PreferencesOf(r.Context(), *callerOf(r).user)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	var lang *string
	if p.DefaultLanguage != "" {
		lang = &p.DefaultLanguage
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"posting:default:visibility": p.DefaultVisibility,
		"posting:default:sensitive":  p.DefaultSensitive,
		"posting:default:language":   lang,
		"reading:expand:media":       p.ExpandMedia,
		"reading:expand:spoilers":    p.ExpandSpoilers,
	})
}
