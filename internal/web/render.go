package web

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/problem"
	"github.com/starling-social/starling/internal/text"
	"github.com/starling-social/starling/templates"
)

// pages holds one parsed template set per page, each with the layout and partials.
type pages struct {
	byName map[string]*template.Template
}

// form is a submitted form: what was typed, and what is wrong with it.
type form struct {
	Values map[string]string
	Errors map[string]string
	// Media are pictures uploaded with the form and waiting for it (the compose form asks
	// for their descriptions).
	Media []core.Media
}

func newForm() form { return form{Values: map[string]string{}, Errors: map[string]string{}} }

// view is the data every page template receives.
type view struct {
	Title       string
	Path        string
	User        *core.User
	Flash       string
	SignupsOpen bool
	Form        form
	Compose     bool
	Timeline    core.Timeline
	Profile     *core.Profile
	Post        *core.Post
	Next        string
	Message     string
	// Stream names the live stream the page follows (data-stream), or "" for none.
	Stream string
	// Unread counts the viewer's unread notifications, for the header.
	Unread        int64
	Notifications core.NotificationPage
	Stats         []core.DailyStat
	Chart         template.HTML
	Auth          *authorizeView
	Tokens        []oauth.AuthorizedApp
	Admin         *adminView
	// Thread is the conversation around Post on its page.
	Thread *core.Thread
	// Accounts are the people a followers, following or directory page lists.
	Accounts []core.User
	// Search is the search page's query and results.
	Search *searchView
	// Tag is the tag of a tag page.
	Tag *core.Tag
	// FeaturedTags are the tags a profile features, Pinned the posts it pins.
	FeaturedTags []core.FeaturedTag
	Pinned       []core.Post
}

// postView is what the "post" partial needs: the post shown (for a boost, the boosted
// post), who boosted it, and the reader.
type postView struct {
	Viewer *core.User
	Post   core.Post
	// ID is the id of what the timeline lists: the boost's for a boost, so that undoing
	// the boost removes it from pages following the stream.
	ID int64
	// Booster is who boosted Post, nil when it is not a boost.
	Booster *core.User
}

func newPostView(viewer *core.User, p core.Post) postView {
	v := postView{Viewer: viewer, Post: p.Shown(), ID: p.ID}
	if p.ReblogOf != nil {
		v.Booster = &p.Author
	}
	return v
}

// visibilityLabel names a visibility for readers.
func visibilityLabel(v string) string {
	switch v {
	case core.VisibilityUnlisted:
		return "Unlisted"
	case core.VisibilityPrivate:
		return "Followers only"
	case core.VisibilityDirect:
		return "Mentioned people only"
	}
	return "Public"
}

// formError is one line of a form's error summary: the message, and the id of the element
// it is about ("" when it is about the whole form).
type formError struct {
	Message, Target string
}

// errorOrder is the order of the fields on the website's forms, top to bottom, so that the
// error summary lists the problems in the order the person meets them.
var errorOrder = []string{"form", "username", "login", "display_name", "bio", "fields", "avatar", "header",
	"theme", "default_visibility", "default_language", "email", "password", "email_password", "current_password",
	"new_password", "name", "body", "spoiler_text", "media", "visibility", "in_reply_to_id"}

// errorTargets are the elements of the errors not shown by the "field" partial (whose
// input is "f-" and the key); a key named here with "" has no element of its own.
var errorTargets = map[string]string{
	"form": "", "in_reply_to_id": "", "body": "compose-body", "spoiler_text": "compose-cw",
	"media": "compose-media", "visibility": "compose-visibility", "fields": "f-field_name_0",
	"name": "f-token-name",
}

// errorSummary lists a form's errors for the summary at the top of the page, in the
// order of the fields.
func errorSummary(f form) []formError {
	if len(f.Errors) == 0 {
		return nil
	}
	rank := func(k string) int {
		if i := slices.Index(errorOrder, k); i >= 0 {
			return i
		}
		return len(errorOrder)
	}
	keys := slices.Collect(maps.Keys(f.Errors))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b)) })
	out := make([]formError, 0, len(keys))
	for _, k := range keys {
		target, ok := errorTargets[k]
		if !ok {
			target = "f-" + k
		}
		out = append(out, formError{Message: f.Errors[k], Target: target})
	}
	return out
}

// fieldView is what the "field" partial needs.
type fieldView struct {
	Name, Label, Type, Value, Error, Auto, Hint string
	Required                                    bool
}

var funcs = template.FuncMap{
	"render": func(p core.Post) template.HTML { return p.RenderBody("") },
	"day":    func(t time.Time) string { return t.UTC().Format("Mon Jan 2") },
	"iso":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"ago":    ago,
	// fulldate is a post's time in full, for its accessible name and tooltip.
	"fulldate": func(t time.Time) string { return t.UTC().Format("2 January 2006, 15:04 UTC") },
	"plural": func(n int64, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
	"avatar":    func(u core.User) string { return u.AvatarPath() },
	"media":     func(m core.Media, variant string) string { return m.Path(variant) },
	"fieldRows": func() []int { return []int{0, 1, 2, 3} }, // core.MaxProfileFields rows
	"inc":       func(i int) int { return i + 1 },
	// uploadSlots numbers the empty picture inputs of a compose form that has n already.
	"uploadSlots": func(n int) []int {
		var out []int
		for i := n + 1; i <= core.MaxMediaPerPost; i++ {
			out = append(out, i-n)
		}
		return out
	},
	// fieldValue renders a profile field's value: escaped, its URLs linked.
	"fieldValue": func(v string) template.HTML {
		none := func(string) string { return "" }
		return text.Render(v, none, none)
	},
	"canDelete": core.CanDelete,
	"postView": func(viewer *core.User, p any) postView {
		switch p := p.(type) {
		case core.Post:
			return newPostView(viewer, p)
		case *core.Post:
			return newPostView(viewer, *p)
		}
		panic(fmt.Sprintf("postView: unexpected %T", p))
	},
	"boostable":  core.Boostable,
	"visibility": visibilityLabel,
	"visibilities": func() []string {
		return []string{core.VisibilityPublic, core.VisibilityUnlisted, core.VisibilityPrivate, core.VisibilityDirect}
	},
	"maxChars": func() int { return text.MaxPostChars },
	"themes":   func() []string { return []string{core.ThemeSystem, core.ThemeLight, core.ThemeDark} },
	"themeLabel": func(theme string) string {
		switch theme {
		case core.ThemeLight:
			return "Light"
		case core.ThemeDark:
			return "Dark"
		}
		return "As my device is set (light or dark)"
	},
	"errorSummary": errorSummary,
	"field": func(name, label, typ string, f form, auto, hint string) fieldView {
		v := f.Values[name]
		if typ == "password" {
			v = ""
		}
		return fieldView{Name: name, Label: label, Type: typ, Value: v, Error: f.Errors[name],
			Auto: auto, Hint: hint, Required: !strings.Contains(label, "optional")}
	},
}

// isolate wraps user text for a place that takes no markup, such as the page title, in
// U+2068 FIRST STRONG ISOLATE and U+2069 POP DIRECTIONAL ISOLATE: what <bdi> does in the
// page, so that a right-to-left name cannot reorder the words around it.
func isolate(s string) string { return "\u2068" + s + "\u2069" }

// ago formats t relative to now for a timeline: "now", "5m", "3h", then a date.
func ago(t time.Time) string {
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	case t.Year() == time.Now().Year():
		return t.UTC().Format("Jan 2")
	}
	return t.UTC().Format("Jan 2, 2006")
}

func loadPages() (*pages, error) {
	names, err := fs.Glob(templates.Files, "*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		if n == "layout.html" {
			continue
		}
		t, err := template.New(n).Funcs(funcs).ParseFS(templates.Files, "layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		p.byName[strings.TrimSuffix(n, ".html")] = t
	}
	return p, nil
}

// render writes page with status, rendering into a buffer first so that a template error
// becomes a clean 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, v view) {
	t, ok := s.pages.byName[page]
	if !ok {
		s.answerError(w, r, fmt.Errorf("no page template %q", page))
		return
	}
	v.User = currentUser(r)
	if v.User != nil {
		n, err := s.core.UnreadNotifications(r.Context(), v.User.ID)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		v.Unread = n
	}
	v.SignupsOpen = s.core.SignupsOpen()
	v.Path = r.URL.Path
	if v.Flash == "" {
		v.Flash = s.sessions.PopString(r.Context(), "flash")
	}
	if v.Flash == "" {
		v.Flash = s.popGoneFlash(w, r)
	}
	if v.Stream == "" && v.User != nil && s.hub != nil {
		v.Stream = "notifications" // keeps the badge current on every page
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		s.answerError(w, r, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if extra := w.Header().Get("X-Form-Action"); extra != "" {
		w.Header().Del("X-Form-Action")
		w.Header().Set("Content-Security-Policy", strings.Replace(httpx.ContentSecurityPolicy,
			"form-action 'self'", "form-action 'self' "+extra, 1))
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Server) clientError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	s.render(w, r, status, "error", view{Title: title, Message: msg})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.clientError(w, r, http.StatusNotFound, "Not found", "There is nothing at this address.")
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request) {
	s.clientError(w, r, http.StatusForbidden, "Not allowed", "You are not allowed to do that.")
}

// answerError answers for err, whatever it is, through the one error map (problem.Of):
// core's not found, forbidden, validation and rate-limit errors as the client's mistake;
// 400 for text Postgres refused, 503 with Retry-After while the database is unreachable,
// and otherwise a 500 that is logged with the request id and reveals nothing.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, err error) {
	s.problem(w, r, problem.Of(err))
}

// problem answers p with a page, logging what the visitor is not told.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, p problem.Problem) {
	p.SetHeaders(w.Header())
	switch p.Kind {
	case problem.NotFound:
		s.notFound(w, r)
	case problem.Forbidden:
		s.forbidden(w, r)
	case problem.TooLarge:
		s.clientError(w, r, p.Status, "Too large", "The picture is too large: "+strings.TrimPrefix(p.Err.Error(), core.ErrTooLarge.Error()+": ")+".")
	case problem.TooMany:
		s.clientError(w, r, p.Status, "Too many attempts", "Please try again in "+waitText(p.RetryAfter)+".")
	case problem.Invalid: // handlers re-render their form; this is for one that did not
		s.clientError(w, r, p.Status, "Not accepted", (&core.ValidationError{Fields: p.Fields}).Describe())
	case problem.Canceled:
	case problem.InvalidText: // every handler should have refused it: say so in the log
		s.log.WarnContext(r.Context(), "request carried text Postgres refused", "method", r.Method, "path", r.URL.Path, "err", p.Err)
		s.clientError(w, r, p.Status, "Bad request", notText)
	case problem.Unavailable:
		s.log.WarnContext(r.Context(), "request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", p.Err)
		unavailable(w, p)
	default:
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", p.Err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(p.Status)
		w.Write([]byte("Something went wrong on our side. Please try again.\n"))
	}
}

// waitText says how long seconds is, as a person would: "a few seconds", "about 2
// minutes", "about an hour".
func waitText(seconds int) string {
	switch {
	case seconds <= 0:
		return "a moment"
	case seconds < 10:
		return "a few seconds"
	case seconds < 90:
		return fmt.Sprintf("%d seconds", seconds)
	case seconds < 90*60:
		return fmt.Sprintf("about %d minutes", (seconds+30)/60)
	case seconds < 2*3600:
		return "about an hour"
	}
	return fmt.Sprintf("about %d hours", (seconds+1800)/3600)
}

// parseForm reads a form body, answering 413 or 400 itself when it cannot, and 422 when a
// field is not text (a NUL character, bytes that are not UTF-8: see text.Storable).
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	parse := r.ParseForm
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		parse = func() error { return r.ParseMultipartForm(1 << 20) } // larger files wait on disk, for the request
	}
	if err := parse(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.clientError(w, r, http.StatusRequestEntityTooLarge, "Too large", "The form you sent is too large.")
			return false
		}
		s.clientError(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	if httpx.BadText("", r.PostForm) != "" {
		s.clientError(w, r, http.StatusUnprocessableEntity, "Not text", notText)
		return false
	}
	return true
}

// notText is the answer to a request with a value that is not text.
const notText = "The request holds something that is not text (a NUL character, or bytes that are not valid UTF-8). Nothing was changed."

// refuseBadText answers 400 for a request whose path or query is not text (see
// httpx.BadText), before any handler puts it in a query or a page.
func (s *Server) refuseBadText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if httpx.BadText(r.URL.Path, r.URL.Query()) != "" {
			s.clientError(w, r, http.StatusBadRequest, "Bad request", notText)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(templates.Files, "static")
	if err != nil {
		panic(err)
	}
	fsrv := http.StripPrefix("/static/", http.FileServerFS(filesOnly{sub}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "public, max-age=3600")
		// Readable from any origin: API clients on other sites load the avatars and
		// headers the API points at with crossorigin set. The files are public and
		// the same for everyone; no cookie changes them.
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Cross-Origin-Resource-Policy", "cross-origin")
		fsrv.ServeHTTP(w, r)
	})
}

// favicon serves /favicon.ico, which browsers ask for on a first visit whatever the page
// says: the site's icon (the pages name /static/icon.png too).
func favicon() http.Handler {
	ico, err := fs.ReadFile(templates.Files, "static/favicon.ico")
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "image/x-icon")
		h.Set("Cache-Control", "public, max-age=86400")
		http.ServeContent(w, r, "favicon.ico", time.Time{}, bytes.NewReader(ico))
	})
}

// filesOnly is a file system whose directories cannot be opened, so that the file server
// serves its files and lists no directory (a directory's address answers 404).
type filesOnly struct{ fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := file.Stat(); err != nil || st.IsDir() {
		file.Close()
		return nil, fs.ErrNotExist
	}
	return file, nil
}

// localPath returns next when it is a path on this site, else "/". It keeps redirects after
// login or posting from sending people elsewhere. It judges next as a browser reads a
// Location: browsers drop tabs and newlines anywhere in it and read a backslash as '/',
// so "/<TAB>/evil.example" and "/<backslash>evil.example" lead off-site. A next with any
// control character is refused; backslashes are returned as '/', which is what the
// browser would follow anyway.
func localPath(next string) string {
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	next = strings.ReplaceAll(next, "\\", "/")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}
