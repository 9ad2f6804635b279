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
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	starlingapp "github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/config"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/devdb"
	"github.com/starling-social/starling/internal/jobs"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/migrate"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/tracing"
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
// (bounded), and it returns nil. What runs is built by app.Build; this function owns
// only the process: the pool, migrations, tracing, the listeners and the order of stop.
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
	stopTracing, err := tracing.Setup(ctx, role)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer stopTracing(context.Background())
	proc, err := starlingapp.Build(ctx, pool, dsn, starlingapp.Options{Config: a.cfg, Role: starlingapp.Role(role), Log: a.log})
	if err != nil {
		return err
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
	// stop drains, shuts the servers down, then stops the workers and background
	// services, in that order.
	stop := func() {
		proc.Drain()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for _, srv := range servers {
			if err := srv.Shutdown(shutdownCtx); err != nil {
				a.log.Warn("HTTP shutdown incomplete", "err", err)
			}
		}
		stopCtx, cancelStop := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancelStop()
		proc.Close(stopCtx)
	}
	if proc.PrivateHandler != nil {
		if err := serve(a.cfg.MetricsListen, proc.PrivateHandler, "metrics"); err != nil {
			stop()
			return err
		}
	}
	if err := serve(a.cfg.Listen, proc.Handler, role); err != nil {
		stop()
		return err
	}
	if role != "work" {
		// The one line a person starting it needs, after the log lines.
		fmt.Fprintf(a.stdout, "Starling is running: open %s\n", a.cfg.BaseURL)
	}
	select {
	case err := <-errc:
		stop()
		return err
	case <-ctx.Done():
	}

	a.log.Info("shutting down: draining")
	stop()
	a.log.Info("stopped")
	return nil
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
