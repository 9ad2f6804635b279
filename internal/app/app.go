package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"riverqueue.com/riverui"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/cache"
	"github.com/starling-social/starling/internal/config"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/jobs"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/media"
	"github.com/starling-social/starling/internal/metrics"
	"github.com/starling-social/starling/internal/migrate"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/web"
)

// Role is what a process does: serve the website and API, work jobs, or both.
type Role string

// The roles of `starling all`, `starling serve` and `starling work`.
const (
	RoleAll   Role = "all"
	RoleServe Role = "serve"
	RoleWork  Role = "work"
)

// serves reports whether the role answers website and API requests.
func (r Role) serves() bool { return r != RoleWork }

// works reports whether the role works jobs.
func (r Role) works() bool { return r != RoleServe }

// Options are what varies between one App and another: the configuration, and the few
// knobs tests turn that the configuration does not hold. The zero value of every field
// but Config means what production uses.
type Options struct {
	// Config is the validated configuration.
	Config config.Config
	// Role is what the process does. Defaults to RoleAll.
	Role Role
	// Log receives every log line. Defaults to slog.Default().
	Log *slog.Logger
	// Mail sends the emails. Defaults to SMTP at Config.SMTPURL, or .eml files under
	// Config.DataDir/mail when it is empty.
	Mail mail.Sender
	// JobRetryBase and JobRetryMax are the retry delays of failed jobs (jobs.Config).
	// Default to the jobs package's.
	JobRetryBase, JobRetryMax time.Duration
	// InstanceCountsMaxAge is how long the instance's figures are cached
	// (core.Options). Defaults to core's.
	InstanceCountsMaxAge time.Duration
	// HubPoll is the live hub's fallback read interval (live.Options.Poll). Defaults to
	// the hub's.
	HubPoll time.Duration
	// OAuthNow, when set, is the authorization server's clock, for expiry tests.
	// Defaults to time.Now.
	OAuthNow func() time.Time
	// API, when set, adjusts the API's options after Build has set them from the
	// configuration. It runs before Site.
	API func(*api.Options)
	// Site, when set, adjusts the website's options after Build has set them from the
	// configuration.
	Site func(*web.Options)
	// PostLimit, when set, is each account's posting allowance instead of the one the
	// configuration implies (postsPerMinute, or none when rate limits are off).
	PostLimit *httpx.Limiter
}

// postLimit is the posting allowance per account, whether it posts through the website
// or the API: core counts every post against it.
func postLimit(cfg config.Config, opts Options) *httpx.Limiter {
	if opts.PostLimit != nil {
		return opts.PostLimit
	}
	if cfg.RateLimit.Off() {
		return nil
	}
	return &httpx.Limiter{Limit: postsPerMinute, Window: time.Minute}
}

// allowance hands l to core, keeping "no limit" a nil interface (a nil *Limiter inside
// the interface would not be).
func allowance(l *httpx.Limiter) core.Allowance {
	if l == nil {
		return nil
	}
	return l
}

// App is one built process. Build has started its background services; the caller
// serves Handler (and PrivateHandler, when set) and stops the App with Drain, then its
// HTTP servers' Shutdown, then Close.
type App struct {
	// Handler serves the main address: the website and the API, or, for RoleWork, the
	// health checks (and /metrics without a private metrics address).
	Handler http.Handler
	// PrivateHandler serves Config.MetricsListen: /metrics and Go's profiler. Nil when
	// that address is not set.
	PrivateHandler http.Handler
	// Core is the domain service. Its writes enqueue through the insert-only client.
	Core *core.Service
	// OAuth is the authorization server.
	OAuth *oauth.Service
	// API is the Mastodon-compatible API.
	API *api.Server
	// Site is the website.
	Site *web.Server
	// Hub fans events out to live streams. Nil for RoleWork.
	Hub *live.Hub
	// Pages is the cache of anonymous pages in front of Handler.
	Pages *cache.Responses
	// Metrics holds the process's figures.
	Metrics *metrics.Metrics

	log      *slog.Logger
	runner   *jobs.Runner
	notifier *events.Notifier
	stopBg   context.CancelFunc
	stopSess func()
}

// Policy figures: the same for every process, so they live here rather than in the
// configuration.
const (
	// postsPerMinute is each account's posting allowance, whether it posts through the
	// website or the API.
	postsPerMinute = 30
	// shedFactor times the pool size is how many requests may run at once, and as many
	// more may wait for a slot, before the server answers 503.
	shedFactor = 4
	// shedWait is how long a request may wait for a slot.
	shedWait = time.Second
)

// Build builds the process for opts on pool (dsn is the same database, for the live
// hub's LISTEN connection, which is taken out of the pool's reach) and starts its
// background services: the notifier, the hub and its listener, the workers (for a role
// that works) and the River dashboard. They run until Close, not until ctx is done; ctx
// bounds only the start.
func Build(ctx context.Context, pool *pgxpool.Pool, dsn string, opts Options) (a *App, err error) {
	cfg := opts.Config
	role := opts.Role
	if role == "" {
		role = RoleAll
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	a = &App{log: log}
	// Background services outlive ctx so that Close can stop them in order.
	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	a.stopBg = stopBg
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()

	m := metrics.New()
	m.Pool(pool)
	a.Metrics = m
	sender := opts.Mail
	if sender == nil {
		if sender, err = mailSender(cfg, log); err != nil {
			return nil, err
		}
	}
	// Two River clients: writes enqueue through an insert-only client whose in-transaction
	// NOTIFY is rare (see docs/live.md); the workers, when this process has them, fetch
	// with their own client.
	inserter, err := jobs.New(pool, jobs.Config{Log: log})
	if err != nil {
		return nil, err
	}
	runner, err := jobs.New(pool, jobs.Config{
		Work: role.works(), Mail: sender, MailFrom: cfg.From(), BaseURL: cfg.BaseURL, Log: log,
		OnEmail: m.Email, EventRetention: cfg.EventRetention, RescueAfter: cfg.JobRescueAfter,
		MentionEmailBound: core.MentionEmailBound{Limit: cfg.MentionEmailLimit.N, Window: cfg.MentionEmailLimit.Per},
		RetryBase:         opts.JobRetryBase, RetryMax: opts.JobRetryMax,
		Pipeline: jobs.PipelineConfig{OnBatch: m.ConsumerBatch},
	})
	if err != nil {
		return nil, err
	}
	if role.works() {
		runner.Observe(bg, m.Job)
	}
	// The wake-up NOTIFY after each committed write, coalesced per process.
	a.notifier = events.NewNotifier(pool, cfg.NotifyWindow, log)
	go a.notifier.Run(bg)
	// The API, once built, for the hub's invalidations (the hub starts before it).
	var apiServer atomic.Pointer[api.Server]
	// Anonymous pages, kept until the event log says they changed (at most a second).
	pages := &cache.Responses{Stamp: func(w http.ResponseWriter, r *http.Request) { httpx.StampRequestID(w, r) }, Cacheable: func(r *http.Request) bool {
		if api.Owns(r.URL.Path) {
			return api.Cacheable(r)
		}
		return web.Cacheable(r)
	}}
	a.Pages = pages
	svc := core.New(pool, core.Options{
		Jobs: inserter.Client,
		Wake: a.notifier.Wake,
		OnEvent: func(topic string) {
			m.EventWritten(topic)
			wrote(topic, pages, apiServer.Load())
		},
		MentionEmailDelay: cfg.MentionEmailDelay,
		Password: password.Params{
			MemoryKiB:  uint32(cfg.PasswordMemoryKiB),
			Iterations: uint32(cfg.PasswordIterations),
		},
		SignupsOpen:          cfg.SignupsOpen,
		MembersOnly:          cfg.MembersOnly,
		MediaDir:             cfg.MediaDir,
		MediaLimits:          media.Limits{MaxBytes: int64(cfg.MediaMaxBytes), MaxPixels: int64(cfg.MediaMaxPixels)},
		PostLimit:            allowance(postLimit(cfg, opts)),
		InstanceCountsMaxAge: opts.InstanceCountsMaxAge,
		Log:                  log,
	})
	a.Core = svc
	runner.Bind(svc)
	var hub *live.Hub
	if role.serves() {
		hub = live.NewHub(events.NewReader(pool), svc, log, live.Options{Observe: m.Fanout, Poll: opts.HubPoll,
			MaxStreamsPerIP: cfg.MaxStreamsPerIP, MaxStreamsPerUser: cfg.MaxStreamsPerUser,
			OnRead: func(recs []events.Record) { invalidate(recs, pages, apiServer.Load()) }})
		m.CounterFunc("starling_page_cache_hits_total", "Anonymous requests answered from the page cache.", func() float64 { return float64(pages.Hits.Load()) })
		m.CounterFunc("starling_page_cache_misses_total", "Anonymous cacheable requests computed by their handler.", func() float64 { return float64(pages.Misses.Load()) })
		m.CounterFunc("starling_page_cache_invalidations_total", "Times the page cache was emptied by an event.", func() float64 { return float64(pages.Invalidations.Load()) })
		go hub.Run(bg)
		m.StreamClients(hub.SubscribersByKind)
		m.GaugeFunc("starling_events_delivered_id", "Id of the last event this process's hub fanned out.",
			func() float64 { return float64(hub.Head().ID) })
	}
	a.Hub = hub
	// The process's one LISTEN connection wakes its hub's streams and its consumer runs.
	go live.NewListener(dsn, func() {
		if hub != nil {
			hub.Kick()
		}
		runner.Kick()
	}, log).Run(bg)
	m.Pipeline(func(ctx context.Context) ([]metrics.ConsumerLag, []metrics.QueueDepth, error) {
		return pipelineStatus(ctx, svc)
	})
	m.GaugeFunc("starling_events_head_id", "Id of the newest readable event in the log.", func() float64 {
		qctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		head, err := events.Head(qctx, store.New(pool))
		if err != nil {
			return -1
		}
		return float64(head.ID)
	})
	if err := runner.Start(bg); err != nil {
		return nil, fmt.Errorf("workers: %w", err)
	}
	a.runner = runner
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(runner.Client, nil),
		Logger:    slog.New(logging.ContextHandler{Handler: log.Handler()}),
		Prefix:    "/admin/river",
	})
	if err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	if err := ui.Start(bg); err != nil {
		return nil, fmt.Errorf("river ui: %w", err)
	}
	sessions, stopSessions := web.NewSessions(pool, cfg.SessionLifetime, cfg.SecureCookies())
	a.stopSess = stopSessions
	authz := oauth.New(pool)
	authz.AllowHTTPRedirects = cfg.OAuthAllowHTTPRedirects
	authz.Wake = func(id int64) { // its only events are token.revoked
		a.notifier.Wake(id)
		wrote(events.TopicTokenRevoked, pages, apiServer.Load())
	}
	if opts.OAuthNow != nil {
		authz.Now = opts.OAuthNow
	}
	a.OAuth = authz

	proxies, rateLimit, appLimit := limits(cfg)
	// One posting allowance per account, whether it posts through the website or the API,
	// and one login allowance, whether by the login form or the password grant.
	var loginLimits *httpx.LoginLimits
	if rateLimit != nil {
		loginLimits = httpx.NewLoginLimits()
	}
	// Shed load quickly when the database pool is saturated, rather than queueing. Streams
	// are exempt: they hold no connection. Each surface names its own streams (its routes
	// marked with httpx.Stream), so the website exempts its own before the shed and the
	// API its own after its rate limit.
	var site *web.Server
	shed := httpx.Shed(shedFactor*cfg.DBMaxConns, shedFactor*cfg.DBMaxConns, shedWait,
		func(r *http.Request) bool { return site.IsStream(r) })
	apiOpts := api.Options{Core: svc, OAuth: authz, Hub: hub, Log: log, BaseURL: cfg.BaseURL,
		SignupsOpen: cfg.SignupsOpen, RateLimit: rateLimit, Proxies: proxies, Shed: shed,
		LoginLimits: loginLimits, NoPasswordGrant: !cfg.OAuthPasswordGrant, AppLimit: appLimit}
	// Without a private metrics address, /metrics on the main one answers administrators
	// only (an admin's session or personal token): the figures are not for everyone.
	var adminMetrics http.Handler
	if cfg.MetricsListen == "" {
		adminMetrics = m.Handler()
	}
	siteOpts := web.Options{
		Core: svc, Sessions: sessions, Log: log, RiverUI: ui, Hub: hub, OAuth: authz, Metrics: adminMetrics,
		Limits: rateLimit != nil, LoginLimits: loginLimits, Proxies: proxies,
		Ready: func(ctx context.Context) error { return ready(ctx, pool) },
	}
	if opts.API != nil {
		opts.API(&apiOpts)
	}
	if opts.Site != nil {
		opts.Site(&siteOpts)
	}
	if site, err = web.New(siteOpts); err != nil {
		return nil, err
	}
	a.Site = site
	a.API = api.New(apiOpts)
	apiServer.Store(a.API)
	pages.Admit = func(w http.ResponseWriter, r *http.Request) bool {
		return !api.Owns(r.URL.Path) || a.API.AdmitAnonymous(w, r)
	}

	switch {
	case role.serves():
		// The page cache answers before tracing and metrics: a hit costs a map lookup and a
		// write, and is counted by the cache's own counters.
		a.Handler = pages.Handler(otelhttp.NewHandler(m.HTTP(api.Join(shed(site.Handler()), a.API.Handler())), "http",
			otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/metrics" })))
	case cfg.MetricsListen == "":
		// A worker's one address serves nobody but the operator: health checks and metrics.
		a.Handler = withMetrics(site.HealthHandler(), m.Handler())
	default:
		a.Handler = site.HealthHandler()
	}
	if cfg.MetricsListen != "" {
		a.PrivateHandler = privateHandler(m.Handler())
	}
	return a, nil
}

// Drain is the first step of a graceful stop, before the HTTP servers shut down: /readyz
// turns false and live streams end with a final "reconnect" event.
func (a *App) Drain() {
	if a.Site != nil {
		a.Site.Drain()
	}
	if a.Hub != nil {
		a.Hub.Shutdown()
		a.Hub.WaitDetached(2 * time.Second)
	}
}

// Close is the last step of a graceful stop, after the HTTP servers have shut down: the
// workers stop fetching and finish their running jobs (until ctx is done; unfinished jobs
// are retried later), then the background services and the session cleaner stop. The
// pool stays open: it is the caller's.
func (a *App) Close(ctx context.Context) {
	if a.runner != nil {
		if err := a.runner.Stop(ctx); err != nil {
			a.log.Warn("workers did not stop cleanly; unfinished jobs will be retried", "err", err)
		}
	}
	a.stopBg()
	if a.notifier != nil {
		a.notifier.Close()
	}
	if a.stopSess != nil {
		a.stopSess()
	}
}

// limits returns the trusted proxies and the API's request and app-registration
// allowances (nil: no limit; RateLimit off turns both off).
func limits(cfg config.Config) (httpx.Proxies, *httpx.Limiter, *httpx.Limiter) {
	rate := limiter(cfg.RateLimit)
	var apps *httpx.Limiter
	if rate != nil {
		apps = limiter(cfg.AppRegistrationLimit)
	}
	return httpx.Proxies(cfg.TrustedProxies), rate, apps
}

// limiter returns a limiter for r, or nil when r is off.
func limiter(r config.Rate) *httpx.Limiter {
	if r.Off() {
		return nil
	}
	return &httpx.Limiter{Limit: r.N, Window: r.Per}
}

// mailSender returns the SMTP sender when SMTP_URL is set, else the .eml directory.
func mailSender(cfg config.Config, log *slog.Logger) (mail.Sender, error) {
	if cfg.SMTPURL != "" {
		return mail.NewSMTP(cfg.SMTPURL)
	}
	dir := filepath.Join(cfg.DataDir, "mail")
	log.Info("SMTP_URL is not set: emails are written as .eml files", "dir", dir)
	return mail.NewDir(dir), nil
}

// ready reports whether the database answers and the schema is current.
func ready(ctx context.Context, pool *pgxpool.Pool) error {
	if err := pool.Ping(ctx); err != nil {
		return err
	}
	pending, err := migrate.Pending(ctx, pool)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("database migrations are pending: run `starling migrate up`")
	}
	return nil
}

// privateHandler is what the separate metrics address serves: /metrics and Go's profiler
// under /debug/pprof/. The profiler is never on the public address.
func privateHandler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// withMetrics serves GET /metrics with metrics and everything else with h.
func withMetrics(h, metrics http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			metrics.ServeHTTP(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// pipelineStatus reads the consumers' lag and the job queues' depths for /metrics.
func pipelineStatus(ctx context.Context, svc *core.Service) ([]metrics.ConsumerLag, []metrics.QueueDepth, error) {
	lags, err := svc.ConsumerLags(ctx)
	if err != nil {
		return nil, nil, err
	}
	depths, err := svc.QueueDepths(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	ml := make([]metrics.ConsumerLag, len(lags))
	for i, l := range lags {
		ml[i] = metrics.ConsumerLag{Consumer: l.Name, Behind: l.Behind}
		if !l.Oldest.IsZero() {
			ml[i].OldestAge = now.Sub(l.Oldest)
		}
	}
	md := make([]metrics.QueueDepth, len(depths))
	for i, d := range depths {
		md[i] = metrics.QueueDepth{Queue: d.Queue, State: d.State, Jobs: d.Jobs, OldestAge: d.Oldest}
	}
	return ml, md, nil
}

// wrote drops from this process's caches what an event it has just committed changes,
// before the hub reads it back: whoever wrote a change sees it at once on the process
// that made it. Other processes drop it when their hub reads the event (invalidate).
func wrote(topic string, pages *cache.Responses, tokens *api.Server) {
	if cache.Invalidates(topic) {
		pages.Invalidate()
	}
	if tokens != nil && (topic == events.TopicTokenRevoked || topic == events.TopicAccountUpdated) {
		tokens.ForgetAllTokens() // rare: one lookup per token in use to make again
	}
}

// invalidate drops what a batch of events read by the hub changed from this process's
// caches: every cache and every topic that changes one is here. The API's token cache
// forgets revoked tokens and changed accounts; the page cache empties on any event that
// may change what an anonymous reader sees (cache.Invalidates).
func invalidate(recs []events.Record, pages *cache.Responses, tokens *api.Server) {
	changed := false
	for _, r := range recs {
		changed = changed || cache.Invalidates(r.Topic)
		if tokens == nil {
			continue
		}
		switch r.Topic {
		case events.TopicTokenRevoked, events.TopicAccountUpdated:
			// An undecodable payload drops nothing: its entries still end within a second.
			ev, _ := events.Decode(r.Topic, r.Payload)
			switch e := ev.(type) {
			case events.TokenRevoked:
				tokens.ForgetTokens(e.TokenIDs)
			case events.AccountUpdated:
				tokens.ForgetUser(e.UserID)
			}
		}
	}
	if changed {
		pages.Invalidate()
	}
}
