// Package api serves Starling's public REST API, compatible with the Mastodon client API
// so that existing Mastodon apps and libraries work unmodified, plus the OAuth 2.0 token
// endpoints. Handlers parse, call core (or oauth), and encode Mastodon entities; every rule
// lives in core, shared with the website. Differences from Mastodon are listed in
// docs/api.md.
package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/cache"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/metrics"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/problem"
	"github.com/starling-social/starling/internal/text"
)

// MaxBodyBytes bounds every API request body.
const MaxBodyBytes = 1 << 20

// Options are the API's dependencies.
type Options struct {
	Core  *core.Service
	OAuth *oauth.Service
	Hub   *live.Hub
	Log   *slog.Logger
	// BaseURL is the public URL of the site, used in entity URLs and Link headers.
	BaseURL string
	// SignupsOpen is reported by the instance endpoints.
	SignupsOpen bool
	// RateLimit limits requests per token (or per IP without one). Nil means no limit.
	RateLimit *httpx.Limiter
	// AppLimit, when set, limits app registrations (POST /api/v1/apps) per client
	// address, on top of RateLimit: each app is a row that stays. Nil means no limit.
	AppLimit *httpx.Limiter
	// Proxies are the reverse proxies whose X-Forwarded-For is believed.
	Proxies httpx.Proxies
	// Shed, when set, bounds the requests in progress (see httpx.Shed). It runs after the
	// rate limit, so a client over its allowance gets its 429 without waiting for a slot.
	Shed func(http.Handler) http.Handler
	// LoginLimits, when set, limit the password grant's attempts per client address and
	// per account and address (httpx.LoginLimits). Share them with the website's login
	// form, so that both ways to log in draw on one allowance. Nil means no limit.
	LoginLimits *httpx.LoginLimits
	// NoPasswordGrant turns off grant_type=password at /oauth/token. Defaults to false:
	// the grant is offered, as Mastodon offers it.
	NoPasswordGrant bool
	// WebSocketPing is how often /api/v1/streaming pings its clients: one that answers no
	// ping and sends nothing for two intervals is dropped, freeing its stream slot.
	// Defaults to 30 seconds.
	WebSocketPing time.Duration
}

// Server is the API's HTTP handler.
type Server struct {
	core    *core.Service
	oauth   *oauth.Service
	hub     *live.Hub
	log     *slog.Logger
	base    string
	open    bool
	router  *mux.Router
	limit   *httpx.Limiter
	apps    *httpx.Limiter
	proxies httpx.Proxies
	shed    func(http.Handler) http.Handler
	logins  *httpx.LoginLimits
	// grantTypes are the grant types /oauth/token accepts.
	grantTypes []string
	// wsPing is Options.WebSocketPing.
	wsPing time.Duration
	// tokens caches who each recently seen token stands for (see resolve).
	tokens *cache.Tokens[*caller]
}

// New returns the API.
func New(opts Options) *Server {
	s := &Server{core: opts.Core, oauth: opts.OAuth, hub: opts.Hub, log: opts.Log,
		base: strings.TrimRight(opts.BaseURL, "/"), open: opts.SignupsOpen, limit: opts.RateLimit, apps: opts.AppLimit, proxies: opts.Proxies, shed: opts.Shed,
		logins: opts.LoginLimits, grantTypes: []string{"authorization_code", "client_credentials"}, tokens: &cache.Tokens[*caller]{}}
	if !opts.NoPasswordGrant {
		s.grantTypes = append(s.grantTypes, "password")
	}
	s.wsPing = opts.WebSocketPing
	if s.wsPing <= 0 {
		s.wsPing = 30 * time.Second
	}
	s.router = s.routes()
	return s
}

// TokenCache returns how many token lookups the token cache answered and how many went to
// the database.
func (s *Server) TokenCache() (hits, misses int64) {
	return s.tokens.Hits.Load(), s.tokens.Misses.Load()
}

// Prefixes are the URL path prefixes the API owns; everything else belongs to the website.
var Prefixes = []string{"/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo/"}

// Owns reports whether path belongs to the API.
func Owns(path string) bool {
	for _, p := range Prefixes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// authorizePath is the website's consent page, which OAuth clients reach like an API path.
const authorizePath = "/oauth/authorize"

// Join serves the API's paths (see Owns) with rest and everything else with site. A path
// of the API or the consent page with trailing slashes is served as without them
// (/api/v1/instance/ as /api/v1/instance), as Mastodon does and several clients expect;
// it is rewritten, not redirected, so a POST keeps its body. The website's other paths
// are left alone.
func Join(site, rest http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = trimSlash(r)
		if Owns(r.URL.Path) {
			rest.ServeHTTP(w, r)
			return
		}
		site.ServeHTTP(w, r)
	})
}

// trimSlash returns r with the trailing slashes of its path removed when the path without
// them belongs to the API or is the consent page, and r itself otherwise.
func trimSlash(r *http.Request) *http.Request {
	p := strings.TrimRight(r.URL.Path, "/")
	if p == r.URL.Path || p == "" || !(Owns(p) || p == authorizePath) {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.URL = new(url.URL)
	*r2.URL = *r.URL
	r2.URL.Path = p
	r2.URL.RawPath = strings.TrimRight(r.URL.RawPath, "/")
	return r2
}

// Router exposes the route table (for the OpenAPI coverage test).
func (s *Server) Router() *mux.Router { return s.router }

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.Use(metrics.Routes)
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "Record not found")
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed")
	})
	get, post, del := http.MethodGet, http.MethodPost, http.MethodDelete
	h := func(path string, method string, f http.HandlerFunc) { r.HandleFunc(path, f).Methods(method) }

	// OAuth and apps.
	h("/api/v1/apps", post, s.appCreate)
	h("/api/v1/apps/verify_credentials", get, s.auth("", s.appVerify))
	h("/oauth/token", post, s.token)
	h("/oauth/revoke", post, s.revoke)
	h("/.well-known/oauth-authorization-server", get, s.oauthMetadata)

	// Accounts.
	h("/api/v1/accounts/verify_credentials", get, s.user("read:accounts", s.verifyCredentials))
	h("/api/v1/accounts/update_credentials", http.MethodPatch, s.user("write:accounts", s.updateCredentials))
	h("/api/v1/profile/avatar", del, s.user("write:accounts", s.profilePictureDelete))
	h("/api/v1/profile/header", del, s.user("write:accounts", s.profilePictureDelete))
	h("/api/v1/accounts/lookup", get, s.optional(s.accountLookup))
	h("/api/v1/accounts/relationships", get, s.user("read:follows", s.relationships))
	h("/api/v1/accounts/familiar_followers", get, s.user("read:follows", s.familiarFollowers))
	h("/api/v1/accounts/search", get, s.user("read:accounts", s.accountsSearch))
	h("/api/v1/accounts/{id}", get, s.optional(s.accountGet))
	h("/api/v1/accounts/{id}/statuses", get, s.optional(s.accountStatuses))
	h("/api/v1/accounts/{id}/followers", get, s.optional(s.accountFollowers))
	h("/api/v1/accounts/{id}/following", get, s.optional(s.accountFollowing))
	h("/api/v1/accounts/{id}/featured_tags", get, s.optional(s.accountFeaturedTags))
	h("/api/v1/accounts/{id}/follow", post, s.user("write:follows", s.accountFollow))
	h("/api/v1/accounts/{id}/unfollow", post, s.user("write:follows", s.accountUnfollow))
	h("/api/v1/follow_requests", get, s.user("read:follows", s.followRequests))
	h("/api/v1/follow_requests/{id}/authorize", post, s.user("write:follows", s.followRequestAnswer(true)))
	h("/api/v1/follow_requests/{id}/reject", post, s.user("write:follows", s.followRequestAnswer(false)))

	// Media (media.go).
	h("/api/v1/media", post, s.user("write:media", s.mediaCreate(true)))
	h("/api/v2/media", post, s.user("write:media", s.mediaCreate(false)))
	h("/api/v1/media/{id}", get, s.user("write:media", s.mediaGet))
	h("/api/v1/media/{id}", http.MethodPut, s.user("write:media", s.mediaUpdate))

	// Statuses and timelines.
	h("/api/v1/statuses", post, s.user("write:statuses", s.statusCreate))
	h("/api/v1/statuses/{id}", get, s.optional(s.statusGet))
	h("/api/v1/statuses/{id}/context", get, s.optional(s.statusContext))
	h("/api/v1/statuses/{id}", del, s.user("write:statuses", s.statusDelete))
	h("/api/v1/statuses/{id}", http.MethodPut, s.user("write:statuses", s.statusEdit))
	h("/api/v1/statuses/{id}/source", get, s.user("read:statuses", s.statusSource))
	h("/api/v1/statuses/{id}/history", get, s.optional(s.statusHistory))
	h("/api/v1/statuses/{id}/favourited_by", get, s.optional(s.statusFavouritedBy))
	h("/api/v1/statuses/{id}/reblogged_by", get, s.optional(s.statusRebloggedBy))
	h("/api/v1/statuses/{id}/favourite", post, s.user("write:favourites", s.statusFavourite))
	h("/api/v1/statuses/{id}/unfavourite", post, s.user("write:favourites", s.statusUnfavourite))
	h("/api/v1/statuses/{id}/reblog", post, s.user("write:statuses", s.statusReblog))
	h("/api/v1/statuses/{id}/unreblog", post, s.user("write:statuses", s.statusUnreblog))
	h("/api/v1/statuses/{id}/bookmark", post, s.user("write:bookmarks", s.statusBookmark))
	h("/api/v1/statuses/{id}/unbookmark", post, s.user("write:bookmarks", s.statusUnbookmark))
	h("/api/v1/statuses/{id}/pin", post, s.user("write:accounts", s.statusPin))
	h("/api/v1/statuses/{id}/unpin", post, s.user("write:accounts", s.statusUnpin))
	h("/api/v1/favourites", get, s.user("read:favourites", s.favourites))
	h("/api/v1/bookmarks", get, s.user("read:bookmarks", s.bookmarks))
	h("/api/v1/conversations", get, s.user("read:statuses", s.conversationList))
	h("/api/v1/conversations/{id}", del, s.user("write:conversations", s.conversationDelete))
	h("/api/v1/conversations/{id}/read", post, s.user("write:conversations", s.conversationRead))
	h("/api/v1/timelines/home", get, s.user("read:statuses", s.timelineHome))
	h("/api/v1/timelines/public", get, s.optional(s.timelinePublic))
	h("/api/v1/timelines/tag/{hashtag}", get, s.optional(s.timelineTag))

	// Search and hashtags (search.go, tags.go).
	h("/api/v2/search", get, s.optional(s.search))
	h("/api/v1/tags/{name}", get, s.optional(s.tagGet))
	h("/api/v1/tags/{name}/follow", post, s.user("write:follows", s.tagFollow))
	h("/api/v1/tags/{name}/unfollow", post, s.user("write:follows", s.tagUnfollow))
	h("/api/v1/followed_tags", get, s.user("read:follows", s.followedTags))
	h("/api/v1/featured_tags", get, s.user("read:accounts", s.featuredTags))
	h("/api/v1/featured_tags", post, s.user("write:accounts", s.featuredTagCreate))
	h("/api/v1/featured_tags/suggestions", get, s.user("read:accounts", s.featuredTagSuggestions))
	h("/api/v1/featured_tags/{id}", del, s.user("write:accounts", s.featuredTagDelete))
	h("/api/v1/trends", get, s.optional(s.trendingTags))
	h("/api/v1/trends/tags", get, s.optional(s.trendingTags))

	// Notifications.
	h("/api/v1/notifications", get, s.user("read:notifications", s.notifications))
	h("/api/v1/notifications/clear", post, s.user("write:notifications", s.notificationsClear))
	h("/api/v1/notifications/{id}", get, s.user("read:notifications", s.notificationGet))
	h("/api/v1/notifications/{id}/dismiss", post, s.user("write:notifications", s.notificationDismiss))

	// Markers and preferences.
	h("/api/v1/markers", get, s.user("read:statuses", s.markers))
	h("/api/v1/markers", post, s.user("write:statuses", s.markersSave))
	h("/api/v1/preferences", get, s.user("read:accounts", s.preferences))

	// Instance.
	h("/api/v1/instance", get, s.instanceV1)
	h("/api/v2/instance", get, s.instanceV2)
	h("/api/v1/custom_emojis", get, s.customEmojis)
	h("/api/v1/instance/rules", get, s.instanceRules)
	h("/api/v1/instance/extended_description", get, s.instanceExtendedDescription)
	h("/api/v1/instance/peers", get, s.instancePeers)
	h("/api/v1/instance/activity", get, s.instanceActivity)
	h("/.well-known/nodeinfo", get, s.nodeinfoIndex)
	h("/nodeinfo/2.0", get, s.nodeinfo)
	h("/nodeinfo/2.1", get, s.nodeinfo)
	h("/api/v1/starling/stats/daily", get, s.dailyStats)

	// Discovery of local accounts (webfinger.go).
	h("/.well-known/webfinger", get, s.webfinger)
	h("/.well-known/host-meta", get, s.hostMeta)

	// Collections of features not built yet: 200 [] until their issues (unbuilt.go).
	for _, u := range unbuilt {
		h(u.path, get, s.unbuiltHandler(u.public, u.scope))
	}

	// Streaming (Server-Sent Events).
	// The streams are marked (httpx.Stream) so that IsStream knows them.
	stream := func(path string, f http.HandlerFunc) { r.Handle(path, httpx.Stream(f)).Methods(get) }
	h("/api/v1/streaming/health", get, s.streamingHealth)
	stream("/api/v1/streaming", s.optional(s.streamWebSocket))
	stream("/api/v1/streaming/user", s.user("read:statuses", s.streamUser))
	stream("/api/v1/streaming/user/notification", s.user("read:notifications", s.streamNotifications))
	stream("/api/v1/streaming/direct", s.user("read:statuses", s.streamDirect))
	stream("/api/v1/streaming/public", s.optional(s.streamPublic))
	stream("/api/v1/streaming/public/local", s.optional(s.streamPublic))
	stream("/api/v1/streaming/hashtag", s.optional(s.streamHashtag))
	stream("/api/v1/streaming/hashtag/local", s.optional(s.streamHashtag))
	return r
}

// IsStream reports whether r is for one of the API's long-lived streams (its routes
// marked with httpx.Stream), which hold no database connection: Options.Shed does not
// count them.
func (s *Server) IsStream(r *http.Request) bool { return httpx.StreamRoute(s.router, r) }

// Handler returns the API with its middleware.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.router
	if s.shed != nil {
		shed := s.shed(s.router)
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if s.IsStream(r) {
				s.router.ServeHTTP(w, r)
				return
			}
			shed.ServeHTTP(w, r)
		})
	}
	h = refuseBadText(h)
	h = s.rateLimit(h)
	h = cors(h)
	h = s.limitBody(h)
	h = apiHeaders(h)
	h = httpx.Recover(s.log)(h)
	h = httpx.Log(s.log)(h)
	h = httpx.RequestID(h)
	return h
}

// limitBody bounds request bodies: MaxBodyBytes, or room for one upload on the routes
// that take one.
func (s *Server) limitBody(next http.Handler) http.Handler {
	small, large := httpx.LimitBody(MaxBodyBytes)(next), httpx.LimitBody(s.uploadBodyBytes())(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if uploadRoutes[r.URL.Path] {
			large.ServeHTTP(w, r)
			return
		}
		small.ServeHTTP(w, r)
	})
}

func apiHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// cors lets browser-based clients on other origins call the API with bearer tokens.
// No cookies are involved, so any origin may call.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "Link, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-ID")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, X-Request-ID")
			h.Set("Access-Control-Max-Age", "86400")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimit counts each request against its token when the token is valid, and against
// its client address otherwise (no token, or one that is unknown, revoked or made up, so
// that inventing tokens buys no allowance), and answers 429 with Retry-After when the
// window's allowance is used up. The token is looked up here, once: handlers reuse the
// lookup (see lookupToken).
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.limit == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions {
			next.ServeHTTP(w, r)
			return
		}
		key := "ip:" + s.proxies.ClientIP(r)
		if t := bearer(r); t != "" {
			c, err := s.resolve(r.Context(), t)
			r = r.WithContext(context.WithValue(r.Context(), lookupKey{}, &tokenLookup{caller: c, err: err}))
			if err == nil {
				key = "token:" + strconv.FormatInt(c.grant.TokenID, 10)
			}
		}
		if s.admit(w, key) {
			next.ServeHTTP(w, r)
		}
	})
}

// admit counts a request against key's allowance, sets the X-RateLimit headers and, when
// the allowance is used up, answers 429 and returns false.
func (s *Server) admit(w http.ResponseWriter, key string) bool {
	now := time.Now()
	ok, remaining, reset := s.limit.Allow(key, now)
	h := w.Header()
	h.Set("X-RateLimit-Limit", strconv.Itoa(s.limit.Limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Reset", reset.UTC().Format("2006-01-02T15:04:05.000Z"))
	if !ok {
		tooMany(w, now, reset, "Too many requests")
	}
	return ok
}

// AdmitAnonymous counts a request without a token that is answered before the API's
// middleware (from the page cache) against its address's allowance, as rateLimit would;
// it answers 429 itself and returns false when the allowance is used up.
func (s *Server) AdmitAnonymous(w http.ResponseWriter, r *http.Request) bool {
	if s.limit == nil {
		return true
	}
	return s.admit(w, "ip:"+s.proxies.ClientIP(r))
}

// refuseBadText answers 400 for a request whose path or query is not text (see
// httpx.BadText), before any handler puts it in a query.
func refuseBadText(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bad := httpx.BadText(r.URL.Path, r.URL.Query()); bad != "" {
			writeError(w, http.StatusBadRequest, bad+" "+text.NotStorable)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "Internal server error")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

// tooMany answers 429 with msg and Retry-After: a limit refused the request until reset.
func tooMany(w http.ResponseWriter, now, reset time.Time, msg string) {
	p := problem.TooManyUntil(now, reset)
	p.SetHeaders(w.Header())
	writeError(w, p.Status, msg)
}

// writeError writes Mastodon's error entity.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// answerError answers for err, whatever it is, through the one error map (problem.Of):
// core's not found, forbidden, validation and rate-limit errors as the client's mistake;
// 400 for text Postgres refused, 503 with Retry-After while the database is unreachable,
// and otherwise a 500 that is logged with the request id and reveals nothing.
func (s *Server) answerError(w http.ResponseWriter, r *http.Request, err error) {
	s.problem(w, r, problem.Of(err))
}

// problem answers p as Mastodon's error entity, logging what the client is not told.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, p problem.Problem) {
	p.SetHeaders(w.Header())
	switch p.Kind {
	case problem.NotFound:
		writeError(w, p.Status, "Record not found")
	case problem.Forbidden:
		writeError(w, p.Status, "This action is not allowed")
	case problem.Invalid:
		writeValidation(w, p.Fields)
	case problem.TooLarge:
		writeError(w, p.Status, "File too large: "+strings.TrimPrefix(p.Err.Error(), core.ErrTooLarge.Error()+": "))
	case problem.TooMany:
		if p.What != "" {
			writeError(w, p.Status, "Too many "+p.What+"; wait a little and try again")
			return
		}
		writeError(w, p.Status, "Too many requests")
	case problem.Canceled:
	case problem.InvalidText: // every handler should have refused it: say so in the log
		s.log.WarnContext(r.Context(), "api request carried text Postgres refused", "method", r.Method, "path", r.URL.Path, "err", p.Err)
		writeError(w, p.Status, "A value of the request "+text.NotStorable)
	case problem.Unavailable:
		s.log.WarnContext(r.Context(), "api request failed: database unavailable", "method", r.Method, "path", r.URL.Path, "err", p.Err)
		writeError(w, p.Status, "The service is briefly unavailable; try again in a moment")
	default:
		s.log.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", p.Err)
		writeError(w, p.Status, "Internal server error")
	}
}

// cacheable are the read endpoints whose anonymous answers are the same for every
// anonymous caller, so that internal/cache may keep them (see Cacheable).
var cacheable = regexp.MustCompile(`^/api/(v1/timelines/public|v1/timelines/tag/[^/]+|v1/statuses/[0-9]+(/context)?|v1/accounts/[0-9]+(/statuses)?|v[12]/instance)$`)

// Cacheable reports whether the answer to r, when it is anonymous (cache.Anonymous), is
// the same for every anonymous caller: a public timeline, a post, an account, the
// instance.
func Cacheable(r *http.Request) bool { return cacheable.MatchString(r.URL.Path) }
