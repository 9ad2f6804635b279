package web

import (
	"net/http"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/problem"
)

func (s *Server) settingsForm(w http.ResponseWriter, r *http.Request) {
	s.renderSettings(w, r, http.StatusOK, newForm())
}

// renderSettings renders the settings page with f, whose missing profile values are the
// account's own: the one builder of that page.
func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, f form) {
	u := currentUser(r)
	if _, ok := f.Values["display_name"]; !ok {
		f.Values["display_name"] = u.DisplayName
		f.Values["bio"] = u.Bio
		if u.EmailMentions {
			f.Values["email_mentions"] = "on"
		}
	}
	v := view{Title: "Settings", Form: f}
	if s.oauth != nil {
		toks, err := s.oauth.TokensOf(r.Context(), u.ID)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		v.Tokens = toks
	}
	s.render(w, r, status, "settings", v)
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := newForm()
	for _, k := range []string{"display_name", "bio", "email_mentions"} {
		f.Values[k] = r.PostForm.Get(k)
	}
	err := s.core.UpdateSettings(r.Context(), currentUser(r).ID, core.Settings{
		DisplayName: f.Values["display_name"], Bio: f.Values["bio"], EmailMentions: f.Values["email_mentions"] == "on",
	})
	if p := problem.Of(err); p.Kind == problem.Invalid {
		f.Errors = p.Fields
		s.renderSettings(w, r, p.Status, f)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Settings saved.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}
