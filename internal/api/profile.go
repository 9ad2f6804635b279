package api

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/text"
)

// Field is Mastodon's Field entity: one name–value pair of a profile, the value as HTML.
type Field struct {
	Name       string  `json:"name"`
	Value      string  `json:"value"`
	VerifiedAt *string `json:"verified_at"`
}

// SourceField is a profile field as written (in source).
type SourceField struct {
	Name       string  `json:"name"`
	Value      string  `json:"value"`
	VerifiedAt *string `json:"verified_at"`
}

// profileFields are u's fields as the Account entity shows them: values escaped, their
// URLs linked.
func profileFields(u core.User) []Field {
	out := make([]Field, len(u.Fields))
	none := func(string) string { return "" }
	for i, f := range u.Fields {
		out[i] = Field{Name: f.Name, Value: string(text.Render(f.Value, none, none))}
	}
	return out
}

// credentialAccount is the caller's own account, with source (verify_credentials and
// update_credentials).
func (s *Server) credentialAccount(w http.ResponseWriter, r *http.Request, u core.User) {
	accts, err := s.accounts(r.Context(), []core.User{u})
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	a := accts[0]
	fields := make([]SourceField, len(u.Fields))
	for i, f := range u.Fields {
		fields[i] = SourceField{Name: f.Name, Value: f.Value}
	}
	privacy := u.DefaultVisibility
	if privacy == "" {
		privacy = core.VisibilityPublic
	}
	requests, err := s.core.FollowRequestCount(r.Context(), u.ID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	a.Source = &Source{Privacy: privacy, Sensitive: u.DefaultSensitive, Language: u.DefaultLanguage,
		Note: u.Bio, Fields: fields, FollowRequestsCount: int(requests)}
	writeJSON(w, http.StatusOK, a)
}

// updateCredentials answers PATCH /api/v1/accounts/update_credentials: display_name,
// note, bot, discoverable, fields_attributes (at most 4, as a list or as Rails' numbered
// object), source[privacy], source[sensitive], source[language]. What Starling cannot do
// yet is refused by name when asked for: hidden collections, being left out of search
// (indexable false). locked makes follows requests (follow_requests.go). avatar and header are pictures, in a multipart body.
func (s *Server) updateCredentials(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readUploadFields(w, r)
	if !ok {
		return
	}
	var u core.ProfileUpdate
	str := func(k string) *string {
		if !f.Has(k) {
			f.Ignore(k)
			return nil
		}
		v := f.String(k)
		return &v
	}
	flag := func(k string) *bool {
		if !f.Has(k) {
			f.Ignore(k)
			return nil
		}
		v := f.Bool(k)
		return &v
	}
	u.DisplayName, u.Note = str("display_name"), str("note")
	u.Bot, u.Discoverable = flag("bot"), flag("discoverable")
	pictures := map[string][]byte{}
	for _, k := range []string{core.PurposeAvatar, core.PurposeHeader} {
		if b := s.fileBytes(r, f, k); b != nil {
			pictures[k] = b
		} else if f.Has(k) && r.MultipartForm == nil {
			f.Fail(k, "must be a file in a multipart/form-data body")
		}
	}
	u.Locked = flag("locked")
	if v := flag("hide_collections"); v != nil && *v {
		f.Fail("hide_collections", "hiding followers and follows is not supported by this server yet")
	}
	if v := flag("indexable"); v != nil && !*v {
		f.Fail("indexable", "every post this server has is searchable by those who may see it")
	}
	if f.Has("fields_attributes") {
		fields, ok := profileFieldsInput(f)
		if ok {
			u.Fields = &fields
		}
	} else {
		f.Ignore("fields_attributes")
	}
	if src := f.Object("source"); src != nil {
		if src.Has("privacy") {
			v := src.String("privacy")
			u.DefaultVisibility = &v
		}
		if src.Has("sensitive") {
			v := src.Bool("sensitive")
			u.DefaultSensitive = &v
		}
		if src.Has("language") || src.Len("language") > 0 {
			v := src.String("language")
			u.DefaultLanguage = &v
		}
	}
	if !s.checkFields(w, f) {
		return
	}
	user := *callerOf(r).user
	// The pictures first: they are what is most likely refused (not a picture, too many
	// pixels), and the text fields were checked already.
	for _, k := range []string{core.PurposeAvatar, core.PurposeHeader} {
		if b, ok := pictures[k]; ok {
			var err error
			if user, err = s.core.SetPicture(r.Context(), user, k, b); err != nil {
				s.answerError(w, r, err)
				return
			}
		}
	}
	user, err := s.core.UpdateProfile(r.Context(), user, u)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.credentialAccount(w, r, user)
}

// profileFieldsInput reads fields_attributes: a list of {name, value}, or an object keyed
// by the row numbers ("0", "1", …), as a form sends fields_attributes[0][name].
func profileFieldsInput(f *fields) ([]core.ProfileField, bool) {
	raw, _ := f.take("fields_attributes")
	var rows []any
	switch v := raw.(type) {
	case []any:
		rows = v
	case map[string]any:
		keys := make([]int, 0, len(v))
		for k := range v {
			n, err := strconv.Atoi(k)
			if err != nil || n < 0 || n > 100 {
				f.Fail("fields_attributes", "is a list, or an object numbered from 0")
				return nil, false
			}
			keys = append(keys, n)
		}
		slices.Sort(keys)
		for _, k := range keys {
			rows = append(rows, v[strconv.Itoa(k)])
		}
	default:
		f.Fail("fields_attributes", "is a list of {name, value}")
		return nil, false
	}
	out := make([]core.ProfileField, 0, len(rows))
	for _, row := range rows {
		m, ok := row.(map[string]any)
		name, okName := m["name"].(string)
		value, okValue := m["value"].(string)
		if !ok || !okName && m["name"] != nil || !okValue && m["value"] != nil || len(m) > 2 {
			f.Fail("fields_attributes", "each field is {name, value}, both text")
			return nil, false
		}
		out = append(out, core.ProfileField{Name: name, Value: value})
	}
	return out, true
}

// profilePictureDelete answers DELETE /api/v1/profile/avatar and /header: back to the
// generated avatar, or to no header; the account is answered as it is then.
func (s *Server) profilePictureDelete(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	purpose := core.PurposeAvatar
	if strings.HasSuffix(r.URL.Path, "/header") {
		purpose = core.PurposeHeader
	}
	user, err := s.core.RemovePicture(r.Context(), *callerOf(r).user, purpose)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.credentialAccount(w, r, user)
}
