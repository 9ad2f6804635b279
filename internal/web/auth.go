package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/problem"
)

type userKey struct{}

const (
	sessionUserID = "user_id"
	// sessionAuthAt is when the session logged in (Unix nanoseconds).
	sessionAuthAt = "auth_at"
)

// loadUser puts the logged-in user, if any, in the request context.
func (s *Server) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := s.sessions.GetInt64(r.Context(), sessionUserID)
		if id == 0 {
			next.ServeHTTP(w, r)
			return
		}
		u, err := s.core.UserByID(r.Context(), id)
		if err == nil && time.Unix(0, s.sessions.GetInt64(r.Context(), sessionAuthAt)).Before(u.SessionsValidAfter) {
			err = core.ErrNotFound // logged in before a password change or "log out everywhere"
		}
		if errors.Is(err, core.ErrNotFound) {
			// The account is gone or the login ended: forget the session, row and all.
			if err := s.sessions.Destroy(r.Context()); err != nil {
				s.answerError(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, &u)))
	})
}

func currentUser(r *http.Request) *core.User {
	u, _ := r.Context().Value(userKey{}).(*core.User)
	return u
}

// viewerOf returns the id of the logged-in user, 0 for nobody.
func viewerOf(r *http.Request) int64 {
	if u := currentUser(r); u != nil {
		return u.ID
	}
	return 0
}

// readable serves h to anyone core.MayRead lets read: everyone, or on a members-only
// server only those logged in; the others are sent to the login page like requireUser
// does (a live stream, which no browser follows a redirect for, gets 401).
func (s *Server) readable(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.core.MayRead(viewerOf(r)) {
			h(w, r)
			return
		}
		if r.URL.Path == "/events" {
			http.Error(w, "this server is for its members only: log in to follow it", http.StatusUnauthorized)
			return
		}
		s.requireUser(h)(w, r)
	}
}

// requireUser sends anonymous visitors to the login page, and back here afterwards.
func (s *Server) requireUser(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if currentUser(r) == nil {
			next := r.URL.Path
			if r.Method != http.MethodGet {
				next = "/"
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		h(w, r)
	}
}

func (s *Server) signupForm(w http.ResponseWriter, r *http.Request) {
	if currentUser(r) != nil {
		http.Redirect(w, r, "/home", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "signup", view{Title: "Sign up", Form: newForm()})
}

func (s *Server) signup(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	ip := s.proxies.ClientIP(r)
	if s.limits != nil {
		if !s.allow(w, r, s.limits.signupAttemptsIP, ip) {
			return
		}
		if ok, reset := s.limits.signupIP.Check(ip, time.Now()); !ok {
			s.tooMany(w, r, time.Now(), reset)
			return
		}
	}
	f := newForm()
	for _, k := range []string{"username", "display_name", "email"} {
		f.Values[k] = r.PostForm.Get(k)
	}
	in := core.SignUpInput{
		Username: f.Values["username"], Email: f.Values["email"],
		DisplayName: f.Values["display_name"], Password: r.PostForm.Get("password"),
	}
	u, err := s.core.SignUp(r.Context(), in)
	p := problem.Of(err)
	switch {
	case errors.Is(err, core.ErrSignupsClosed):
		s.render(w, r, http.StatusForbidden, "signup", view{Title: "Sign up", Form: f})
		return
	case p.Kind == problem.Invalid:
		f.Errors = p.Fields
		s.render(w, r, p.Status, "signup", view{Title: "Sign up", Form: f})
		return
	case err != nil:
		s.answerError(w, r, err)
		return
	}
	if s.limits != nil {
		s.limits.signupIP.Add(ip, time.Now())
	}
	if err := s.startSession(r, u); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Welcome to Starling, @"+u.Username+"! We sent a link to "+u.Email+
		": open it to verify your address. Until then, Starling sends you no email.")
	http.Redirect(w, r, "/home", http.StatusSeeOther)
}

// startSession logs u in with a fresh session token, so that a token planted before login
// is worthless after it.
func (s *Server) startSession(r *http.Request, u core.User) error {
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		return err
	}
	s.sessions.Put(r.Context(), sessionUserID, u.ID)
	s.sessions.Put(r.Context(), sessionAuthAt, time.Now().UnixNano())
	return nil
}

// afterLogin is where a login sends the person: the page they came from (next, when it is
// on this site), else their home timeline.
func afterLogin(next string) string {
	if next == "" {
		return "/home"
	}
	return localPath(next)
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request) {
	f := newForm()
	f.Values["next"] = afterLogin(r.URL.Query().Get("next"))
	if currentUser(r) != nil {
		http.Redirect(w, r, f.Values["next"], http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", view{Title: "Log in", Form: f})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := newForm()
	f.Values["login"] = r.PostForm.Get("login")
	f.Values["next"] = afterLogin(r.PostForm.Get("next"))
	// The allowances count attempts per address, and per account and address with backoff:
	// an account's username and email count as one, unknown names as names.
	var key string
	if s.limits != nil {
		var err error
		if key, err = s.core.LoginKey(r.Context(), f.Values["login"]); err != nil {
			s.answerError(w, r, err)
			return
		}
		if !s.allowPasswordCheck(w, r, key) {
			return
		}
	}
	u, err := s.core.Authenticate(r.Context(), f.Values["login"], r.PostForm.Get("password"))
	if errors.Is(err, core.ErrBadCredentials) {
		f.Errors["form"] = "Wrong username or password."
		s.render(w, r, http.StatusUnprocessableEntity, "login", view{Title: "Log in", Form: f})
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.passwordChecked(r, key)
	if err := s.startSession(r, u); err != nil {
		s.answerError(w, r, err)
		return
	}
	http.Redirect(w, r, f.Values["next"], http.StatusSeeOther)
}

// allowPasswordCheck counts one password check of the account key (core.LoginKey) from
// this request's address against the login allowances, which logins and current-password
// checks share. Over them it answers 429 itself and returns false.
func (s *Server) allowPasswordCheck(w http.ResponseWriter, r *http.Request, key string) bool {
	if s.limits == nil {
		return true
	}
	now := time.Now()
	if ok, retry := s.limits.login.Allow(s.proxies.ClientIP(r), key, now); !ok {
		s.tooMany(w, r, now, retry)
		return false
	}
	return true
}

// passwordChecked tells the login allowances that the password check of key from this
// request's address succeeded, so that its backoff starts over.
func (s *Server) passwordChecked(r *http.Request, key string) {
	if s.limits != nil {
		s.limits.login.Succeeded(s.proxies.ClientIP(r), key)
	}
}

// logout ends the session. A visitor without one has nothing to end, and gets no session
// row: the message after logging out travels in a cookie of its own (flashGone).
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if s.sessions.Token(r.Context()) == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.flashGone(w, "logged-out")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) passwordChange(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	// Checking the current password is a login attempt too: a stolen session must not
	// guess it faster than the login form allows.
	key := core.AccountLoginKey(u.ID)
	if !s.allowPasswordCheck(w, r, key) {
		return
	}
	err := s.core.ChangePassword(r.Context(), u.ID, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"))
	if passwordRight(err, "current_password") {
		s.passwordChecked(r, key)
	}
	if s.settingsRefused(w, r, newForm(), err) {
		return
	}
	// This session stays, with a new id; every other one is over, and so is every token.
	if err := s.startSession(r, *u); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Password changed. Your other sessions are logged out, and every app and access token is revoked.")
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request) {
	if err := s.core.EndSessions(r.Context(), currentUser(r).ID); err != nil {
		s.answerError(w, r, err)
		return
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.flashGone(w, "logged-out-everywhere")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
