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
			s.answerError(w, r, err)
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
	if s.settingsRefused(w, r, f, err) {
		return
	}
	s.sessions.Put(r.Context(), "flash", "Settings saved.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// settingsRefused answers a settings form whose change failed with err: the settings page
// again, with f and the field errors, when core refused the input (problem.Invalid), a
// server error otherwise. It answers nothing and returns false when err is nil.
func (s *Server) settingsRefused(w http.ResponseWriter, r *http.Request, f form, err error) bool {
	if err == nil {
		return false
	}
	if p := problem.Of(err); p.Kind == problem.Invalid {
		f.Errors = p.Fields
		s.renderSettings(w, r, p.Status, f)
		return true
	}
	s.answerError(w, r, err)
	return true
}

// passwordRight reports whether err, from a change that asks for the current password in
// field, shows that password was right: no error, or field errors for other fields only.
func passwordRight(err error, field string) bool {
	p := problem.Of(err)
	return err == nil || p.Kind == problem.Invalid && p.Fields[field] == ""
}
