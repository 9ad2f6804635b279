package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
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

// The overload run answers one question of the reliability issue: at factor× the measured
// capacity, does one `starling serve` process shed load with 429/503, stay up, keep its
// memory bounded, and recover when the load drops?
//
// Phase 1 measures capacity with a closed loop. Phases 2 and 3 are an open loop (a fixed
// arrival rate, every request in its own goroutine, so that a slow server does not slow
// the load down), run back to back: factor× capacity, then half of it. An optional phase 4
// repeats the overload against a process with the per-token rate limit on.

// Outcomes of one request.
const (
	served  = iota // a 2xx answer
	shed429        // 429 Too Many Requests
	shed503        // 503 Service Unavailable
	failed         // a timeout, a connection error or any other status
)

// result is what happened to one open-loop request.
type result struct {
	phase   int
	sent    time.Duration // since the run's start
	took    time.Duration
	outcome int
	failure string // for failed: "timeout", "status 500", ...
}

// phase is one stretch of constant offered load.
type phase struct {
	name     string
	rate     float64 // requests per second; 0 for the closed loop
	d        time.Duration
	from, to time.Duration // since the run's start, set when it has run
	skipped  int           // requests not sent because the generator was stalled
	// CPU time used during the phase, by the server and by this process (the load).
	serverCPU, loadCPU time.Duration
}

// cpuMark is the CPU time used so far by the server and by this process.
type cpuMark struct{ server, load time.Duration }

// cpuNow reads the CPU time used so far by pid and by this process.
func cpuNow(pid int) cpuMark {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpuMark{server: processCPU(pid), load: self}
}

// measure runs f and records the CPU used meanwhile in p.
func (p *phase) measure(pid int, f func()) {
	before := cpuNow(pid)
	f()
	after := cpuNow(pid)
	p.serverCPU, p.loadCPU = after.server-before.server, after.load-before.load
}

// processCPU is the user and system time of pid, from /proc/<pid>/stat (in clock ticks of
// 10 ms, the Linux default).
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// cores is the CPU used during the phase, in cores.
func (p *phase) cores(cpu time.Duration) string {
	return fmt.Sprintf("%.2f", cpu.Seconds()/p.d.Seconds())
}

// overloadRun sends the request mix to one server and keeps every result.
type overloadRun struct {
	base    string
	token   string
	client  *http.Client
	start   time.Time
	n       atomic.Int64 // requests made so far: picks the mix and numbers the posts
	mu      sync.Mutex
	results []result
	pending sync.WaitGroup
}

// runOverload is `starling-bench overload`: it runs the phases against a fresh bench
// database and prints the report.
func runOverload(args []string) error {
	fs := flag.NewFlagSet("overload", flag.ExitOnError)
	bin := fs.String("bin", "bin/starling", "the starling binary to measure")
	capacitySeconds := fs.Int("capacity-seconds", 15, "length of the closed-loop capacity phase")
	overloadSeconds := fs.Int("overload-seconds", 30, "length of the overload phase")
	recoverySeconds := fs.Int("recovery-seconds", 15, "length of the recovery phase at half the capacity")
	limitedSeconds := fs.Int("limited-seconds", 5, "length of an overload phase against a process with the rate limit on (0: skip it)")
	factor := fs.Float64("factor", 2, "offered load of the overload phase, in multiples of the measured capacity")
	clients := fs.Int("clients", 32, "closed-loop clients of the capacity phase")
	posts := fs.Int("posts", 10_000, "posts seeded before the run")
	out := fs.String("out", ".data/overload.md", "where to write the report (it is also printed)")
	dataDir := fs.String("data-dir", ".data", "where the bench database lives")
	fs.Parse(args)
	capacityFor, overloadFor := time.Duration(*capacitySeconds)*time.Second, time.Duration(*overloadSeconds)*time.Second
	recoveryFor, limitedFor := time.Duration(*recoverySeconds)*time.Second, time.Duration(*limitedSeconds)*time.Second
	raiseFileLimit()
	ctx := context.Background()
	began := time.Now()
	load1, pressure1 := loadAverage(), cpuPressure()

	e, err := freshDB(ctx, *dataDir, "bench_overload")
	if err != nil {
		return err
	}
	defer e.pool.Close()
	s := &suite{bin: *bin, env: e}
	if s.tmp, err = os.MkdirTemp("", "starling-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(s.tmp)
	progress("== overload: users, token and %d posts", *posts)
	token, err := s.token(ctx, 8)
	if err != nil {
		return err
	}
	if err := s.seed(ctx, *posts); err != nil {
		return err
	}
	var pg string
	e.pool.QueryRow(ctx, "SHOW server_version").Scan(&pg)

	// STARLING_DB_MAX_CONNS=10 is the default; the suite's start raises it to 40.
	srv, err := s.start("serve", "STARLING_RATE_LIMIT=off", "STARLING_DB_MAX_CONNS=10")
	if err != nil {
		return err
	}
	defer srv.stop()
	procs := serverGOMAXPROCS(srv.metrics)
	o := newOverloadRun(srv.base, token)
	w := watch(srv, o.start)

	phases := []*phase{{name: "1. capacity (closed loop)", d: capacityFor}}
	progress("capacity: %d clients, closed loop, %s", *clients, capacityFor)
	var c429, c503 atomic.Int64
	phases[0].from = time.Since(o.start)
	var capacity load
	phases[0].measure(srv.cmd.Process.Pid, func() {
		capacity = closedLoop(*clients, capacityFor, func(client *http.Client, _ int) error {
			res, err := client.Do(o.request())
			if err == nil && res.StatusCode == http.StatusTooManyRequests {
				c429.Add(1)
			}
			if err == nil && res.StatusCode == http.StatusServiceUnavailable {
				c503.Add(1)
			}
			return discard(res, err, http.StatusOK)
		})
	})
	phases[0].to = time.Since(o.start)
	progress("capacity: %.0f requests/s, p99 %s, %d errors", capacity.rate, ms(capacity.pct(.99)), capacity.errors)
	if capacity.rate < 1 {
		return errors.New("capacity phase served nothing")
	}

	phases = append(phases,
		&phase{name: fmt.Sprintf("2. overload (%g× capacity)", *factor), rate: *factor * capacity.rate, d: overloadFor},
		&phase{name: "3. recovery (0.5× capacity)", rate: 0.5 * capacity.rate, d: recoveryFor})
	for i := 1; i < len(phases); i++ {
		progress("%s: %.0f requests/s for %s", phases[i].name, phases[i].rate, phases[i].d)
		phases[i].measure(srv.cmd.Process.Pid, func() { o.openLoop(i, phases[i]) })
	}
	o.pending.Wait()
	// The process must still be there and ready once the load is gone.
	alive := processAlive(srv.cmd.Process.Pid)
	ready := readyz(srv.base)
	w.stop()
	hwm := procStatusKB(srv.cmd.Process.Pid, "VmHWM") << 10

	var limited *phase
	var limitedW *watcher
	if limitedFor > 0 {
		srv.stop()
		limitedSrv, err := s.start("serve", "STARLING_RATE_LIMIT=300/5m", "STARLING_DB_MAX_CONNS=10")
		if err != nil {
			return err
		}
		defer limitedSrv.stop()
		o.base = limitedSrv.base
		limitedW = watch(limitedSrv, o.start)
		limited = &phase{name: fmt.Sprintf("4. rate limit on (300/5m per token or address), %g× capacity", *factor), rate: *factor * capacity.rate, d: limitedFor}
		progress("%s: %.0f requests/s for %s", limited.name, limited.rate, limited.d)
		limited.measure(limitedSrv.cmd.Process.Pid, func() {
			o.openLoop(len(phases), limited)
			o.pending.Wait()
		})
		limitedW.stop()
	}

	f := &overloadFigures{began: began, load: load1, pressure: pressure1, serverProcs: procs, pg: strings.Fields(pg)[0],
		cluster: filepath.Join(*dataDir, "bench-postgres"), posts: *posts, clients: *clients, factor: *factor,
		phases: phases, capacity: capacity, c429: c429.Load(), c503: c503.Load(), results: o.results, w: w,
		alive: alive, ready: ready, hwm: hwm, limited: limited, limitedW: limitedW}
	report := f.report()
	fmt.Print(report)
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, []byte(report), 0o644); err != nil {
		return err
	}
	progress("wrote %s", *out)
	return nil
}

// overloadFigures is everything an overload run measured.
type overloadFigures struct {
	began           time.Time
	load, pressure  string // of the machine at the start
	serverProcs, pg string
	cluster         string
	posts, clients  int
	factor          float64
	phases          []*phase // capacity, overload, recovery
	capacity        load
	c429, c503      int64 // of the capacity phase
	results         []result
	w               *watcher
	alive           bool
	ready           int // status of /readyz after phase 3
	hwm             int64
	limited         *phase // the rate-limited phase, or nil
	limitedW        *watcher
}

// pick keeps the results for which keep returns true.
func pick(all []result, keep func(result) bool) []result {
	return slices.DeleteFunc(slices.Clone(all), func(x result) bool { return !keep(x) })
}

// inSecond keeps the results of phase i sent in [from, from+1s).
func inSecond(all []result, i int, from time.Duration) []result {
	return pick(all, func(x result) bool { return x.phase == i && x.sent >= from && x.sent < from+time.Second })
}

// report writes the figures as markdown.
func (f *overloadFigures) report() string {
	r := &strings.Builder{}
	p := func(format string, a ...any) { fmt.Fprintf(r, format, a...) }
	cap0, ov, rv := f.phases[0], f.phases[1], f.phases[2]
	capacity, all, w := f.capacity, f.results, f.w
	p("# Overload run\n\n")
	p("Produced by `make overload` on %s in %s.\n\n", f.began.UTC().Format("2006-01-02 15:04 UTC"), time.Since(f.began).Round(time.Second))
	p("**Machine:** %d cores, GOMAXPROCS %d (harness) / %s (server), load average %s and CPU pressure %s (PSI some avg60: the share of the last minute in which a task waited for a CPU) at the start; "+
		"PostgreSQL %s (durable settings, under %s), %s. "+
		"The load generator, the server and PostgreSQL share these cores (and the machine is shared with other work), so capacity is measured in the same run and the overload is relative to it.\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), f.serverProcs, f.load, f.pressure, f.pg, f.cluster, runtime.Version())
	p("**Settings:** one `starling serve` process, `STARLING_RATE_LIMIT=off` (phases 1–3), `STARLING_DB_MAX_CONNS=10` (the default), so the load shedder admits 40 requests at once "+
		"and lets 40 more wait up to 1 s; it answers 503 + `Retry-After: 1` at once when the queue is full, or after the wait. "+
		"Mix: 80%% `GET /api/v1/timelines/public?limit=20`, 20%% `POST /api/v1/statuses` (a bearer token with `read write`), over %d seeded posts. "+
		"Capacity: %d clients in a closed loop for %s. Overload and recovery: an open loop (each request in its own goroutine, client timeout 10 s, no connection cap), back to back. "+
		"Latencies are from the request's send to its full answer.\n\n", f.posts, f.clients, cap0.d)

	p("| phase | offered/s | served/s | shed 429 | shed 503 | errors | p50 served | p99 served | p99 shed | peak RSS | peak fds | peak goroutines | server CPU | load CPU |\n")
	p("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	p("| %s | %.0f (%d clients) | %.0f | %d | %d | %d | %s | %s | – | %s | %s | %s | %s | %s |\n", cap0.name,
		capacity.rate+float64(capacity.errors)/cap0.d.Seconds(), f.clients, capacity.rate, f.c429, f.c503, capacity.errors-f.c429-f.c503,
		ms(capacity.pct(.5)), ms(capacity.pct(.99)), mib(w.peakRSS(cap0.from, cap0.to)),
		orDash(w.peakFDs(cap0.from, cap0.to)), orDash(w.peakGoroutines(cap0.from, cap0.to)), cap0.cores(cap0.serverCPU), cap0.cores(cap0.loadCPU))
	over := tallyOf(pick(all, func(x result) bool { return x.phase == 1 }))
	rec := tallyOf(pick(all, func(x result) bool { return x.phase == 2 }))
	p("%s\n%s\n", over.row(ov, w), rec.row(rv, w))
	var lt tally
	if f.limited != nil {
		lt = tallyOf(pick(all, func(x result) bool { return x.phase == 3 }))
		p("%s\n", lt.row(f.limited, f.limitedW))
	}
	p("\nShed counts are answers, with their share of the requests offered in the phase; errors are timeouts, connection errors and any other status")
	for i, t := range []tally{over, rec, lt} {
		if len(t.failures) > 0 {
			p(" (phase %d: %s)", i+2, t.failureList())
		}
	}
	p(". Peak RSS is the largest of the server's VmRSS sampled every 200 ms; VmHWM at the end of phase 3: %s. "+
		"Open files and goroutines include the keep-alive connections the client leaves idle after the overload (the server closes them after 120 s). "+
		"Server CPU and load CPU are the cores used by the server process and by this load generator during the phase (PostgreSQL's share is not counted).\n\n", mib(f.hwm))
	steady, total := 0, 0
	for i, ph := range []*phase{ov, rv} {
		for sec := range int(ph.d / time.Second) {
			n := float64(len(inSecond(all, i+1, ph.from+time.Duration(sec)*time.Second)))
			total++
			if n > 0.75*ph.rate && n < 1.25*ph.rate {
				steady++
			}
		}
	}
	p("The load generator held the offered rate within 25%% of its target in %d of %d seconds of phases 2 and 3", steady, total)
	if skipped := ov.skipped + rv.skipped; steady < total || skipped > 0 {
		p(" (it shares the machine: when it was stalled it skipped the %d requests it was more than 50 ms late for, rather than sending them in one burst)", skipped)
	}
	p("; load average %s and CPU pressure %s at the end.\n\n", loadAverage(), cpuPressure())

	f.verdict(p, over, rec, lt)

	p("\n<details><summary>Per second of phases 2 and 3 (by the second a request was sent)</summary>\n\n")
	p("| s | phase | offered | served | shed 429 | shed 503 | errors | p99 served | p99 shed | peak RSS | fds | goroutines |\n")
	p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for i, ph := range []*phase{ov, rv} {
		for sec := range int(ph.d / time.Second) {
			from := ph.from + time.Duration(sec)*time.Second
			to := from + time.Second
			t := tallyOf(inSecond(all, i+1, from))
			p("| %d | %d | %d | %d | %d | %d | %d | %s | %s | %s | %s | %s |\n", (from-ov.from)/time.Second, i+2, t.offered, t.served, t.s429, t.s503,
				len(t.failedLat), msOr(t.servedLat, .99), msOr(t.shedLat, .99), mib(w.peakRSS(from, to)), orDash(w.peakFDs(from, to)), orDash(w.peakGoroutines(from, to)))
		}
	}
	p("\n</details>\n")
	return r.String()
}

// verdict writes one line per claim of the issue, each decided from the figures.
func (f *overloadFigures) verdict(p func(string, ...any), over, rec, lt tally) {
	cap0, ov, rv := f.phases[0], f.phases[1], f.phases[2]
	capacity, all, w := f.capacity, f.results, f.w
	third := ov.d / 3
	midPeak, lastPeak := w.peakRSS(ov.from+third, ov.from+2*third), w.peakRSS(ov.from+2*third, ov.to)
	bounded := lastPeak <= midPeak+midPeak/10+8<<20
	shedShare := float64(over.s429+over.s503) / float64(max(1, over.offered))
	errShare := float64(len(over.failedLat)) / float64(max(1, over.offered))
	servedRate := float64(over.served) / ov.d.Seconds()
	p("## Verdict\n\n")
	p("- **Shed at %g×:** %s — %.0f%% of the offered requests were refused (429 %d, 503 %d; p50 of a refusal %s, p99 %s), %.2f%% failed otherwise; "+
		"the server went on serving %.0f requests/s (%.0f%% of the measured capacity), with p50 %s and p99 %s.",
		f.factor, yesNo(shedShare > 0.05 && errShare < 0.001), 100*shedShare, over.s429, over.s503, msOr(over.shedLat, .5), msOr(over.shedLat, .99), 100*errShare,
		servedRate, 100*servedRate/capacity.rate, msOr(over.servedLat, .5), msOr(over.servedLat, .99))
	if pct(over.shedLat, .5) >= 500*time.Millisecond {
		p(" Refusals are not immediate: a request is refused only after it has waited the shedder's full second for a slot, and under sustained overload the admitted ones have waited nearly as long.")
	}
	p("\n")
	if servedRate > 1.25*capacity.rate {
		p("- **Warning:** phase 2 served %.0f%% of the capacity measured in phase 1, so phase 1 under-measured it (the machine was busier then) and phase 2 was not a %g× overload. Run it again.\n",
			100*servedRate/capacity.rate, f.factor)
	}
	p("- **Stayed up:** %s — the process was alive after the run and `/readyz` answered %s.\n", yesNo(f.alive && f.ready == http.StatusOK), readyText(f.ready))
	if midPeak == 0 || lastPeak == 0 {
		p("- **Memory bounded:** ? — the RSS sampler was stalled for a third of the overload; ")
	} else {
		p("- **Memory bounded:** %s — ", yesNo(bounded))
	}
	p("peak RSS %s in the middle third of the overload, %s in the last third (bounded: no more than 10%% + 8 MiB of growth); %s in phase 1; VmHWM %s.\n",
		mib(midPeak), mib(lastPeak), mib(w.peakRSS(cap0.from, cap0.to)), mib(f.hwm))
	recoveredAt, recovered := recoveryTime(all, rv, capacity.pct(.99))
	p("- **Recovered:** %s — ", yesNo(recovered))
	if time.Duration(recoveredAt)*time.Second < rv.d {
		after := tallyOf(pick(all, func(x result) bool { return x.phase == 2 && x.sent >= rv.from+time.Duration(recoveredAt)*time.Second }))
		p("from %d s after the load dropped on, every request was served and every second's p99 stayed within 2× phase 1's; from then on p50 %s, p99 %s (phase 1: %s, %s)",
			recoveredAt, msOr(after.servedLat, .5), msOr(after.servedLat, .99), ms(capacity.pct(.5)), ms(capacity.pct(.99)))
	} else {
		p("not by the end of phase 3")
	}
	p("; over all of phase 3, %.1f%% of requests served, p99 %s (the first seconds drain the overload's queue).\n",
		100*float64(rec.served)/float64(max(1, rec.offered)), msOr(rec.servedLat, .99))
	if f.limited != nil {
		limited429 := tallyOf(pick(all, func(x result) bool { return x.phase == 3 && x.outcome == shed429 }))
		p("- **With the rate limit on (phase 4):** %d of %d requests answered 429 (p50 %s, p99 %s), %d answered 503, %d served. ",
			lt.s429, lt.offered, msOr(limited429.shedLat, .5), msOr(limited429.shedLat, .99), lt.s503, lt.served)
		p("The API checks the rate limit before the load shedder, so a request over its allowance gets its 429 without waiting for a slot; the 503s are requests within their allowance that found the server full.\n")
	}
}

// newOverloadRun makes a run whose client never caps connections: an open loop must not
// queue in the client.
func newOverloadRun(base, token string) *overloadRun {
	tr := &http.Transport{MaxIdleConns: 20_000, MaxIdleConnsPerHost: 20_000, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	return &overloadRun{base: base, token: token, start: time.Now(),
		client: &http.Client{Transport: tr, Timeout: 10 * time.Second}}
}

// request makes the next request of the mix: four timeline reads, then a post.
func (o *overloadRun) request() *http.Request {
	n := o.n.Add(1)
	if n%5 != 0 {
		req, _ := http.NewRequest(http.MethodGet, o.base+"/api/v1/timelines/public?limit=20", nil)
		return req
	}
	body := url.Values{"status": {"overload post #" + strconv.FormatInt(n, 10)}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, o.base+"/api/v1/statuses", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+o.token)
	return req
}

// openLoop starts requests at p.rate per second for p.d, each in its own goroutine, and
// returns without waiting for their answers (o.pending does).
func (o *overloadRun) openLoop(i int, p *phase) {
	p.from = time.Since(o.start)
	t0 := time.Now()
	// After a stall of the generator (a shared machine), skip what it is late for beyond
	// 50 ms rather than sending it all in one burst.
	burst := max(1, int(p.rate/20))
	for sent := 0; ; time.Sleep(time.Millisecond) {
		elapsed := time.Since(t0)
		if elapsed >= p.d {
			break
		}
		due := int(elapsed.Seconds()*p.rate) + 1
		if late := due - sent - burst; late > 0 {
			p.skipped += late
			sent += late
		}
		for ; sent < due; sent++ {
			o.pending.Add(1)
			go o.send(i)
		}
	}
	p.to = time.Since(o.start)
}

// send makes one request of the mix and records its outcome.
func (o *overloadRun) send(phase int) {
	defer o.pending.Done()
	req := o.request()
	t0 := time.Now()
	r := result{phase: phase, sent: t0.Sub(o.start)}
	res, err := o.client.Do(req)
	if err != nil {
		r.outcome, r.failure = failed, failureKind(err)
	} else {
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		switch {
		case res.StatusCode >= 200 && res.StatusCode < 300:
			r.outcome = served
		case res.StatusCode == http.StatusTooManyRequests:
			r.outcome = shed429
		case res.StatusCode == http.StatusServiceUnavailable:
			r.outcome = shed503
		default:
			r.outcome, r.failure = failed, "status "+strconv.Itoa(res.StatusCode)
		}
	}
	r.took = time.Since(t0)
	o.mu.Lock()
	o.results = append(o.results, r)
	o.mu.Unlock()
}

// failureKind names a client error for the report.
func failureKind(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL), errors.Is(err, syscall.EMFILE):
		return "client out of sockets"
	}
	return "other"
}

// tally sums up results.
type tally struct {
	offered, served, s429, s503   int
	servedLat, shedLat, failedLat []time.Duration // sorted
	failures                      map[string]int
}

// tallyOf counts results by outcome.
func tallyOf(rs []result) tally {
	t := tally{offered: len(rs), failures: map[string]int{}}
	for _, r := range rs {
		switch r.outcome {
		case served:
			t.served++
			t.servedLat = append(t.servedLat, r.took)
		case shed429, shed503:
			if r.outcome == shed429 {
				t.s429++
			} else {
				t.s503++
			}
			t.shedLat = append(t.shedLat, r.took)
		default:
			t.failedLat = append(t.failedLat, r.took)
			t.failures[r.failure]++
		}
	}
	slices.Sort(t.servedLat)
	slices.Sort(t.shedLat)
	return t
}

// row is the phase's line in the report's table.
func (t tally) row(p *phase, w *watcher) string {
	secs := p.d.Seconds()
	share := func(n int) string {
		return fmt.Sprintf("%d (%.0f%%)", n, 100*float64(n)/float64(max(1, t.offered)))
	}
	return fmt.Sprintf("| %s | %.0f | %.0f | %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |", p.name,
		float64(t.offered)/secs, float64(t.served)/secs, share(t.s429), share(t.s503), len(t.failedLat),
		msOr(t.servedLat, .5), msOr(t.servedLat, .99), msOr(t.shedLat, .99),
		mib(w.peakRSS(p.from, p.to)), orDash(w.peakFDs(p.from, p.to)), orDash(w.peakGoroutines(p.from, p.to)),
		p.cores(p.serverCPU), p.cores(p.loadCPU))
}

// failureList lists the failures by kind, like "3 timeout, 1 status 500".
func (t tally) failureList() string {
	var parts []string
	for k, n := range t.failures {
		parts = append(parts, fmt.Sprintf("%d %s", n, k))
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// recoveryTime finds the first second of the recovery phase from which on every request
// was served and each second's p99 stayed within twice the capacity phase's p99 (the
// phase's length in seconds when there is none). The run has recovered when that
// happens within the phase's first half.
func recoveryTime(all []result, rv *phase, capacityP99 time.Duration) (int, bool) {
	seconds := int(rv.d / time.Second)
	good := make([]bool, seconds)
	for sec := range seconds {
		t := tallyOf(inSecond(all, 2, rv.from+time.Duration(sec)*time.Second))
		good[sec] = t.served == t.offered && pct(t.servedLat, .99) <= 2*capacityP99
	}
	first := seconds
	for first > 0 && good[first-1] {
		first--
	}
	return first, first <= seconds/2
}

// pct is the p-quantile of sorted durations.
func pct(sorted []time.Duration, p float64) time.Duration { return load{latencies: sorted}.pct(p) }

// msOr is the p-quantile of sorted in milliseconds, or a dash when there is none.
func msOr(sorted []time.Duration, p float64) string {
	if len(sorted) == 0 {
		return "–"
	}
	return ms(pct(sorted, p))
}

// orDash shows a sampled peak, or a dash when no sample was taken.
func orDash(n int64) string {
	if n == 0 {
		return "–"
	}
	return strconv.FormatInt(n, 10)
}

// mib formats bytes in MiB.
func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// yesNo formats a verdict; a failed one stands out.
func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}

// readyText formats the status of /readyz.
func readyText(status int) string {
	if status == 0 {
		return "nothing (no connection)"
	}
	return strconv.Itoa(status)
}

// watcher samples a server process: RSS and open files every 200 ms, goroutines (from
// /metrics, which the shedder does not count) every second.
type watcher struct {
	mu     sync.Mutex
	rss    []sampleAt
	fds    []sampleAt
	gor    []sampleAt
	cancel context.CancelFunc
	done   sync.WaitGroup
}

type sampleAt struct {
	at time.Duration
	v  int64
}

// watch starts sampling srv; times are relative to start.
func watch(srv *server, start time.Time) *watcher {
	ctx, cancel := context.WithCancel(context.Background())
	w := &watcher{cancel: cancel}
	pid := srv.cmd.Process.Pid
	every := func(d time.Duration, f func()) {
		w.done.Add(1)
		go func() {
			defer w.done.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				f()
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	every(200*time.Millisecond, func() {
		rss, fds := srv.rss(), openFiles(pid)
		at := time.Since(start)
		w.mu.Lock()
		w.rss = append(w.rss, sampleAt{at, rss})
		w.fds = append(w.fds, sampleAt{at, fds})
		w.mu.Unlock()
	})
	client := &http.Client{Timeout: 2 * time.Second}
	every(time.Second, func() {
		if n, ok := metric(ctx, client, srv.metrics, "go_goroutines"); ok {
			at := time.Since(start)
			w.mu.Lock()
			w.gor = append(w.gor, sampleAt{at, int64(n)})
			w.mu.Unlock()
		}
	})
	return w
}

// stop ends the sampling.
func (w *watcher) stop() {
	w.cancel()
	w.done.Wait()
}

// peak is the largest sample taken in [from, to), or 0.
func peak(samples []sampleAt, from, to time.Duration) int64 {
	var m int64
	for _, s := range samples {
		if s.at >= from && s.at < to {
			m = max(m, s.v)
		}
	}
	return m
}

// peakRSS is the largest RSS sampled in [from, to), in bytes.
func (w *watcher) peakRSS(from, to time.Duration) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return peak(w.rss, from, to)
}

// peakFDs is the largest number of open files sampled in [from, to).
func (w *watcher) peakFDs(from, to time.Duration) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return peak(w.fds, from, to)
}

// peakGoroutines is the largest goroutine count sampled in [from, to).
func (w *watcher) peakGoroutines(from, to time.Duration) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return peak(w.gor, from, to)
}

// openFiles counts the open file descriptors of pid.
func openFiles(pid int) int64 {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0
	}
	return int64(len(entries))
}

// metric reads one unlabelled sample from the server's /metrics.
func metric(ctx context.Context, client *http.Client, base, name string) (float64, bool) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	res, err := client.Do(req)
	if err != nil {
		return 0, false
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}

// serverGOMAXPROCS reads the server's GOMAXPROCS from its /metrics, or "?".
func serverGOMAXPROCS(base string) string {
	if n, ok := metric(context.Background(), &http.Client{Timeout: 2 * time.Second}, base, "go_sched_gomaxprocs_threads"); ok {
		return strconv.Itoa(int(n))
	}
	return "?"
}

// procStatusKB reads a "kB" field of /proc/<pid>/status.
func procStatusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb
}

// processAlive reports whether pid runs (a child that exited stays a zombie until waited for).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	m := regexp.MustCompile(`State:\s+(\S)`).FindSubmatch(b)
	return m != nil && string(m[1]) != "Z" && string(m[1]) != "X"
}

// readyz returns the status of GET /readyz, or 0 when there was no answer.
func readyz(base string) int {
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + "/readyz")
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// loadAverage is the machine's 1, 5 and 15 minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " / ")
}

// cpuPressure is the share of the last 60 s in which some runnable task waited for a CPU
// (Linux pressure stall information), or "?".
func cpuPressure() string {
	b, err := os.ReadFile("/proc/pressure/cpu")
	if err != nil {
		return "?"
	}
	m := regexp.MustCompile(`some avg10=[0-9.]+ avg60=([0-9.]+)`).FindSubmatch(b)
	if m == nil {
		return "?"
	}
	return string(m[1]) + "%"
}
