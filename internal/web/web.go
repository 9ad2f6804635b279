// Package web serves Starling's website: server-rendered pages for reading, posting,
// following and accounts. Handlers parse the request, call core, and render; they hold no
// SQL and no business rules.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/metrics"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/problem"
)

// MaxFormBytes bounds the body of every form post.
const MaxFormBytes = 64 << 10

// Options are the dependencies of the website.
type Options struct {
	Core     *core.Service
	Sessions *scs.SessionManager
	Log      *slog.Logger
	// OAuth is the authorization server behind /oauth/authorize and the token settings.
	// Optional: without it those pages do not exist.
	OAuth *oauth.Service
	// Limits turns on the abuse limits of login, signup, posting and following (429 +
	// Retry-After).
	Limits bool
	// LoginLimits, with Limits, are the allowances of logins and current-password checks,
	// shared with the API's password grant. Nil means allowances of the website's own
	// (httpx.NewLoginLimits).
	LoginLimits *httpx.LoginLimits
	// Proxies are the reverse proxies whose X-Forwarded-For is believed.
	Proxies httpx.Proxies
	// Hub serves the live /events stream. Optional: without it there is no /events.
	Hub *live.Hub
	// RiverUI is the River job dashboard, mounted at /admin/river for admins. Optional.
	RiverUI http.Handler
	// Metrics, when set, is served at /metrics to administrators only (see
	// metricsForAdmins). Optional: without it there is no /metrics here.
	Metrics http.Handler
	// Ready reports whether the process can serve traffic (database reachable, schema
	// current). Used by /readyz.
	Ready func(ctx context.Context) error
}

// Server is the website's HTTP handler.
type Server struct {
	core     *core.Service
	sessions *scs.SessionManager
	log      *slog.Logger
	ready    func(ctx context.Context) error
	pages    *pages
	riverUI  http.Handler
	metrics  http.Handler
	hub      *live.Hub
	oauth    *oauth.Service
	// streams is the route table IsStream matches against.
	streams  *mux.Router
	draining atomic.Bool
	limits   *webLimits
	proxies  httpx.Proxies
}

// webLimits are the website's abuse limits, per process.
type webLimits struct {
	login *httpx.LoginLimits
	// signupIP counts the accounts made from an address, signupAttemptsIP every signup
	// form sent from it: a team signing up from one office network makes a few accounts
	// and a few mistakes, a script makes thousands of attempts.
	signupIP, signupAttemptsIP *httpx.Limiter
	// followUser counts an account's follows and unfollows together: each writes an
	// event that every live hub reads.
	followUser *httpx.Limiter
}

func newWebLimits() *webLimits {
	return &webLimits{
		login:            httpx.NewLoginLimits(),
		signupIP:         &httpx.Limiter{Limit: 50, Window: time.Hour},
		signupAttemptsIP: &httpx.Limiter{Limit: 200, Window: time.Hour},

		followUser: &httpx.Limiter{Limit: 30, Window: time.Minute},
	}
}

// allow counts a request against l for key; over the limit it answers 429 with
// Retry-After itself and returns false.
func (s *Server) allow(w http.ResponseWriter, r *http.Request, l *httpx.Limiter, key string) bool {
	if s.limits == nil {
		return true
	}
	now := time.Now()
	ok, _, reset := l.Allow(key, now)
	if ok {
		return true
	}
	s.tooMany(w, r, now, reset)
	return false
}

// tooMany answers 429 with Retry-After: a limit refused the request until reset.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, now, reset time.Time) {
	s.problem(w, r, problem.TooManyUntil(now, reset))
}

// Drain makes /readyz answer 503 so that load balancers stop sending new requests: the
// first step of a graceful shutdown.
func (s *Server) Drain() { s.draining.Store(true) }

// New returns the website built from opts.
func New(opts Options) (*Server, error) {
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	srv := &Server{core: opts.Core, sessions: opts.Sessions, log: opts.Log, ready: opts.Ready, pages: p, riverUI: opts.RiverUI, hub: opts.Hub, oauth: opts.OAuth, proxies: opts.Proxies}
	srv.metrics = opts.Metrics
	if opts.Limits {
		srv.limits = newWebLimits()
		if opts.LoginLimits != nil {
			srv.limits.login = opts.LoginLimits
		}
	}
	srv.streams = srv.Routes()
	return srv, nil
}

// IsStream reports whether r is for one of the website's long-lived streams (its routes
// marked with httpx.Stream), which hold no database connection and so are exempt from
// load shedding.
func (s *Server) IsStream(r *http.Request) bool { return httpx.StreamRoute(s.streams, r) }

// Routes returns the website's route table without its middleware, for tests that walk
// every route; Handler serves it.
func (s *Server) Routes() *mux.Router {
	r := mux.NewRouter()
	r.Use(metrics.Routes)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.notFound(w, r)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.clientError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This address does not accept that kind of request.")
	})

	r.HandleFunc("/healthz", s.healthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.readyz).Methods(http.MethodGet, http.MethodHead)
	r.PathPrefix("/static/").Handler(staticHandler())
	r.Handle("/favicon.ico", favicon()).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/avatars/{id:[0-9]+}-v{version:[0-9]+}.png", defaultAvatar).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/media/{id:[0-9]+}/{file}", s.serveMedia).Methods(http.MethodGet, http.MethodHead)

	r.HandleFunc("/", s.readable(s.publicTimeline)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/home", s.requireUser(s.homeTimeline)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/signup", s.signupForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/signup", s.signup).Methods(http.MethodPost)
	r.HandleFunc("/login", s.loginForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/login", s.login).Methods(http.MethodPost)
	r.HandleFunc("/logout", s.logout).Methods(http.MethodPost)
	r.HandleFunc("/posts", s.requireUser(s.postCreate)).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}", s.readable(s.postShow)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/posts/{id:[0-9]+}/delete", s.requireUser(s.postDeleteForm)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/posts/{id:[0-9]+}/delete", s.requireUser(s.postDelete)).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/edit", s.requireUser(s.postEditForm)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/posts/{id:[0-9]+}/edit", s.requireUser(s.postEdit)).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/favourite", s.requireUser(s.postAction(s.core.Favourite))).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/unfavourite", s.requireUser(s.postAction(s.core.Unfavourite))).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/reblog", s.requireUser(s.postReblog)).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/unreblog", s.requireUser(s.postAction(s.core.Unreblog))).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/bookmark", s.requireUser(s.postAction(s.core.Bookmark))).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/unbookmark", s.requireUser(s.postAction(s.core.Unbookmark))).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/pin", s.requireUser(s.postAction(s.core.Pin))).Methods(http.MethodPost)
	r.HandleFunc("/posts/{id:[0-9]+}/unpin", s.requireUser(s.postAction(s.core.Unpin))).Methods(http.MethodPost)
	r.HandleFunc("/notifications", s.requireUser(s.notifications)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/notifications/read", s.requireUser(s.notificationsRead)).Methods(http.MethodPost)
	r.HandleFunc("/follow_requests", s.requireUser(s.followRequests)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/follow_requests/{id:[0-9]+}/authorize", s.requireUser(s.followRequestAnswer(true))).Methods(http.MethodPost)
	r.HandleFunc("/follow_requests/{id:[0-9]+}/reject", s.requireUser(s.followRequestAnswer(false))).Methods(http.MethodPost)
	r.HandleFunc("/settings", s.requireUser(s.settingsForm)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/settings", s.requireUser(s.settings)).Methods(http.MethodPost)
	r.HandleFunc("/settings/profile", s.requireUser(s.profileSettings)).Methods(http.MethodPost)
	r.HandleFunc("/settings/password", s.requireUser(s.passwordChange)).Methods(http.MethodPost)
	r.HandleFunc("/settings/logout-everywhere", s.requireUser(s.logoutEverywhere)).Methods(http.MethodPost)
	r.HandleFunc("/settings/email", s.requireUser(s.emailChange)).Methods(http.MethodPost)
	r.HandleFunc("/settings/email/verify", s.requireUser(s.emailVerificationResend)).Methods(http.MethodPost)
	r.HandleFunc("/verify-email", s.verifyEmailForm).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/verify-email", s.verifyEmail).Methods(http.MethodPost)
	r.HandleFunc("/stats", s.readable(s.stats)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/search", s.readable(s.searchPage)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/directory", s.readable(s.directory)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/tags/{tag}", s.readable(s.tagPage)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/tags/{tag}/follow", s.requireUser(s.tagAction(followTag))).Methods(http.MethodPost)
	r.HandleFunc("/tags/{tag}/unfollow", s.requireUser(s.tagAction(unfollowTag))).Methods(http.MethodPost)
	r.HandleFunc("/tags/{tag}/feature", s.requireUser(s.tagAction(featureTag))).Methods(http.MethodPost)
	r.HandleFunc("/tags/{tag}/unfeature", s.requireUser(s.tagAction(unfeatureTag))).Methods(http.MethodPost)
	if s.oauth != nil {
		r.HandleFunc("/oauth/authorize", s.oauthAuthorize).Methods(http.MethodGet, http.MethodPost)
		r.HandleFunc("/settings/tokens", s.requireUser(s.tokenCreate)).Methods(http.MethodPost)
		r.HandleFunc("/settings/tokens/{id:[0-9]+}/revoke", s.requireUser(s.tokenRevoke)).Methods(http.MethodPost)
	}
	if s.hub != nil {
		r.Handle("/events", httpx.Stream(s.readable(s.liveEvents))).Methods(http.MethodGet)
	}
	r.Handle("/admin", s.requireAdmin(http.HandlerFunc(s.admin))).Methods(http.MethodGet, http.MethodHead)
	if s.riverUI != nil {
		r.PathPrefix("/admin/river").Handler(s.requireAdmin(s.riverUI))
	}
	if s.metrics != nil {
		r.Handle("/metrics", s.metricsForAdmins(s.metrics)).Methods(http.MethodGet, http.MethodHead)
	}
	r.HandleFunc("/@{username}", s.readable(s.userTimeline)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/@{username}/followers", s.readable(s.followList(true))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/@{username}/following", s.readable(s.followList(false))).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/@{username}/follow", s.requireUser(s.follow)).Methods(http.MethodPost)
	r.HandleFunc("/@{username}/unfollow", s.requireUser(s.unfollow)).Methods(http.MethodPost)
	return r
}

// Handler returns every route of the website with its middleware.
func (s *Server) Handler() http.Handler {
	r := s.Routes()
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.clientError(w, r, http.StatusForbidden, "Request refused",
			"This form was sent from another site, so it was not accepted.")
	}))

	var h http.Handler = r
	h = s.refuseBadText(h)
	h = s.loadUser(h)
	h = csrf.Handler(h)
	h = s.sessions.LoadAndSave(h)
	h = s.limitBody(h)
	h = keepOpener(h)
	h = httpx.SecureHeaders(h)
	h = httpx.Recover(s.log)(h)
	h = s.mediaFastPath(h)
	h = httpx.Log(s.log)(h)
	h = httpx.RequestID(h)
	return h
}

// mediaFastPath serves a picture to a request without a session cookie (an image loader,
// an anonymous reader) without the layers only pages and forms need (the session, the
// user, the cross-origin check, the body bound, the pages' security headers: the picture
// sets its own): who may see it is core.ServeMedia's, for nobody or a signed address. A
// request with a session, or for any other address, takes the whole chain, full.
func (s *Server) mediaFastPath(full http.Handler) http.Handler {
	r := mux.NewRouter()
	r.Use(metrics.Routes)
	r.HandleFunc("/media/{id:[0-9]+}/{file}", s.serveMedia).Methods(http.MethodGet, http.MethodHead)
	r.NotFoundHandler, r.MethodNotAllowedHandler = full, full
	fast := httpx.Recover(s.log)(r)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/media/") {
			if _, err := req.Cookie(s.sessions.Cookie.Name); err != nil {
				fast.ServeHTTP(w, req)
				return
			}
		}
		full.ServeHTTP(w, req)
	})
}

// limitBody bounds request bodies: MaxFormBytes, or room for a post's pictures on the
// forms that take them when they come as multipart.
func (s *Server) limitBody(next http.Handler) http.Handler {
	maxFile := s.core.MediaLimits().MaxBytes
	small := httpx.LimitBody(MaxFormBytes)(next)
	compose := httpx.LimitBody(core.MaxMediaPerPost*maxFile + MaxFormBytes)(next)
	profile := httpx.LimitBody(2*maxFile + MaxFormBytes)(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		multipart := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
		switch {
		case !multipart: // only a multipart form carries files
			small.ServeHTTP(w, r)
		case r.URL.Path == "/posts" && r.Method == http.MethodPost:
			compose.ServeHTTP(w, r)
		case r.URL.Path == "/settings/profile" && r.Method == http.MethodPost:
			profile.ServeHTTP(w, r)
		default:
			small.ServeHTTP(w, r)
		}
	})
}

// HealthHandler serves only /healthz and /readyz: what a worker process exposes.
func (s *Server) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	return httpx.RequestID(mux)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("shutting down\n"))
		return
	}
	if err := s.ready(ctx); err != nil {
		s.log.WarnContext(ctx, "not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not ready\n"))
		return
	}
	w.Write([]byte("ready\n"))
}

// cacheable are the pages whose answer to a visitor without a session is the same for
// every such visitor, so that internal/cache may keep them (see Cacheable).
var cacheable = regexp.MustCompile(`^(/|/posts/[0-9]+|/@[^/]+|/tags/[^/]+)$`)

// Cacheable reports whether the answer to r, when it carries no cookie
// (cache.Anonymous), is the same for every such visitor: the public timeline, a post, a
// profile, a tag.
func Cacheable(r *http.Request) bool { return cacheable.MatchString(r.URL.Path) }
