package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"riverqueue.com/riverui"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/config"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/devdb"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/jobs"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/metrics"
	"github.com/starling-social/starling/internal/migrate"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/tracing"
	"github.com/starling-social/starling/internal/web"
)

func loadConfig(args []string, getenv func(string) string) (config.Config, []string, error) {
	return config.Load(args, getenv)
}

func configHelp(w io.Writer) { config.WriteHelp(w) }

func newLogger(w io.Writer, cfg config.Config) *slog.Logger {
	return logging.New(w, cfg.LogFormat, cfg.LogLevel)
}

// app holds what every command shares.
type app struct {
	cfg            config.Config
	log            *slog.Logger
	stdin          io.Reader
	stdout, stderr io.Writer
	usingLocalDB   bool
}

// localDBDir is where the development cluster lives.
func (a *app) localDBDir() string { return filepath.Join(a.cfg.DataDir, "postgres") }

// databaseURL returns DATABASE_URL, or starts the local development cluster when it is
// not set.
func (a *app) databaseURL(ctx context.Context) (string, error) {
	if a.cfg.DatabaseURL != "" {
		return a.cfg.DatabaseURL, nil
	}
	a.usingLocalDB = true
	c, err := devdb.Start(ctx, devdb.Options{Dir: a.localDBDir(), Database: "starling", Log: a.log})
	if err != nil {
		return "", err
	}
	a.log.Info("using the local development database", "data_dir", c.DataDir)
	return c.URL("starling"), nil
}

// open connects to the database, starting the local one when needed.
func (a *app) open(ctx context.Context) (*pgxpool.Pool, error) {
	dsn, err := a.databaseURL(ctx)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, dsn, a.cfg.DBMaxConns)
}

// newCore returns the domain service with an insert-only job client: for commands that
// write but run no workers.
func (a *app) newCore(pool *pgxpool.Pool) (*core.Service, error) {
	runner, err := jobs.New(pool, jobs.Config{Log: a.log})
	if err != nil {
		return nil, err
	}
	return a.coreWith(pool, runner, nil, nil), nil
}

func (a *app) coreWith(pool *pgxpool.Pool, runner *jobs.Runner, wake func(int64), onEvent func(string)) *core.Service {
	return core.New(pool, core.Options{
		Jobs:              runner.Client,
		Wake:              wake,
		OnEvent:           onEvent,
		MentionEmailDelay: a.cfg.MentionEmailDelay,
		Password: password.Params{
			MemoryKiB:  uint32(a.cfg.PasswordMemoryKiB),
			Iterations: uint32(a.cfg.PasswordIterations),
		},
		SignupsOpen: a.cfg.SignupsOpen,
		Log:         a.log,
	})
}

// runServer runs the web server, the workers, or both, until ctx is done, then shuts
// down gracefully: readiness turns false, live streams get a final "reconnect" event,
// in-flight requests finish, the workers stop fetching and finish their running jobs
// (bounded), and it returns nil.
func (a *app) runServer(ctx context.Context, role string) error {
	dsn, err := a.databaseURL(ctx)
	if err != nil {
		return err
	}
	pool, err := a.openRetrying(ctx, dsn)
	if errors.Is(err, context.Canceled) {
		return nil // stopped while waiting for the database
	}
	if err != nil {
		return err
	}
	defer pool.Close()
	if a.cfg.MigrateOnStart.Enabled(a.usingLocalDB) {
		if err := migrate.Up(ctx, pool, logWriter{a.log}); err != nil {
			return err
		}
	}
	m := metrics.New()
	m.Pool(pool)
	stopTracing, err := tracing.Setup(ctx, role)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer stopTracing(context.Background())
	// Background services outlive ctx so that they can be stopped in order below.
	bg, stopBg := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBg()

	sender, err := a.mailSender()
	if err != nil {
		return err
	}
	// Two River clients: writes enqueue through an insert-only client whose in-transaction
	// NOTIFY is rare (see docs/live.md); the workers, when this process has them, fetch
	// with their own client.
	inserter, err := jobs.New(pool, jobs.Config{Log: a.log})
	if err != nil {
		return err
	}
	runner, err := jobs.New(pool, jobs.Config{
		Work: role != "serve", Mail: sender, MailFrom: a.cfg.From(), BaseURL: a.cfg.BaseURL, Log: a.log,
		OnEmail: m.Email, EventRetention: a.cfg.EventRetention, RescueAfter: a.cfg.JobRescueAfter,
		MentionEmailBound: core.MentionEmailBound{Limit: a.cfg.MentionEmailLimit.N, Window: a.cfg.MentionEmailLimit.Per},
	})
	if err != nil {
		return err
	}
	if role != "serve" {
		runner.Observe(bg, m.Job)
	}
	// The wake-up NOTIFY after each committed write, coalesced per process.
	notifier := events.NewNotifier(pool, a.cfg.NotifyWindow, a.log)
	go notifier.Run(bg)
	svc := a.coreWith(pool, inserter, notifier.Wake, m.EventWritten)
	runner.Bind(svc)
	var hub *live.Hub
	if role != "work" {
		hub = live.NewHub(events.NewReader(pool), svc, a.log, live.Options{Observe: m.Fanout,
			MaxStreamsPerIP: a.cfg.MaxStreamsPerIP, MaxStreamsPerUser: a.cfg.MaxStreamsPerUser})
		go hub.Run(bg)
		go live.NewListener(dsn, hub.Kick, a.log).Run(bg)
		m.StreamClients(hub.SubscribersByKind)
		m.GaugeFunc("starling_events_delivered_id", "Id of the last event this process's hub fanned out.",
			func() float64 { return float64(hub.Head().ID) })
	}
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
		return fmt.Errorf("workers: %w", err)
	}
	ui, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(runner.Client, nil),
		Logger:    slog.New(logging.ContextHandler{Handler: a.log.Handler()}),
		Prefix:    "/admin/river",
	})
	if err != nil {
		return fmt.Errorf("river ui: %w", err)
	}
	if err := ui.Start(bg); err != nil {
		return fmt.Errorf("river ui: %w", err)
	}
	sessions, stopSessions := web.NewSessions(pool, a.cfg.SessionLifetime, a.cfg.SecureCookies())
	defer stopSessions()
	authz := oauth.New(pool)
	authz.AllowHTTPRedirects = a.cfg.OAuthAllowHTTPRedirects
	proxies := httpx.Proxies(a.cfg.TrustedProxies)
	// One posting allowance per account, whether it posts through the website or the API,
	// and one login allowance, whether by the login form or the password grant.
	var postLimit *httpx.Limiter
	var loginLimits *httpx.LoginLimits
	if !a.cfg.RateLimit.Off() {
		postLimit = &httpx.Limiter{Limit: 30, Window: time.Minute}
		loginLimits = httpx.NewLoginLimits()
	}
	// Without a private metrics address, /metrics on the main one answers administrators
	// only (an admin's session or personal token): the figures are not for everyone.
	var adminMetrics http.Handler
	if a.cfg.MetricsListen == "" {
		adminMetrics = m.Handler()
	}
	site, err := web.New(web.Options{
		Core: svc, Sessions: sessions, Log: a.log, RiverUI: ui, Hub: hub, OAuth: authz, Metrics: adminMetrics,
		Limits: !a.cfg.RateLimit.Off(), PostLimit: postLimit, LoginLimits: loginLimits, Proxies: proxies,
		Ready: func(ctx context.Context) error { return ready(ctx, pool) },
	})
	if err != nil {
		return err
	}
	// Shed load quickly when the database pool is saturated, rather than queueing (streams
	// excluded: they hold no connection). The API applies it after its rate limit.
	shed := httpx.Shed(4*a.cfg.DBMaxConns, 4*a.cfg.DBMaxConns, time.Second, func(r *http.Request) bool {
		return r.URL.Path == "/events" || strings.HasPrefix(r.URL.Path, "/api/v1/streaming")
	})
	limit := limiter(a.cfg.RateLimit)
	var appLimit *httpx.Limiter
	if limit != nil {
		appLimit = limiter(a.cfg.AppRegistrationLimit)
	}
	rest := api.New(api.Options{Core: svc, OAuth: authz, Hub: hub, Log: a.log, BaseURL: a.cfg.BaseURL,
		SignupsOpen: a.cfg.SignupsOpen, RateLimit: limit, PostLimit: postLimit, Proxies: proxies, Shed: shed,
		LoginLimits: loginLimits, NoPasswordGrant: !a.cfg.OAuthPasswordGrant, AppLimit: appLimit})
	var handler http.Handler = otelhttp.NewHandler(m.HTTP(api.Join(shed(site.Handler()), rest.Handler())), "http",
		otelhttp.WithFilter(func(r *http.Request) bool { return r.URL.Path != "/metrics" }))
	if role == "work" {
		// A worker process serves only its health checks and metrics.
		handler = site.HealthHandler()
	}
	var servers []*http.Server
	errc := make(chan error, 2)
	serve := func(addr string, h http.Handler, what string) error {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", addr, err)
		}
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second, // streams lift it for themselves
			IdleTimeout:       120 * time.Second,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		}
		servers = append(servers, srv)
		go func() { errc <- srv.Serve(ln) }()
		a.log.Info("starling started", "role", role, "serving", what, "listen", ln.Addr().String(), "base_url", a.cfg.BaseURL)
		return nil
	}
	if a.cfg.MetricsListen != "" {
		if err := serve(a.cfg.MetricsListen, privateHandler(m.Handler()), "metrics"); err != nil {
			return err
		}
	} else if role == "work" {
		// A worker's one address serves nobody but the operator: health checks and metrics.
		handler = withMetrics(handler, m.Handler())
	}
	if err := serve(a.cfg.Listen, handler, role); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}

	a.log.Info("shutting down: draining")
	site.Drain()
	if hub != nil {
		hub.Shutdown() // streams end with a "reconnect" event
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			a.log.Warn("HTTP shutdown incomplete", "err", err)
		}
	}
	stopCtx, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancelStop()
	if err := runner.Stop(stopCtx); err != nil {
		a.log.Warn("workers did not stop cleanly; unfinished jobs will be retried", "err", err)
	}
	stopBg()
	notifier.Close()
	a.log.Info("stopped")
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

// openRetrying connects to the database, retrying with backoff (1 s doubling up to 30 s)
// while it is unavailable, so that a process started before its database waits instead
// of crash-looping.
func (a *app) openRetrying(ctx context.Context, dsn string) (*pgxpool.Pool, error) {
	wait := time.Second
	for {
		pool, err := store.Open(ctx, dsn, a.cfg.DBMaxConns)
		if err == nil {
			return pool, nil
		}
		if strings.Contains(err.Error(), "database url") {
			return nil, err // a malformed URL never gets better
		}
		a.log.Warn("database unavailable; retrying", "in", wait.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// mailSender returns the SMTP sender when SMTP_URL is set, else the .eml directory.
func (a *app) mailSender() (mail.Sender, error) {
	if a.cfg.SMTPURL != "" {
		return mail.NewSMTP(a.cfg.SMTPURL)
	}
	dir := filepath.Join(a.cfg.DataDir, "mail")
	a.log.Info("SMTP_URL is not set: emails are written as .eml files", "dir", dir)
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

// logWriter turns migration progress lines into log lines.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Info(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (a *app) migrate(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: starling migrate up|down|status")
	}
	pool, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch args[0] {
	case "up":
		if err := migrate.Up(ctx, pool, a.stdout); err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "database is up to date")
		return nil
	case "down":
		return migrate.Down(ctx, pool, a.stdout)
	case "status":
		return migrate.Status(ctx, pool, a.stdout)
	}
	return fmt.Errorf("unknown migrate command %q: use up, down or status", args[0])
}

// withCore opens the database and runs fn with the domain service (for admin commands).
func (a *app) withCore(ctx context.Context, fn func(pool *pgxpool.Pool, svc *core.Service) error) error {
	pool, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, err := a.newCore(pool)
	if err != nil {
		return err
	}
	return fn(pool, svc)
}

func (a *app) user(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: starling user create|grant-admin ...")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("user create", flag.ContinueOnError)
		fs.SetOutput(a.stderr)
		username := fs.String("username", "", "username (required)")
		email := fs.String("email", "", "email address (required)")
		display := fs.String("display-name", "", "display name")
		fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *username == "" || *email == "" || !*fromStdin {
			return errors.New("usage: starling user create --username U --email E --password-stdin [--display-name N]")
		}
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading password: %w", err)
		}
		pw := strings.TrimRight(line, "\r\n")
		return a.withCore(ctx, func(_ *pgxpool.Pool, svc *core.Service) error {
			u, err := svc.CreateUser(ctx, core.SignUpInput{Username: *username, Email: *email, Password: pw, DisplayName: *display})
			var verr *core.ValidationError
			if errors.As(err, &verr) {
				for field, msg := range verr.Fields {
					fmt.Fprintf(a.stderr, "%s: %s\n", field, msg)
				}
				return errors.New("user not created")
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "created user @%s (id %d)\n", u.Username, u.ID)
			return nil
		})
	case "grant-admin":
		if len(args) != 2 {
			return errors.New("usage: starling user grant-admin USERNAME")
		}
		return a.withCore(ctx, func(_ *pgxpool.Pool, svc *core.Service) error {
			if err := svc.GrantAdmin(ctx, args[1]); errors.Is(err, core.ErrNotFound) {
				return fmt.Errorf("no user named %q", args[1])
			} else if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "@%s is an admin now\n", args[1])
			return nil
		})
	}
	return fmt.Errorf("unknown user command %q: use create or grant-admin", args[0])
}

func (a *app) token(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: starling token create --username U [--scopes \"read write follow\"] [--name N]")
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	username := fs.String("username", "", "the account the token acts for (required)")
	scopes := fs.String("scopes", "read", "space-separated scopes, e.g. \"read write follow\"")
	name := fs.String("name", "command line", "a name to recognise the token by in the settings page")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *username == "" {
		return errors.New("usage: starling token create --username U [--scopes \"read write follow\"] [--name N]")
	}
	return a.withCore(ctx, func(pool *pgxpool.Pool, svc *core.Service) error {
		u, err := svc.UserByUsername(ctx, *username)
		if errors.Is(err, core.ErrNotFound) {
			return fmt.Errorf("no user named %q", *username)
		}
		if err != nil {
			return err
		}
		tok, err := oauth.New(pool).CreatePersonalToken(ctx, u.ID, *name, *scopes)
		var verr *oauth.ValidationError
		if errors.As(err, &verr) {
			return errors.New(verr.Message)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, tok.AccessToken)
		fmt.Fprintf(a.stderr, "token for @%s with scopes %q; it is shown only this once\n", u.Username, tok.Scopes.String())
		return nil
	})
}

func (a *app) devdb(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("devdb", flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	cluster := fs.String("cluster", "dev", "which local cluster: dev (data dir/postgres, durable) or test (data dir/test-postgres, fsync off)")
	if len(args) == 0 {
		return errors.New("usage: starling devdb start|stop|url [--cluster dev|test]")
	}
	verb := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	opts := devdb.Options{Dir: a.localDBDir(), Database: "starling", Log: a.log}
	switch *cluster {
	case "dev":
	case "test":
		opts = devdb.Options{Dir: filepath.Join(a.cfg.DataDir, "test-postgres"), Fast: true, Log: a.log}
	default:
		return fmt.Errorf("unknown cluster %q: use dev or test", *cluster)
	}
	switch verb {
	case "start", "url":
		c, err := devdb.Start(ctx, opts)
		if err != nil {
			return err
		}
		name := opts.Database
		if name == "" {
			name = "postgres"
		}
		fmt.Fprintln(a.stdout, c.URL(name))
		return nil
	case "stop":
		return devdb.Stop(ctx, opts.Dir)
	}
	return fmt.Errorf("unknown devdb command %q: use start, stop or url", verb)
}

// limiter returns a limiter for r, or nil when r is off.
func limiter(r config.Rate) *httpx.Limiter {
	if r.Off() {
		return nil
	}
	return &httpx.Limiter{Limit: r.N, Window: r.Per}
}
