package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
)

// verifyEmailForm shows what the link in a verification email would verify and a button
// that does it. Opening the link changes nothing, so that mail scanners that fetch every
// link do not verify an address on their own.
func (s *Server) verifyEmailForm(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	p, err := s.core.CheckEmailVerification(r.Context(), token)
	if err != nil {
		s.verificationError(w, r, err)
		return
	}
	f := newForm()
	f.Values["token"], f.Values["email"], f.Values["username"] = token, p.Email, p.Username
	s.render(w, r, http.StatusOK, "verify_email", view{Title: "Verify your email address", Form: f})
}

// verifyEmail uses the link's token.
func (s *Server) verifyEmail(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u, err := s.core.VerifyEmail(r.Context(), r.PostForm.Get("token"))
	if err != nil {
		s.verificationError(w, r, err)
		return
	}
	me := currentUser(r)
	if me == nil {
		// A link opened on another device: no session to carry the message, and none made
		// for it.
		s.flashGone(w, "email-verified")
		http.Redirect(w, r, "/login?next=%2Fsettings", http.StatusSeeOther)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Your email address "+u.Email+" is verified.")
	next := "/"
	if me.ID == u.ID {
		next = "/settings"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// verificationError answers for a link that cannot verify anything.
func (s *Server) verificationError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, core.ErrVerificationExpired):
		s.render(w, r, http.StatusGone, "verify_email", view{Title: "Link expired", Form: newForm(),
			Message: "This link has expired. Log in and ask for a new one in your settings."})
	case errors.Is(err, core.ErrVerificationInvalid):
		s.render(w, r, http.StatusNotFound, "verify_email", view{Title: "Link not valid", Form: newForm(),
			Message: "This link is not valid: it was used already, a newer address replaced the one it was sent to, or it was mistyped. Your settings show whether your address is verified."})
	default:
		s.answerError(w, r, err)
	}
}

// emailChange sets a new address, which stays unverified until its link is used.
func (s *Server) emailChange(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	// Checking the current password draws on the login allowances, like every such check.
	key := core.AccountLoginKey(u.ID)
	if !s.allowPasswordCheck(w, r, key) {
		return
	}
	f := newForm()
	f.Values["email"] = r.PostForm.Get("email")
	changed, err := s.core.ChangeEmail(r.Context(), u.ID, r.PostForm.Get("email_password"), f.Values["email"])
	if passwordRight(err, "email_password") {
		s.passwordChecked(r, key)
	}
	if s.settingsRefused(w, r, f, err) {
		return
	}
	if changed {
		s.sessions.Put(r.Context(), "flash", fmt.Sprintf("Email address changed. We sent a link to %s: open it within %s to verify the address; until then it gets no email.",
			strings.TrimSpace(f.Values["email"]), lifetime()))
	} else {
		s.sessions.Put(r.Context(), "flash", "That is your email address already.")
	}
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// emailVerificationResend sends the verification link again.
func (s *Server) emailVerificationResend(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	err := s.core.ResendEmailVerification(r.Context(), u.ID)
	var later *core.RetryLaterError
	switch {
	case errors.As(err, &later):
		s.tooMany(w, r, time.Now(), later.Until)
		return
	case errors.Is(err, core.ErrAlreadyVerified):
		s.sessions.Put(r.Context(), "flash", "Your email address is verified already.")
	case err != nil:
		s.answerError(w, r, err)
		return
	default:
		s.sessions.Put(r.Context(), "flash", fmt.Sprintf("We sent a new link to %s. It works for %s.", u.Email, lifetime()))
	}
	http.Redirect(w, r, "/settings", http.StatusSeeOther)
}

// lifetime says how long a verification link works, in words.
func lifetime() string {
	return fmt.Sprintf("%d hours", int(core.EmailVerificationLifetime.Hours()))
}
