package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/problem"
)

// authorizeParams are the query (GET) or form (POST) fields of an authorization request.
var authorizeParams = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"}

// oauthAuthorize shows the consent page for an app asking for access, or, on POST, records
// the user's answer and sends them back to the app.
func (s *Server) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && !s.parseForm(w, r) {
		return
	}
	get := func(k string) string {
		if r.Method == http.MethodPost {
			return r.PostForm.Get(k)
		}
		return r.URL.Query().Get(k)
	}
	req, err := s.oauth.CheckAuthorize(r.Context(), get("client_id"), get("redirect_uri"), get("response_type"),
		get("scope"), get("code_challenge"), get("code_challenge_method"))
	var oe *oauth.Error
	if errors.As(err, &oe) {
		// Shown, never redirected: the page redirects only with the person's answer. An
		// error about the client or the redirect URI has nowhere safe to go (RFC 6749
		// section 4.1.2.1), and since anyone may register an app with any redirect URI,
		// redirecting the other errors before the person has acted would make this page
		// an open redirector (RFC 9700 section 4.11.2).
		s.clientError(w, r, http.StatusBadRequest, "Authorization failed", oe.Description)
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	u := currentUser(r)
	if u == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if r.Method == http.MethodGet {
		f := newForm()
		for _, k := range authorizeParams {
			f.Values[k] = get(k)
		}
		f.Values["redirect_uri"] = req.RedirectURI
		// Let the browser follow the redirect to the app after the form is sent: browsers
		// hold a form's redirects to the page's form-action, custom schemes included.
		if src := formActionSource(req.RedirectURI); src != "" {
			w.Header().Set("X-Form-Action", src)
		}
		s.render(w, r, http.StatusOK, "authorize", view{Title: "Authorize " + isolate(req.App.Name), Form: f, Auth: &authorizeView{
			App: req.App.Name, Website: req.App.Website, Scopes: req.Scopes,
		}})
		return
	}
	if r.PostForm.Get("decision") != "approve" {
		s.authorizeRedirect(w, r, req.RedirectURI, url.Values{"error": {"access_denied"}, "error_description": {"The user denied the request."}}, get("state"))
		return
	}
	code, err := s.oauth.IssueCode(r.Context(), req, u.ID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.authorizeRedirect(w, r, req.RedirectURI, url.Values{"code": {code}}, get("state"))
}

// formActionSource returns the Content-Security-Policy source that lets the consent form's
// answer redirect to redirectURI: its origin for http and https, its scheme for an app's
// own scheme ("icecubesapp:"), and "" for the out-of-band URI, which is never redirected
// to. A host with characters that are not plain host characters falls back to the scheme,
// so that a registered URI can never add anything else to the policy.
func formActionSource(redirectURI string) string {
	ru, err := url.Parse(redirectURI)
	if err != nil || redirectURI == oauth.OOB || ru.Scheme == "" {
		return ""
	}
	// url.Parse keeps the scheme to [a-z0-9+.-], which is also CSP's grammar for it.
	if (ru.Scheme == "http" || ru.Scheme == "https") && ru.Host != "" &&
		!strings.ContainsFunc(ru.Host, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(".-:[]", r))
		}) {
		return ru.Scheme + "://" + ru.Host
	}
	return ru.Scheme + ":"
}

// popupPages are the pages a web client may open in a popup to log a person in: the
// consent page, the login page it sends visitors to, and the signup page linked from there.
var popupPages = map[string]bool{"/oauth/authorize": true, "/login": true, "/signup": true}

// keepOpener sends Cross-Origin-Opener-Policy: unsafe-none on popupPages instead of the
// site's same-origin. A popup that meets same-origin on any response, redirects included,
// loses window.opener for good, and the app that opened it never hears the answer.
// Framing stays denied on these pages too (X-Frame-Options, frame-ancestors).
func keepOpener(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if popupPages[r.URL.Path] {
			w.Header().Set("Cross-Origin-Opener-Policy", "unsafe-none")
		}
		next.ServeHTTP(w, r)
	})
}

// authorizeView is what the consent page shows.
type authorizeView struct {
	App, Website string
	Scopes       oauth.Scopes
	Code         string
}

// authorizeRedirect sends the answer to the app, or shows it for the out-of-band URI.
func (s *Server) authorizeRedirect(w http.ResponseWriter, r *http.Request, redirectURI string, v url.Values, state string) {
	if redirectURI == oauth.OOB {
		if code := v.Get("code"); code != "" {
			s.render(w, r, http.StatusOK, "authorize", view{Title: "Authorization code", Auth: &authorizeView{Code: code}})
			return
		}
		s.clientError(w, r, http.StatusBadRequest, "Authorization failed", v.Get("error_description"))
		return
	}
	if state != "" {
		v.Set("state", state)
	}
	sep := "?"
	if strings.Contains(redirectURI, "?") {
		sep = "&"
	}
	http.Redirect(w, r, redirectURI+sep+v.Encode(), http.StatusSeeOther)
}

// tokenCreate makes a personal access token after checking the current password: a token
// outlives the session, so a stolen cookie alone must not be enough to make one.
func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	key := core.AccountLoginKey(u.ID)
	if !s.allowPasswordCheck(w, r, key) {
		return
	}
	err := s.core.CheckPassword(r.Context(), u.ID, r.PostForm.Get("current_password"))
	if p := problem.Of(err); p.Kind == problem.Invalid {
		s.sessions.Put(r.Context(), "flash", "No token was made: "+p.Fields["current_password"])
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.passwordChecked(r, key)
	tok, err := s.oauth.CreatePersonalToken(r.Context(), u.ID, r.PostForm.Get("name"), strings.Join(r.PostForm["scopes"], " "))
	var verr *oauth.ValidationError
	if errors.As(err, &verr) {
		s.sessions.Put(r.Context(), "flash", verr.Message)
		http.Redirect(w, r, "/settings", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	// Shown once, never stored in clear.
	s.render(w, r, http.StatusOK, "authorize", view{Title: "New access token", Auth: &authorizeView{Code: tok.AccessToken, Scopes: tok.Scopes}})
}

func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err := s.oauth.RevokeForUser(r.Context(), currentUser(r).ID, n); errors.Is(err, oauth.ErrNotFound) {
		s.notFound(w, r)
		return
	} else if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Access revoked.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}
