// Command starling-bench measures Starling on this machine against its own local
// PostgreSQL (under .data/bench-postgres, with the same durable settings as `make run`).
//
//	starling-bench suite     the `make bench` report (docs/benchmarks.md)
//	starling-bench overload  one server at 2× its measured capacity: what it serves, what it
//	                         sheds, its memory, and its recovery (`make overload`)
//	starling-bench live      write path with and without NOTIFY in the transaction, and
//	                         commit→client latency with many SSE clients
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/devdb"
	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/jobs"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/migrate"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/store"
)

func main() {
	if len(os.Args) >= 2 && (os.Args[1] == "suite" || os.Args[1] == "overload") {
		run := runSuite
		if os.Args[1] == "overload" {
			run = runOverload
		}
		if err := run(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "starling-bench:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "live" {
		fmt.Fprintln(os.Stderr, "usage: starling-bench suite [-quick] [-bin bin/starling] [-out docs/benchmarks.md]\n"+
			"       starling-bench overload [-bin bin/starling] [-factor 2] [-capacity-seconds 15] [-overload-seconds 30] [-recovery-seconds 15] [-out .data/overload.md]\n"+
			"       starling-bench live [-writers 8] [-seconds 5] [-runs 3] [-clients 1000] [-rate 50]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("live", flag.ExitOnError)
	writers := fs.Int("writers", 8, "concurrent writers for the write-path runs")
	seconds := fs.Int("seconds", 5, "length of each write-path run")
	runs := fs.Int("runs", 3, "repetitions of each write-path variant (the median is reported)")
	clients := fs.Int("clients", 1000, "SSE clients for the latency run")
	rate := fs.Int("rate", 50, "posts per second during the latency run")
	latencySeconds := fs.Int("latency-seconds", 10, "length of the latency run")
	dataDir := fs.String("data-dir", ".data", "where the bench database lives")
	fs.Parse(os.Args[2:])
	if err := runLive(*dataDir, *writers, time.Duration(*seconds)*time.Second, *runs, *clients, *rate, time.Duration(*latencySeconds)*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, "starling-bench:", err)
		os.Exit(1)
	}
}

type env struct {
	pool    *pgxpool.Pool
	dsn     string
	log     *slog.Logger
	cluster *devdb.Cluster
	name    string
}

// freshDB starts the bench cluster and gives a new, migrated database.
func freshDB(ctx context.Context, dataDir, name string) (*env, error) {
	c, err := devdb.Start(ctx, devdb.Options{Dir: filepath.Join(dataDir, "bench-postgres"), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	admin, err := pgxpool.New(ctx, c.DSN("postgres"))
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		return nil, err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return nil, err
	}
	dsn := c.DSN(name)
	pool, err := store.Open(ctx, dsn, 40)
	if err != nil {
		return nil, err
	}
	if err := migrate.Up(ctx, pool, io.Discard); err != nil {
		return nil, err
	}
	return &env{pool: pool, dsn: dsn, log: slog.New(slog.DiscardHandler), cluster: c, name: name}, nil
}

type variant struct {
	name        string
	notifyInTx  bool
	wakeUp      bool
	riverNotify time.Duration // InsertNotifyEvery of the enqueueing client
}

func runLive(dataDir string, writers int, d time.Duration, runs, clients, rate int, latencyFor time.Duration) error {
	ctx := context.Background()
	e, err := freshDB(ctx, dataDir, "bench_live")
	if err != nil {
		return err
	}
	defer e.pool.Close()
	var pgVersion string
	e.pool.QueryRow(ctx, "SHOW server_version").Scan(&pgVersion)
	fmt.Printf("# starling-bench live — %d cores, %s, PostgreSQL %s, %s\n\n", runtime.NumCPU(), runtime.Version(), pgVersion, time.Now().UTC().Format(time.RFC3339))

	variants := []variant{
		{name: "wake-up after commit (River insert NOTIFY ≤1/s/queue)", wakeUp: true, riverNotify: time.Second},
		{name: "NOTIFY inside the post's transaction", notifyInTx: true, riverNotify: time.Second},
		{name: "wake-up after commit, River insert NOTIFY ≤1/10ms/queue", wakeUp: true, riverNotify: 10 * time.Millisecond},
		{name: "no NOTIFY at all (reference)", riverNotify: time.Hour},
	}
	results := make([][]float64, len(variants))
	fmt.Printf("Write path: core.CreatePost with one @mention (the post and its event), %d writers, %s per run, %d runs, interleaved.\n\n", writers, d, runs)
	for r := range runs {
		for i, v := range variants {
			pps, err := writeRun(ctx, e, v, writers, d)
			if err != nil {
				return err
			}
			results[i] = append(results[i], pps)
			fmt.Fprintf(os.Stderr, "run %d/%d %-60s %8.0f posts/s\n", r+1, runs, v.name, pps)
		}
	}
	fmt.Println("| variant | posts/s (median) | runs |")
	fmt.Println("| --- | ---: | --- |")
	for i, v := range variants {
		fmt.Printf("| %s | %.0f | %s |\n", v.name, median(results[i]), join(results[i]))
	}
	base := median(results[0])
	fmt.Printf("\nNOTIFY inside the transaction runs at %.2f× the wake-up design.\n\n", median(results[1])/base)

	// Notify transaction variants: plain autocommit vs SET LOCAL synchronous_commit = off.
	plain, async, err := notifyCost(ctx, e, 2000)
	if err != nil {
		return err
	}
	fmt.Printf("One wake-up NOTIFY (2,000 sent one after another): autocommit SELECT pg_notify %.3f ms; "+
		"BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify; COMMIT %.3f ms.\n\n", plain, async)

	return latencyRun(ctx, e, clients, rate, latencyFor)
}

func join(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return strings.Join(parts, ", ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// writeRun measures posts/s through core.CreatePost for one variant.
func writeRun(ctx context.Context, e *env, v variant, writers int, d time.Duration) (float64, error) {
	runner, err := jobs.New(e.pool, jobs.Config{Log: e.log, InsertNotifyEvery: v.riverNotify})
	if err != nil {
		return 0, err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wake func(int64)
	if v.wakeUp {
		n := events.NewNotifier(e.pool, 5*time.Millisecond, e.log)
		go n.Run(rctx)
		wake = n.Wake
	}
	svc := core.New(e.pool, core.Options{Jobs: runner.Client, Wake: wake, NotifyInTx: v.notifyInTx,
		Password: password.Params{MemoryKiB: 1024, Iterations: 1}, SignupsOpen: true, Log: e.log})
	users := make([]core.User, writers)
	for i := range users {
		name := fmt.Sprintf("w%d_%d", i, time.Now().UnixNano()%1e9)
		if users[i], err = svc.CreateUser(ctx, core.SignUpInput{Username: name, Email: name + "@example.com", Password: "bench password 1"}); err != nil {
			return 0, err
		}
	}
	var count atomic.Int64
	var firstErr error
	var once sync.Once
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mention := users[(i+1)%writers].Username
			for time.Now().Before(deadline) {
				if _, err := svc.CreatePost(ctx, users[i].ID, "benchmark post for @"+mention); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				count.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	// Keep the job table from growing across runs.
	if _, err := e.pool.Exec(ctx, "TRUNCATE river_job"); err != nil {
		return 0, err
	}
	return float64(count.Load()) / elapsed.Seconds(), firstErr
}

// notifyCost times n wake-ups sent one after another, both ways, in milliseconds each.
func notifyCost(ctx context.Context, e *env, n int) (plain, async float64, err error) {
	start := time.Now()
	for i := range n {
		if _, err := e.pool.Exec(ctx, "SELECT pg_notify('bench', $1)", fmt.Sprint(i)); err != nil {
			return 0, 0, err
		}
	}
	plain = float64(time.Since(start).Microseconds()) / 1000 / float64(n)
	start = time.Now()
	for i := range n {
		tx, err := e.pool.Begin(ctx)
		if err != nil {
			return 0, 0, err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return 0, 0, err
		}
		if _, err := tx.Exec(ctx, "SELECT pg_notify('bench', $1)", fmt.Sprint(i)); err != nil {
			return 0, 0, err
		}
		if err := tx.Commit(ctx); err != nil {
			return 0, 0, err
		}
	}
	async = float64(time.Since(start).Microseconds()) / 1000 / float64(n)
	return plain, async, nil
}

// latencyRun connects clients SSE clients to a hub and measures the time from the commit
// of each post (CreatePost returned) to its arrival at every client.
func latencyRun(ctx context.Context, e *env, clients, rate int, d time.Duration) error {
	raiseFileLimit()
	runner, err := jobs.New(e.pool, jobs.Config{Log: e.log})
	if err != nil {
		return err
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := events.NewNotifier(e.pool, 5*time.Millisecond, e.log)
	go n.Run(rctx)
	svc := core.New(e.pool, core.Options{Jobs: runner.Client, Wake: n.Wake,
		Password: password.Params{MemoryKiB: 1024, Iterations: 1}, SignupsOpen: true, Log: e.log})
	hub := live.NewHub(events.NewReader(e.pool), svc, e.log, live.Options{})
	go hub.Run(rctx)
	go live.NewListener(e.dsn, hub.Kick, e.log).Run(rctx)
	format := func(_ context.Context, d *live.Delivery) (live.Event, error) {
		if d.Topic != events.TopicPostCreated {
			return live.Event{}, nil
		}
		return live.Event{Name: "post", Data: []byte(fmt.Sprint(d.PostID))}, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.Stream(w, r, live.Filter{Public: true}, core.Credential{}, events.Cursor{}, false, false, format)
	})}
	go srv.Serve(ln)
	defer srv.Close()

	var mu sync.Mutex
	arrivals := map[int64][]time.Time{}
	var connected sync.WaitGroup
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: 0}}
	for range clients {
		connected.Add(1)
		go func() {
			req, _ := http.NewRequestWithContext(rctx, http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
			res, err := httpc.Do(req)
			connected.Done()
			if err != nil {
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				line := sc.Text()
				if id, ok := strings.CutPrefix(line, "data: "); ok {
					var pid int64
					fmt.Sscan(id, &pid)
					now := time.Now()
					mu.Lock()
					arrivals[pid] = append(arrivals[pid], now)
					mu.Unlock()
				}
			}
		}()
	}
	connected.Wait()
	for hub.Subscribers() < clients {
		time.Sleep(10 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Printf("Live fan-out: %d SSE clients connected (in this process, with the server), %d posts/s for %s.\n\n", clients, rate, d)

	author, err := svc.CreateUser(ctx, core.SignUpInput{Username: "latency", Email: "latency@example.com", Password: "bench password 1"})
	if err != nil {
		return err
	}
	committed := map[int64]time.Time{}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		<-tick.C
		p, err := svc.CreatePost(ctx, author.ID, "latency probe")
		if err != nil {
			return err
		}
		committed[p.ID] = time.Now()
	}
	time.Sleep(2 * time.Second)
	mu.Lock()
	defer mu.Unlock()
	var lat []time.Duration
	missing := 0
	for id, at := range committed {
		got := arrivals[id]
		missing += clients - len(got)
		for _, t := range got {
			lat = append(lat, t.Sub(at))
		}
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		return errors.New("no deliveries")
	}
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Println("| clients | posts | deliveries | missing | p50 | p99 | max |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	fmt.Printf("| %d | %d | %d | %d | %s | %s | %s |\n", clients, len(committed), len(lat), missing,
		q(0.50).Round(100*time.Microsecond), q(0.99).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
	b, _ := json.Marshal(map[string]any{"hub_reads": hub.Reads.Load(), "notifies": n.Sent.Load(), "wakes": n.Wakes.Load()})
	fmt.Printf("\nHub: %s\n", b)
	return nil
}

func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
