package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"strings"

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
		f.Values["theme"] = cmp.Or(u.Theme, core.ThemeSystem)
	}
	if _, ok := f.Values["default_visibility"]; !ok {
		for i := range core.MaxProfileFields {
			if i < len(u.Fields) {
				f.Values[fmt.Sprintf("field_name_%d", i)] = u.Fields[i].Name
				f.Values[fmt.Sprintf("field_value_%d", i)] = u.Fields[i].Value
			}
		}
		if u.Bot {
			f.Values["bot"] = "on"
		}
		if u.Discoverable {
			f.Values["discoverable"] = "on"
		}
		if u.Locked {
			f.Values["locked"] = "on"
		}
		f.Values["default_visibility"] = cmp.Or(u.DefaultVisibility, core.VisibilityPublic)
		f.Values["default_language"] = u.DefaultLanguage
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
	for _, k := range []string{"display_name", "bio", "email_mentions", "theme"} {
		f.Values[k] = r.PostForm.Get(k)
	}
	if !r.PostForm.Has("theme") { // a form without the choice keeps the one made
		f.Values["theme"] = currentUser(r).Theme
	}
	err := s.core.UpdateSettings(r.Context(), currentUser(r).ID, core.Settings{
		DisplayName: f.Values["display_name"], Bio: f.Values["bio"], EmailMentions: f.Values["email_mentions"] == "on",
		Theme: f.Values["theme"],
	})
	if s.settingsRefused(w, r, f, err) {
		return
	}
	s.sessions.Put(r.Context(), "flash", "Settings saved.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// profileSettings saves the profile form: its fields, whether the account is a bot and
// listed in the directory, and the defaults of new posts (core.UpdateProfile).
func (s *Server) profileSettings(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := newForm()
	var fields []core.ProfileField
	for i := range core.MaxProfileFields {
		name, value := r.PostForm.Get(fmt.Sprintf("field_name_%d", i)), r.PostForm.Get(fmt.Sprintf("field_value_%d", i))
		f.Values[fmt.Sprintf("field_name_%d", i)], f.Values[fmt.Sprintf("field_value_%d", i)] = name, value
		fields = append(fields, core.ProfileField{Name: name, Value: value})
	}
	for _, k := range []string{"bot", "discoverable", "locked", "default_visibility", "default_language"} {
		f.Values[k] = r.PostForm.Get(k)
	}
	bot, discoverable, locked := f.Values["bot"] == "on", f.Values["discoverable"] == "on", f.Values["locked"] == "on"
	visibility, language := f.Values["default_visibility"], strings.TrimSpace(f.Values["default_language"])
	user, err := s.profilePictures(r, *currentUser(r))
	if s.settingsRefused(w, r, f, err) {
		return
	}
	_, err = s.core.UpdateProfile(r.Context(), user, core.ProfileUpdate{Fields: &fields, Bot: &bot, Locked: &locked,
		Discoverable: &discoverable, DefaultVisibility: &visibility, DefaultLanguage: &language})
	var verr *core.ValidationError
	if errors.As(err, &verr) { // core names the API's fields; the form's are these
		names := map[string]string{"fields_attributes": "fields", "source[privacy]": "default_visibility",
			"source[language]": "default_language"}
		renamed := map[string]string{}
		for k, msg := range verr.Fields {
			renamed[cmp.Or(names[k], k)] = msg
		}
		err = &core.ValidationError{Fields: renamed}
	}
	if s.settingsRefused(w, r, f, err) {
		return
	}
	s.sessions.Put(r.Context(), "flash", "Profile saved.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// profilePictures applies the profile form's avatar and header: a new picture, or the
// removal of the one set.
func (s *Server) profilePictures(r *http.Request, user core.User) (core.User, error) {
	for _, purpose := range []string{core.PurposeAvatar, core.PurposeHeader} {
		var err error
		if r.MultipartForm != nil && len(r.MultipartForm.File[purpose]) > 0 && r.MultipartForm.File[purpose][0].Size > 0 {
			data, rerr := readUpload(r.MultipartForm.File[purpose][0])
			if rerr != nil {
				return user, rerr
			}
			user, err = s.core.SetPicture(r.Context(), user, purpose, data)
		} else if r.PostForm.Get("remove_"+purpose) == "on" {
			user, err = s.core.RemovePicture(r.Context(), user, purpose)
		}
		if err != nil {
			return user, err
		}
	}
	return user, nil
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
