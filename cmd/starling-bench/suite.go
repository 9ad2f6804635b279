package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// suite is one `make bench` run: its settings and what it measured.
type suite struct {
	quick   bool
	bin     string
	runs    int
	seconds time.Duration
	env     *env
	tmp     string // the servers' data dir (their .eml files)
	report  *strings.Builder
	charts  map[string]string
	outDir  string
	// dataDir is where the bench databases live.
	dataDir string
	// writes8 is the write path's posts/s at 8 clients (section 1), when it ran: section 7
	// compares the end-to-end rate with it.
	writes8 float64
}

func runSuite(args []string) error {
	fs := flag.NewFlagSet("suite", flag.ExitOnError)
	quick := fs.Bool("quick", false, "short runs and small data (about 3 minutes)")
	bin := fs.String("bin", "bin/starling", "the starling binary to measure")
	out := fs.String("out", "docs/benchmarks.md", "where to write the report (charts go beside it)")
	dataDir := fs.String("data-dir", ".data", "where the bench database lives")
	only := fs.String("only", "", "run only these scenarios, comma-separated: writes, reads, fanout, pipeline, sustained, hotrows, e2e, login, favourites, search, media (default: all of them, in this order)")
	fs.Parse(args)
	raiseFileLimit()
	ctx := context.Background()
	s := &suite{quick: *quick, bin: *bin, runs: 3, seconds: 5 * time.Second, report: &strings.Builder{},
		charts: map[string]string{}, outDir: filepath.Dir(*out), dataDir: *dataDir}
	if s.quick {
		s.runs, s.seconds = 1, 2*time.Second
	}
	e, err := freshDB(ctx, *dataDir, "bench_suite")
	if err != nil {
		return err
	}
	if s.tmp, err = os.MkdirTemp("", "starling-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(s.tmp)
	defer e.pool.Close()
	s.env = e
	s.header(ctx)
	for _, step := range []struct {
		key, name string
		f         func(context.Context) error
	}{
		{"writes", "post writes", s.writes},
		{"reads", "timeline reads", s.reads},
		{"fanout", "live fan-out", s.fanout},
		{"pipeline", "job pipeline", s.pipeline},
		{"sustained", "sustained writes", s.sustained},
		{"hotrows", "hot rows", s.hotRows},
		{"e2e", "end to end", s.endToEnd},
		{"login", "failed logins", s.login},
		{"favourites", "favourites", s.favourites},
		{"search", "search", s.search},
		{"media", "media", s.media},
	} {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), step.key) {
			continue
		}
		progress("== %s", step.name)
		if err := step.f(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
	}
	s.printf("## Where the time goes\n\nSee [benchmarks-notes.md](benchmarks-notes.md): what each request does, the bottleneck of every missed target, and what was changed because of it.\n")
	if err := os.MkdirAll(s.outDir, 0o755); err != nil {
		return err
	}
	for name, svg := range s.charts {
		if err := os.WriteFile(filepath.Join(s.outDir, name), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(*out, []byte(s.report.String()), 0o644); err != nil {
		return err
	}
	progress("wrote %s", *out)
	return nil
}

func progress(format string, a ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", a...)
}

func (s *suite) printf(format string, a ...any) { fmt.Fprintf(s.report, format, a...) }

func (s *suite) header(ctx context.Context) {
	var pg string
	s.env.pool.QueryRow(ctx, "SHOW server_version").Scan(&pg)
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(b); m != nil {
			kb, _ := strconv.Atoi(string(m[1]))
			mem = fmt.Sprintf("%.0f GiB", float64(kb)/(1<<20))
		}
	}
	mode := "full"
	if s.quick {
		mode = "quick (QUICK=1)"
	}
	s.printf("# Benchmarks\n\n")
	s.printf("Produced by `make bench` (%s) on %s: %d cores, %s RAM, PostgreSQL %s (durable settings as `make run`: fsync and synchronous_commit on), %s.\n\n",
		mode, time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), mem, strings.Fields(pg)[0], runtime.Version())
	s.printf("Unless a section says otherwise, every figure is the median of %d runs of %s; each ratio compares runs of the same invocation. "+
		"The load generator, the Starling server and PostgreSQL share the same cores, so absolute numbers are lower than on separate machines.\n\n", s.runs, s.seconds)
}

// server is a starling child process.
type server struct {
	cmd  *exec.Cmd
	base string
	// metrics is the base URL of the server's private metrics address.
	metrics string
	logs    *lockedBuf
}

type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs `starling role` against the bench database.
func (s *suite) start(role string, extra ...string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	metricsAddr := mln.Addr().String()
	mln.Close()
	cmd := exec.Command(s.bin, role)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+s.env.cluster.URL(s.env.name), "STARLING_LISTEN="+addr,
		"STARLING_METRICS_LISTEN="+metricsAddr, // the main address shows /metrics to admins only
		"STARLING_BASE_URL=http://"+addr, "STARLING_RATE_LIMIT=off", "STARLING_LOG_LEVEL=warn",
		"STARLING_DB_MAX_CONNS=40", "STARLING_DATA_DIR="+s.tmp,
		"STARLING_MENTION_EMAIL_DELAY=1h", // emails are not part of the pipeline measured
		"STARLING_PASSWORD_MEMORY_KIB=1024", "STARLING_PASSWORD_ITERATIONS=1",
		"STARLING_MAX_STREAMS_PER_IP=50000") // every bench client comes from 127.0.0.1
	cmd.Env = append(cmd.Env, extra...)
	srv := &server{cmd: cmd, base: "http://" + addr, metrics: "http://" + metricsAddr, logs: &lockedBuf{}}
	cmd.Stderr = srv.logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for range 200 {
		res, err := http.Get(srv.base + "/healthz")
		if err == nil {
			res.Body.Close()
			return srv, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	srv.stop()
	return nil, fmt.Errorf("server did not start: %s", srv.logs.String())
}

func (srv *server) stop() {
	srv.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { srv.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		srv.cmd.Process.Kill()
	}
}

// cpu returns the CPU time (user + system) the server process has used.
func (srv *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", srv.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The fields after the command's name, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // clock ticks of 1/100 s
}

// rss returns the resident memory of the server process in bytes.
func (srv *server) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// settledRSS returns the server's RSS once it stops falling (at most 30 s): called after
// live, whose forced collection leaves the garbage of the connections' set-up free, which
// the runtime then gives back to the system in the background. An idle stream lives for
// minutes or hours; this is what it costs then.
func (srv *server) settledRSS() int64 {
	cur := srv.rss()
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
		time.Sleep(2 * time.Second)
		next := srv.rss()
		if cur-next < cur/100 {
			return next
		}
		cur = next
	}
	return cur
}

// live returns the memory the server's Go runtime holds for live objects and goroutine
// stacks (heap in use plus stacks in use) right after a garbage collection, which it asks
// for through the profiler on the private metrics address; 0 when that cannot be read.
// RSS also counts garbage not yet collected and freed pages not yet given back.
func (srv *server) live() int64 {
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Get(srv.metrics + "/debug/pprof/heap?gc=1")
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	heap, ok1 := metric(context.Background(), client, srv.metrics, "go_memstats_heap_inuse_bytes")
	stacks, ok2 := metric(context.Background(), client, srv.metrics, "go_memstats_stack_inuse_bytes")
	if !ok1 || !ok2 {
		return 0
	}
	return int64(heap + stacks)
}

// profiles saves the server's heap and goroutine profiles as NAME.heap.pprof and
// NAME.goroutine.txt in $STARLING_BENCH_PROFILES, when that is set: what holds the memory
// measured.
func (srv *server) profiles(name string) {
	dir := os.Getenv("STARLING_BENCH_PROFILES")
	if dir == "" {
		return
	}
	for file, path := range map[string]string{name + ".heap.pprof": "/debug/pprof/heap", name + ".goroutine.txt": "/debug/pprof/goroutine?debug=1"} {
		res, err := http.Get(srv.metrics + path)
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		os.WriteFile(filepath.Join(dir, file), b, 0o644)
	}
}

// cpuProfile saves a CPU profile of the server over the next d as NAME.cpu.pprof in
// $STARLING_BENCH_PROFILES, when that is set; the channel is closed when it is done.
func (srv *server) cpuProfile(name string, d time.Duration) <-chan struct{} {
	done := make(chan struct{})
	dir := os.Getenv("STARLING_BENCH_PROFILES")
	if dir == "" {
		close(done)
		return done
	}
	go func() {
		defer close(done)
		res, err := http.Get(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", srv.metrics, int(d.Seconds())))
		if err != nil {
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		os.WriteFile(filepath.Join(dir, name+".cpu.pprof"), b, 0o644)
	}()
	return done
}

// users makes the accounts bench0 … bench(n-1) that do not exist yet, with
// `starling user create`.
func (s *suite) users(ctx context.Context, n int) error {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench%d", i)
	}
	rows, err := s.env.pool.Query(ctx, "SELECT username FROM users WHERE username = ANY($1)", names)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return err
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		if have[name] {
			continue
		}
		cmd := exec.CommandContext(ctx, s.bin, "user", "create", "--username", name, "--email", name+"@example.com", "--password-stdin")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+s.env.cluster.URL(s.env.name), "STARLING_LOG_LEVEL=error",
			"STARLING_PASSWORD_MEMORY_KIB=1024", "STARLING_PASSWORD_ITERATIONS=1")
		cmd.Stdin = strings.NewReader("bench password 12345\n")
		if out, err := cmd.CombinedOutput(); err != nil && !strings.Contains(string(out), "taken") {
			return fmt.Errorf("user create: %w: %s", err, out)
		}
	}
	return nil
}

// tokenFor returns a new personal token (scopes read and write) of the account name.
func (s *suite) tokenFor(ctx context.Context, name string) (string, error) {
	cmd := exec.CommandContext(ctx, s.bin, "token", "create", "--username", name, "--scopes", "read write")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+s.env.cluster.URL(s.env.name), "STARLING_LOG_LEVEL=error")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("token create for %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// token makes the users bench0 … bench(users-1) and returns a personal token for bench0.
func (s *suite) token(ctx context.Context, users int) (string, error) {
	if err := s.users(ctx, users); err != nil {
		return "", err
	}
	return s.tokenFor(ctx, "bench0")
}

// tokens makes the users bench0 … bench(n-1) and returns a personal token for each, in
// that order.
func (s *suite) tokens(ctx context.Context, n int) ([]string, error) {
	if err := s.users(ctx, n); err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		var err error
		if out[i], err = s.tokenFor(ctx, fmt.Sprintf("bench%d", i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// load is the result of one closed-loop load run.
type load struct {
	rate      float64
	latencies []time.Duration // of the successful calls, sorted
	errors    int64
	elapsed   time.Duration // from the first call's start to the last call's end
	// genCPU is the load generator's CPU time over the run's wall time, in cores (2.0 is
	// all of a 2-core machine); 0 when not measured.
	genCPU float64
}

func (l load) pct(p float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	return l.latencies[min(len(l.latencies)-1, int(p*float64(len(l.latencies))))]
}

// closedLoop runs c workers calling do for d and measures throughput and latency. do's i
// is the worker's number times 1,000,000 plus the call's number (see writer).
func closedLoop(c int, d time.Duration, do func(client *http.Client, i int) error) load {
	tr := &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	var errs atomic.Int64
	lat := make([][]time.Duration, c)
	start := time.Now()
	deadline := start.Add(d)
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				t0 := time.Now()
				if err := do(client, w*1_000_000+i); err != nil {
					errs.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	return load{rate: float64(len(all)) / elapsed.Seconds(), latencies: all, errors: errs.Load(), elapsed: elapsed}
}

// writer is the number of the closed-loop worker that makes call i.
func writer(i int) int { return i / 1_000_000 }

// postStatus posts body through the API (`POST /api/v1/statuses`) with a bearer token.
func postStatus(client *http.Client, base, token, body string) error {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/statuses", strings.NewReader(url.Values{"status": {body}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	return discard(res, err, http.StatusOK)
}

// createStatus posts body through the API like postStatus and returns the new status's id.
func createStatus(client *http.Client, base, token, body string) (int64, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/statuses", strings.NewReader(url.Values{"status": {body}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(res.Body, 500))
		return 0, fmt.Errorf("status %d: %s", res.StatusCode, b)
	}
	var st struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		return 0, err
	}
	return strconv.ParseInt(st.ID, 10, 64)
}

// favourite favourites status id through the API (`POST /api/v1/statuses/{id}/favourite`)
// with a bearer token, or takes the favourite back (`…/unfavourite`) when on is false.
func favourite(client *http.Client, base, token string, id int64, on bool) error {
	action := "/unfavourite"
	if on {
		action = "/favourite"
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/statuses/"+strconv.FormatInt(id, 10)+action, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	return discard(res, err, http.StatusOK)
}

func discard(res *http.Response, err error, want int) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// pgbench runs a pgbench script for d at c clients and returns transactions per second.
func (s *suite) pgbench(ctx context.Context, script string, c int, d time.Duration, vars ...string) (float64, error) {
	f, err := os.CreateTemp("", "starling-bench-*.sql")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	f.WriteString(script)
	f.Close()
	os.Chmod(f.Name(), 0o644)
	args := []string{"-n", "-c", strconv.Itoa(c), "-j", strconv.Itoa(min(c, runtime.NumCPU())), "-T", strconv.Itoa(int(d.Seconds())),
		"-f", f.Name(), "-h", s.env.cluster.SocketDir, "-p", strconv.Itoa(s.env.cluster.Port), "-U", "postgres"}
	for _, v := range vars {
		args = append(args, "-D", v)
	}
	args = append(args, s.env.name)
	out, err := exec.CommandContext(ctx, filepath.Join(s.env.cluster.BinDir, "pgbench"), args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench: %w: %s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		return 0, errors.New("pgbench: no tps in output: " + string(out))
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// writeScript is the write path's SQL transaction, as core.CreatePost runs it: the post
// and its post.created event, nothing else (the consumers apply its effects later). The
// authors are the bench users, from :first on.
const writeScript = `\set author :first + random(0, :users - 1)
BEGIN;
INSERT INTO posts (author_id, body) VALUES (:author, 'benchmark post for @bench1') RETURNING id AS pid \gset
INSERT INTO events (topic, payload, request_id) VALUES ('post.created', jsonb_build_object('post_id', :pid, 'author_id', :author), 'pgbench');
COMMIT;
`

// writeScriptNotify is writeScript with the wake-up NOTIFY inside the transaction.
var writeScriptNotify = strings.Replace(writeScript, "COMMIT;", "SELECT pg_notify('starling_events', :pid::text);\nCOMMIT;", 1)

// postBody is the body of the posts of sections 1 and 7: one @mention of bench1 (the
// author is bench0).
func postBody(i int) string { return "benchmark post for @bench1 #" + strconv.Itoa(i) }

func (s *suite) writes(ctx context.Context) error {
	token, err := s.token(ctx, 8)
	if err != nil {
		return err
	}
	var first int64
	if err := s.env.pool.QueryRow(ctx, "SELECT id FROM users WHERE username = 'bench0'").Scan(&first); err != nil {
		return err
	}
	srv, err := s.start("serve") // no workers: measure the write path alone
	if err != nil {
		return err
	}
	defer srv.stop()
	levels := []int{8, 32, 128}
	if s.quick {
		levels = []int{8, 32}
	}
	host := hostOf(srv.base)
	post := postFormRequest(host, "/api/v1/statuses", token, func(i int) string {
		return url.Values{"status": {postBody(i)}}.Encode()
	})
	type row struct {
		c                 int
		api, pg, pgNotify float64
		p50, p99          time.Duration
		errors            int64
		genCPU            float64
	}
	var rows []row
	var cdf []time.Duration
	vars := []string{"users=8", "first=" + strconv.FormatInt(first, 10)}
	for _, c := range levels {
		var apiRates, pgRates, pgnRates []float64
		var best load
		for r := range s.runs {
			progress("writes: %d clients, run %d/%d", c, r+1, s.runs)
			var profiled <-chan struct{}
			if r == 0 {
				profiled = srv.cpuProfile(fmt.Sprintf("writes-%d", c), s.seconds)
			}
			l := rawLoop(host, c, s.seconds, http.StatusOK, post)
			if profiled != nil {
				<-profiled
			}
			apiRates = append(apiRates, l.rate)
			if l.rate >= median(apiRates) {
				best = l
			}
			pg, err := s.pgbench(ctx, writeScript, c, s.seconds, vars...)
			if err != nil {
				return err
			}
			pgRates = append(pgRates, pg)
			pgn, err := s.pgbench(ctx, writeScriptNotify, c, s.seconds, vars...)
			if err != nil {
				return err
			}
			pgnRates = append(pgnRates, pgn)
		}
		rows = append(rows, row{c: c, api: median(apiRates), pg: median(pgRates), pgNotify: median(pgnRates),
			p50: best.pct(0.5), p99: best.pct(0.99), errors: best.errors, genCPU: best.genCPU})
		if c == 8 {
			s.writes8 = median(apiRates)
		}
		if c == 32 {
			cdf = best.latencies
		}
	}
	s.printf("## 1. Post writes\n\n`POST /api/v1/statuses` with an @mention through one `starling serve` process and no worker, closed loop, as one account (bearer token). " +
		"What it measures: the write transaction alone, which now holds the post and its `post.created` event only; the effects (notification, counters, email job) are the consumers' (sections 4–7). " +
		"Baseline: pgbench running that exact transaction (post + event, no job rows) at the same concurrency, and the same transaction with `pg_notify` inside it, " +
		"which Starling does not do (it sends one coalesced wake-up after the commit).\n\n")
	s.printf("| clients | Starling posts/s | p50 | p99 | pgbench tx/s | ratio | pgbench with NOTIFY in tx | errors | generator CPU |\n")
	s.printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	var xs []float64
	var api, pg, pgn []float64
	for _, r := range rows {
		s.printf("| %d | %.0f | %s | %s | %.0f | %.2f× | %.0f | %d | %.2f |\n", r.c, r.api, ms(r.p50), ms(r.p99), r.pg, r.api/r.pg, r.pgNotify, r.errors, r.genCPU)
		xs = append(xs, float64(r.c))
		api, pg, pgn = append(api, r.api), append(pg, r.pg), append(pgn, r.pgNotify)
	}
	s.printf("\nGoal: ≥ 0.85× the baseline. ![throughput vs concurrency](bench-writes.svg) ![latency CDF at 32 clients](bench-writes-cdf.svg)\n\n")
	s.charts["bench-writes.svg"] = lineChart("Post writes: throughput vs concurrency", "clients", "posts/s", xs,
		[]series{{"Starling API", api}, {"pgbench (same SQL)", pg}, {"pgbench + NOTIFY in tx", pgn}})
	s.charts["bench-writes-cdf.svg"] = cdfChart("Post write latency CDF, 32 clients", cdf)
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// seed fills posts up to n rows (authors among the bench users) without events or jobs.
func (s *suite) seed(ctx context.Context, n int) error {
	var have int
	if err := s.env.pool.QueryRow(ctx, "SELECT count(*) FROM posts").Scan(&have); err != nil {
		return err
	}
	for have < n {
		batch := min(n-have, 500_000)
		progress("seeding posts: %d of %d", have, n)
		_, err := s.env.pool.Exec(ctx, `INSERT INTO posts (author_id, body, created_at)
			SELECT (SELECT min(id) FROM users) + (g % 8), 'seeded post number ' || g, now() - make_interval(secs => g)
			FROM generate_series(1, $1) g`, batch)
		if err != nil {
			return err
		}
		have += batch
	}
	_, err := s.env.pool.Exec(ctx, "VACUUM ANALYZE posts")
	return err
}

const timelineScript = `SELECT p.id, p.author_id, p.body, p.created_at, u.id, u.username, u.display_name
FROM posts p JOIN users u ON u.id = p.author_id
WHERE p.deleted_at IS NULL AND p.id < 9223372036854775807 AND p.id > 0
ORDER BY p.id DESC LIMIT 21;
`

func (s *suite) reads(ctx context.Context) error {
	sizes := []int{10_000, 1_000_000}
	if s.quick {
		sizes = []int{10_000, 100_000}
	} else {
		sizes = append(sizes, 10_000_000)
	}
	srv, err := s.start("serve")
	if err != nil {
		return err
	}
	defer srv.stop()
	host := hostOf(srv.base)
	api := getRequest(host, "/api/v1/timelines/public?limit=20")
	web := getRequest(host, "/")
	s.printf("## 2. Timeline reads\n\n32 connections, closed loop, anonymous (what a shared link or an app before login asks). Baseline: pgbench on the timeline query (the page of 20 plus one, with authors), same run. " +
		"The load generator is a lean HTTP/1.1 client (keep-alive connections, one reused buffer each); its CPU share is the generator's CPU time over the run's wall time, in cores of the 2.\n\n")
	s.printf("| posts | API req/s | API p50 | API p99 | web page req/s | web p50 | web p99 | pgbench q/s | API ratio | web ratio | generator CPU (API run) | server CPU (API run) |\n")
	s.printf("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, n := range sizes {
		if err := s.seed(ctx, n); err != nil {
			return err
		}
		var apiR, webR, pgR []float64
		var apiL, webL load
		var serverCPU float64
		for r := range s.runs {
			progress("reads: %d posts, run %d/%d", n, r+1, s.runs)
			cpu0 := srv.cpu()
			a := rawLoop(host, 32, s.seconds, http.StatusOK, api)
			serverCPU = (srv.cpu() - cpu0).Seconds() / a.elapsed.Seconds()
			w := rawLoop(host, 32, s.seconds, http.StatusOK, web)
			pg, err := s.pgbench(ctx, timelineScript, 32, s.seconds)
			if err != nil {
				return err
			}
			apiR, webR, pgR = append(apiR, a.rate), append(webR, w.rate), append(pgR, pg)
			apiL, webL = a, w
		}
		s.printf("| %d | %.0f | %s | %s | %.0f | %s | %s | %.0f | %.2f× | %.2f× | %.2f | %.2f |\n", n, median(apiR), ms(apiL.pct(.5)), ms(apiL.pct(.99)),
			median(webR), ms(webL.pct(.5)), ms(webL.pct(.99)), median(pgR), median(apiR)/median(pgR), median(webR)/median(pgR), apiL.genCPU, serverCPU)
	}
	// What apps send: compression, and revalidation of a page they already have.
	var etag string
	if res, err := http.Get(srv.base + "/api/v1/timelines/public?limit=20"); err == nil {
		etag = res.Header.Get("ETag")
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	type variant struct {
		name string
		req  request
		want int
	}
	variants := []variant{
		{"API, `Accept-Encoding: gzip`", getRequest(host, "/api/v1/timelines/public?limit=20", "Accept-Encoding: gzip"), http.StatusOK},
		{"web `/`, `Accept-Encoding: gzip`", getRequest(host, "/", "Accept-Encoding: gzip"), http.StatusOK},
	}
	if etag != "" {
		variants = append(variants, variant{"API, `If-None-Match` of the current page (304)", getRequest(host, "/api/v1/timelines/public?limit=20", "If-None-Match: "+etag), http.StatusNotModified})
	}
	s.printf("\nAt %d posts, the same 32 connections asking as apps and browsers do:\n\n| request | req/s | p50 | p99 | errors |\n| --- | ---: | ---: | ---: | ---: |\n", sizes[len(sizes)-1])
	for _, v := range variants {
		var rates []float64
		var last load
		for r := range s.runs {
			progress("reads: %s, run %d/%d", v.name, r+1, s.runs)
			last = rawLoop(host, 32, s.seconds, v.want, v.req)
			rates = append(rates, last.rate)
		}
		s.printf("| %s | %.0f | %s | %s | %d |\n", v.name, median(rates), ms(last.pct(.5)), ms(last.pct(.99)), last.errors)
	}
	if etag == "" {
		s.printf("\nThe API's page carries no `ETag`: no revalidation run.\n")
	}
	s.printf("\nTarget ≥ 0.5× the baseline with p99 ≤ 10 ms, flat in the number of posts.\n\n")
	return nil
}

func (s *suite) fanout(ctx context.Context) error {
	levels := []int{1000, 10000}
	if s.quick {
		levels = []int{1000}
	}
	token, err := s.token(ctx, 1)
	if err != nil {
		return err
	}
	s.printf("## 3. Live fan-out\n\nSSE clients on `/api/v1/streaming/public` of one `starling serve` process; 50 posts/s through the API for %s; "+
		"latency from the POST's response (commit) to each client's receipt.\n\n", s.seconds*2)
	s.printf("| clients | posts | posts/s | missing deliveries | p50 | p99 | max | server RSS per idle client, 1 s after connecting | settled | live heap + stacks per idle client | harness CPU | server CPU |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, n := range levels {
		srv, err := s.start("serve")
		if err != nil {
			return err
		}
		before, liveBefore := srv.rss(), srv.live()
		cctx, cancel := context.WithCancel(ctx)
		host := hostOf(srv.base)
		got := make([][]arrival, n)
		var connected, done sync.WaitGroup
		var failed atomic.Int64
		for i := range n {
			connected.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				sseListen(cctx, host, "/api/v1/streaming/public", func(err error) {
					if err != nil {
						failed.Add(1)
					}
					connected.Done()
				}, &got[i])
			}()
		}
		connected.Wait()
		time.Sleep(time.Second)
		perConn := (srv.rss() - before) / int64(n)
		livePerConn := (srv.live() - liveBefore) / int64(n)
		settledPerConn := (srv.settledRSS() - before) / int64(n)
		srv.profiles(fmt.Sprintf("fanout-sse-%d", n))
		progress("fan-out: %d clients connected (%d failed), %d KiB RSS (%d KiB settled), %d KiB live per client", n, failed.Load(), perConn>>10, settledPerConn>>10, livePerConn>>10)
		committed := map[int64]time.Time{}
		tick := time.NewTicker(20 * time.Millisecond)
		end := time.Now().Add(s.seconds * 2)
		cpu0, scpu0, t0 := selfCPU(), srv.cpu(), time.Now()
		profiled := srv.cpuProfile(fmt.Sprintf("fanout-sse-%d", n), s.seconds*2)
		for time.Now().Before(end) {
			<-tick.C
			req, _ := http.NewRequest(http.MethodPost, srv.base+"/api/v1/statuses", strings.NewReader("status=fan-out+probe"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			var st struct{ ID string }
			json.NewDecoder(res.Body).Decode(&st)
			res.Body.Close()
			if id, err := strconv.ParseInt(st.ID, 10, 64); err == nil {
				committed[id] = time.Now()
			}
		}
		tick.Stop()
		time.Sleep(3 * time.Second)
		wall := time.Since(t0).Seconds()
		harnessCPU, serverCPU := (selfCPU()-cpu0).Seconds()/wall, (srv.cpu()-scpu0).Seconds()/wall
		cancel()
		done.Wait()
		<-profiled
		var lat []time.Duration
		deliveries := 0
		for _, arrivals := range got {
			for _, a := range arrivals {
				if at, ok := committed[a.id]; ok {
					lat = append(lat, a.at.Sub(at))
					deliveries++
				}
			}
		}
		missing := len(committed)*n - deliveries
		slices.Sort(lat)
		l := load{latencies: lat}
		maxLat := time.Duration(0)
		if len(lat) > 0 {
			maxLat = lat[len(lat)-1]
		}
		s.printf("| %d | %d | %.0f | %d | %s | %s | %s | %.1f KiB | %.1f KiB | %.1f KiB | %.2f | %.2f |\n", n, len(committed), float64(len(committed))/(s.seconds*2).Seconds(),
			missing, ms(l.pct(.5)), ms(l.pct(.99)), ms(maxLat), float64(perConn)/1024, float64(settledPerConn)/1024, float64(livePerConn)/1024, harnessCPU, serverCPU)
		srv.stop()
	}
	if err := s.idleWebSockets(levels[len(levels)-1]); err != nil {
		return err
	}
	s.printf("\nTargets: p99 ≤ 50 ms at 1k clients, ≤ 250 ms at 10k; ≤ 12 KiB per idle connection. The clients run in the harness process on the same cores: each is one connection with a 4 KiB reader that tests each line for the update's prefix (no HTTP client, no regular expression, no lock); harness and server CPU are their CPU time over the posting window's wall time, in cores of the 2. Posts are sent one at a time every 20 ms, so fewer than 50/s means the server answered slower than that.\n\n")
	return nil
}

// idleWebSockets measures the server's memory per idle WebSocket client: n connections
// subscribed to the public stream, no events.
func (s *suite) idleWebSockets(n int) error {
	srv, err := s.start("serve")
	if err != nil {
		return err
	}
	defer srv.stop()
	host := hostOf(srv.base)
	before, liveBefore := srv.rss(), srv.live()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		c, err := wsOpen(host, "/api/v1/streaming?stream=public")
		if err != nil {
			s.printf("\nOpening idle WebSocket client %d failed: %v.\n", len(conns)+1, err)
			return nil
		}
		conns = append(conns, c)
	}
	time.Sleep(time.Second)
	perConn := float64(srv.rss()-before) / float64(n) / 1024
	livePerConn := float64(srv.live()-liveBefore) / float64(n) / 1024
	settledPerConn := float64(srv.settledRSS()-before) / float64(n) / 1024
	srv.profiles(fmt.Sprintf("fanout-ws-%d", n))
	progress("fan-out: %d idle WebSocket clients, %.1f KiB RSS (%.1f settled), %.1f KiB live per client", n, perConn, settledPerConn, livePerConn)
	s.printf("\n%d idle WebSocket clients on `/api/v1/streaming?stream=public` (no events): server RSS %.1f KiB per client 1 s after connecting, %.1f KiB settled; live heap + stacks %.1f KiB.\n", n, perConn, settledPerConn, livePerConn)
	return nil
}

// login measures failed logins at the default argon2id cost: a wrong password for an
// existing account and any password for an unknown name should take the same time, so
// that timing does not tell which accounts exist.
func (s *suite) login(ctx context.Context) error {
	srv, err := s.start("serve", "STARLING_PASSWORD_MEMORY_KIB=19456", "STARLING_PASSWORD_ITERATIONS=2")
	if err != nil {
		return err
	}
	defer srv.stop()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) (int, time.Duration, error) {
		start := time.Now()
		res, err := noRedirect.PostForm(srv.base+path, form)
		if err != nil {
			return 0, 0, err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, time.Since(start), nil
	}
	// An account whose hash has the default cost.
	if code, _, err := post("/signup", url.Values{"username": {"timing"}, "email": {"timing@example.com"},
		"password": {"correct horse battery staple"}}); err != nil || code != http.StatusSeeOther {
		return fmt.Errorf("signup: %d %v", code, err)
	}
	n := 40
	if s.quick {
		n = 12
	}
	progress("login: %d failed logins of each kind", n)
	// In random order: with a strict alternation, the garbage collection that one
	// attempt's 19 MiB of argon2 memory triggers would land on the other kind every time.
	kinds := make([]bool, 2*n) // true: an unknown name
	for i := range n {
		kinds[i] = true
	}
	rand.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	var known, unknown []time.Duration
	for i, isUnknown := range kinds {
		login := "timing"
		if isUnknown {
			login = fmt.Sprintf("nobody%d", i)
		}
		code, d, err := post("/login", url.Values{"login": {login}, "password": {"wrong password"}})
		if err != nil {
			return err
		}
		if code != http.StatusUnprocessableEntity {
			return fmt.Errorf("login as %s: status %d, want 422", login, code)
		}
		if isUnknown {
			unknown = append(unknown, d)
		} else {
			known = append(known, d)
		}
	}
	at := func(ds []time.Duration, p float64) time.Duration {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return ds[int(p*float64(len(ds)-1))]
	}
	s.printf("## 8. Failed logins\n\n%d attempts each, in random order, against one `starling serve` with the default argon2id cost (19 MiB, 2 passes).\n\n", n)
	s.printf("| login | p50 | p90 |\n| --- | ---: | ---: |\n")
	s.printf("| existing account, wrong password | %s | %s |\n", ms(at(known, .5)), ms(at(known, .9)))
	s.printf("| unknown name | %s | %s |\n\n", ms(at(unknown, .5)), ms(at(unknown, .9)))
	s.printf("p50 ratio unknown/existing: %.2f (1.00 means timing tells nothing).\n\n",
		float64(at(unknown, .5))/float64(at(known, .5)))
	return nil
}
