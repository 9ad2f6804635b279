// Package soak runs Starling under steady load while injecting faults, then checks that
// nothing was lost or duplicated: the fault-injection run behind `make soak` and the
// shorter TestSoak in `make test`.
//
// The run starts its own durable PostgreSQL cluster, two `starling serve` and two
// `starling work` processes under a small supervisor (which, like systemd, starts a process
// again when it dies), and clients that post through the API with Idempotency-Keys, read
// timelines and follow the public stream with Last-Event-ID. Meanwhile, in turn, it
// SIGKILLs a worker process, SIGKILLs a web process, and restarts PostgreSQL with a fast
// and with an immediate (crash) shutdown. Afterwards it compares what clients were told
// with what the database holds.
package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starling-social/starling/internal/devdb"
	"github.com/starling-social/starling/internal/migrate"
)

// Options shapes a soak run. Zero values take the defaults in brackets.
type Options struct {
	// Command returns a command running the starling binary with args. Required.
	Command func(args ...string) *exec.Cmd
	// Dir holds the run's database cluster, data and process logs. Required; it should
	// be empty or hold only an earlier run.
	Dir string
	// Duration is how long load and faults last [10m].
	Duration time.Duration
	// FaultEvery is the time between two faults [20s].
	FaultEvery time.Duration
	// MinEachFault makes the load go on past Duration (up to three times as long) until
	// every kind of fault was performed this many times [0].
	MinEachFault int
	// Users, Writers, Readers and Streams size the load [12, 6, 2, 6].
	Users, Writers, Readers, Streams int
	// WritePause is each writer's pause between posts [20ms].
	WritePause time.Duration
	// Progress receives a line per fault and phase [discarded].
	Progress io.Writer
}

func (o *Options) defaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defDur := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	defDur(&o.Duration, 10*time.Minute)
	defDur(&o.FaultEvery, 20*time.Second)
	defDur(&o.WritePause, 20*time.Millisecond)
	def(&o.Users, 12)
	def(&o.Writers, 6)
	def(&o.Readers, 2)
	def(&o.Streams, 6)
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Fault kinds, performed in turn.
const (
	KillWorker  = "SIGKILL a worker process"
	KillWeb     = "SIGKILL a web process"
	PGFast      = "restart PostgreSQL (fast shutdown)"
	PGImmediate = "restart PostgreSQL (immediate shutdown)"
)

var faultKinds = []string{KillWorker, KillWeb, PGFast, PGImmediate}

// run is the state of one soak run.
type run struct {
	opts     Options
	pgDir    string
	dataDir  string
	dsn      string
	web      []*proc
	workers  []*proc
	tokens   []string
	names    []string
	report   *Report
	load     *load
	progress func(string, ...any)
	start    time.Time

	mu sync.Mutex // guards the fields below and the report's counters
}

// Run performs a soak run and returns its report. The error is non-nil when the run could
// not be carried out or when the report shows a loss (see Report.Failures).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Command == nil || opts.Dir == "" {
		return nil, errors.New("soak: Options.Command and Options.Dir are required")
	}
	opts.defaults()
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}
	r := &run{opts: opts, pgDir: filepath.Join(dir, "pg"), dataDir: filepath.Join(dir, "data"),
		report: &Report{Faults: map[string]int{}, Reads: map[string]int{}, WriteFailures: map[string]int{}}, start: time.Now()}
	r.progress = func(format string, a ...any) {
		fmt.Fprintf(opts.Progress, "%6.1fs  %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, a...))
	}
	for _, d := range []string{dir, r.dataDir, filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// The cluster is stopped at the end and kept for inspection; RemoveCluster deletes it.
	defer devdb.Stop(context.Background(), r.pgDir)
	if err := r.setup(ctx, dir); err != nil {
		return nil, err
	}
	defer func() {
		for _, p := range append(r.web, r.workers...) {
			p.stop()
		}
	}()
	if err := r.soak(ctx); err != nil {
		return r.report, err
	}
	if err := r.check(ctx); err != nil {
		return r.report, err
	}
	if f := r.report.Failures(); len(f) > 0 {
		return r.report, fmt.Errorf("soak: %s", strings.Join(f, "; "))
	}
	return r.report, nil
}

// setup starts the cluster, migrates, creates the accounts and starts the processes.
func (r *run) setup(ctx context.Context, dir string) error {
	name := fmt.Sprintf("soak_%d", time.Now().Unix())
	cluster, err := devdb.Start(ctx, devdb.Options{Dir: r.pgDir, Database: name})
	if err != nil {
		return err
	}
	r.dsn = cluster.URL(name)
	pool, err := pgxpool.New(ctx, r.dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrate.Up(ctx, pool, io.Discard); err != nil {
		return err
	}
	r.progress("database %s ready in %s", name, cluster.DataDir)

	env := r.childEnv()
	for i := range r.opts.Users {
		uname := fmt.Sprintf("user%02d", i)
		if _, err := r.runCommand(ctx, env, "soak password\n", "user", "create", "--username", uname,
			"--email", uname+"@example.com", "--password-stdin"); err != nil {
			return err
		}
		tok, err := r.runCommand(ctx, env, "", "token", "create", "--username", uname, "--scopes", "read write")
		if err != nil {
			return err
		}
		r.names = append(r.names, uname)
		r.tokens = append(r.tokens, strings.TrimSpace(tok))
	}
	// Some accounts want no mention emails.
	if _, err := pool.Exec(ctx, `UPDATE users SET email_mentions = false WHERE username IN ('user00', 'user05', 'user10')`); err != nil {
		return err
	}
	for i := range 2 {
		r.web = append(r.web, r.newProc(dir, fmt.Sprintf("web%d", i+1), "serve", env))
		r.workers = append(r.workers, r.newProc(dir, fmt.Sprintf("worker%d", i+1), "work", env))
	}
	for _, p := range append(r.web, r.workers...) {
		if err := p.start(); err != nil {
			return err
		}
	}
	r.progress("started 2 web and 2 worker processes; %d accounts", r.opts.Users)
	return nil
}

// childEnv is the environment of every starling process of the run.
func (r *run) childEnv() []string {
	return []string{
		"DATABASE_URL=" + r.dsn,
		"STARLING_LISTEN=127.0.0.1:0",
		"STARLING_DATA_DIR=" + r.dataDir,
		"STARLING_LOG_FORMAT=json",
		"STARLING_MIGRATE_ON_START=false",
		"STARLING_PASSWORD_MEMORY_KIB=1024",
		"STARLING_PASSWORD_ITERATIONS=1",
		"STARLING_MENTION_EMAIL_DELAY=0s",
		"STARLING_MENTION_EMAIL_LIMIT=off", // a digest waits an hour; the check wants every email sent
		// The soak measures faults, not the API allowance of one token.
		"STARLING_RATE_LIMIT=off",
		// Jobs of a killed worker are retried after 10 s instead of 2 minutes.
		"STARLING_JOB_RESCUE_AFTER=10s",
		"SMTP_URL=",
	}
}

func (r *run) newProc(dir, name, role string, env []string) *proc {
	return &proc{name: name, role: role, env: env, command: r.opts.Command, logPath: logPath(dir, name)}
}

// runCommand runs a starling admin command and returns its standard output.
func (r *run) runCommand(ctx context.Context, env []string, stdin string, args ...string) (string, error) {
	cmd := r.opts.Command(args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("starling %s: %v: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// soak runs the load and the faults for the configured duration, then stops the load.
func (r *run) soak(ctx context.Context) error {
	superCtx, stopSupervising := context.WithCancel(ctx)
	defer stopSupervising()
	for _, p := range append(r.web, r.workers...) {
		go p.supervise(superCtx, r.progress)
	}
	l := newLoad(r)
	r.load = l
	if err := l.begin(ctx); err != nil {
		l.cancel()
		return err
	}
	r.progress("load running: %d writers, %d readers, %d stream clients", r.opts.Writers, r.opts.Readers, r.opts.Streams)

	began := time.Now()
	end := time.After(r.opts.Duration)
	hardEnd := time.After(3 * r.opts.Duration)
	tick := time.NewTicker(r.opts.FaultEvery)
	defer tick.Stop()
	var order []string
	var ferr error
	over := false // Duration has passed; waiting for MinEachFault
loop:
	for {
		select {
		case <-ctx.Done():
			ferr = ctx.Err()
			break loop
		case <-hardEnd:
			break loop
		case <-end:
			if r.enoughFaults() {
				break loop
			}
			over = true
		case <-tick.C:
			if len(order) == 0 {
				order = append([]string(nil), faultKinds...)
				rand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			kind := order[0]
			order = order[1:]
			if err := r.fault(ctx, kind); err != nil {
				ferr = err
				break loop
			}
			if over && r.enoughFaults() {
				break loop
			}
		}
	}
	r.report.LoadDuration = time.Since(began).Round(time.Second)
	r.progress("load and faults over; letting writers finish their retries")
	l.finish()
	if ferr != nil {
		return ferr
	}
	// Every process must be back by itself.
	deadline := time.Now().Add(60 * time.Second)
	for _, p := range append(r.web, r.workers...) {
		for p.url() == "" {
			if time.Now().After(deadline) {
				return fmt.Errorf("soak: %s did not come back", p.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return l.settle(ctx)
}

// enoughFaults reports whether every kind of fault was performed MinEachFault times.
func (r *run) enoughFaults() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range faultKinds {
		if r.report.Faults[k] < r.opts.MinEachFault {
			return false
		}
	}
	return true
}

// fault performs one fault of the given kind.
func (r *run) fault(ctx context.Context, kind string) error {
	begin := time.Now()
	switch kind {
	case KillWorker, KillWeb:
		group := r.workers
		if kind == KillWeb {
			group = r.web
		}
		p := group[rand.IntN(len(group))]
		if !p.kill() {
			r.progress("%s: %s is not running (still restarting); skipped", kind, p.name)
			return nil
		}
		r.progress("%s: killed %s", kind, p.name)
	case PGFast, PGImmediate:
		mode := "fast"
		if kind == PGImmediate {
			mode = "immediate"
		}
		if err := devdb.StopMode(ctx, r.pgDir, mode); err != nil {
			return fmt.Errorf("soak: stopping PostgreSQL: %w", err)
		}
		time.Sleep(time.Duration(500+rand.IntN(1500)) * time.Millisecond)
		if _, err := devdb.Start(ctx, devdb.Options{Dir: r.pgDir}); err != nil {
			return fmt.Errorf("soak: starting PostgreSQL again: %w", err)
		}
		r.progress("%s: down for %s", kind, time.Since(begin).Round(time.Millisecond))
	}
	r.mu.Lock()
	r.report.Faults[kind]++
	r.mu.Unlock()
	return nil
}

// RemoveCluster stops the PostgreSQL cluster of a run in dir, if it still runs, and
// deletes its files (which may be kept outside dir; see devdb).
func RemoveCluster(dir string) error {
	err := devdb.Destroy(context.Background(), filepath.Join(dir, "pg"))
	if errors.Is(err, devdb.ErrNoPostgres) {
		return nil // no server installed yet, so none runs; Run installs it
	}
	return err
}
