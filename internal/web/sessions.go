package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starling-social/starling/internal/problem"
)

// hashedStore keeps sessions in Postgres under the SHA-256 of their token, so that the
// sessions table alone (a backup, a read-only leak) cannot be used to take over a login.
type hashedStore struct {
	inner *pgxstore.PostgresStore
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s hashedStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s hashedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s hashedStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

func (s hashedStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	return s.inner.FindCtx(ctx, hashToken(token))
}

func (s hashedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.inner.CommitCtx(ctx, hashToken(token), b, expiry)
}

func (s hashedStore) DeleteCtx(ctx context.Context, token string) error {
	if token == "" { // a visitor without a session: there is no row to delete
		return nil
	}
	return s.inner.DeleteCtx(ctx, hashToken(token))
}

// NewSessions returns a session manager that stores sessions in Postgres. Cookies are
// HttpOnly and SameSite=Lax, and Secure when secure is true. Call the returned stop
// function on shutdown to end the expired-session cleanup.
func NewSessions(pool *pgxpool.Pool, lifetime time.Duration, secure bool) (*scs.SessionManager, func()) {
	inner := pgxstore.NewWithCleanupInterval(pool, 10*time.Minute)
	sm := scs.New()
	sm.Store = hashedStore{inner: inner}
	sm.Lifetime = lifetime
	sm.IdleTimeout = 0
	sm.Cookie.Name = "starling_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Secure = secure
	sm.Cookie.Persist = true
	sm.Cookie.Path = "/"
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		if p := problem.Of(err); p.Kind == problem.Unavailable {
			slog.WarnContext(r.Context(), "session store unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
			unavailable(w, p)
			return
		}
		slog.ErrorContext(r.Context(), "session store failed", "method", r.Method, "path", r.URL.Path, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
	}
	return sm, inner.StopCleanup
}

// goneFlashCookie carries the message shown after logging out. The visitor has no session
// any more, and a session made only to carry a message would store a row for an anonymous
// visitor; so the cookie holds a key of goneFlashes, never text, and lives a minute.
const goneFlashCookie = "starling_flash"

var goneFlashes = map[string]string{
	"logged-out":            "You are logged out.",
	"logged-out-everywhere": "You are logged out everywhere, and every app's access is revoked.",
	"email-verified":        "Your email address is verified. Log in to see your settings.",
}

// flashGone leaves the message goneFlashes[key] for the next page of a visitor whose
// session just ended.
func (s *Server) flashGone(w http.ResponseWriter, key string) {
	http.SetCookie(w, &http.Cookie{Name: goneFlashCookie, Value: key, Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.sessions.Cookie.Secure})
}

// popGoneFlash returns the message flashGone left, or "", and clears it.
func (s *Server) popGoneFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(goneFlashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: goneFlashCookie, Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.sessions.Cookie.Secure})
	return goneFlashes[c.Value]
}

// unavailable answers p, a problem.Unavailable, with Retry-After: the database is briefly
// out of reach.
func unavailable(w http.ResponseWriter, p problem.Problem) {
	p.SetHeaders(w.Header())
	http.Error(w, "Starling is briefly unavailable. Please try again in a moment.", p.Status)
}
