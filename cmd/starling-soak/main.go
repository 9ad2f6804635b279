// Command starling-soak runs Starling under load while killing its processes and
// restarting PostgreSQL, then checks that nothing acknowledged was lost or duplicated
// (see internal/soak). `make soak` runs it for ten minutes:
//
//	starling-soak [-bin bin/starling] [-dir .data/soak] [-duration 10m] [-fault-every 20s] [-out .data/soak.md]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/starling-social/starling/internal/soak"
)

func main() {
	bin := flag.String("bin", "bin/starling", "the starling binary to run")
	dir := flag.String("dir", ".data/soak", "directory for the run's database, data and logs (emptied first)")
	duration := flag.Duration("duration", 10*time.Minute, "how long load and faults last")
	every := flag.Duration("fault-every", 20*time.Second, "time between two faults")
	writers := flag.Int("writers", 6, "concurrent writers")
	streams := flag.Int("streams", 6, "stream clients")
	out := flag.String("out", ".data/soak.md", "where to write the report")
	flag.Parse()

	abs, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	if _, err := os.Stat(abs); err != nil {
		fail(fmt.Errorf("%s: build it first (make build)", *bin))
	}
	// An earlier run's cluster must be stopped before its directory goes.
	if err := stopEarlierRun(*dir); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	started := time.Now()
	fmt.Printf("soak: %s of load with a fault every %s; logs in %s/logs\n", *duration, *every, *dir)
	rep, runErr := soak.Run(ctx, soak.Options{
		Command:    func(args ...string) *exec.Cmd { return exec.Command(abs, args...) },
		Dir:        *dir,
		Duration:   *duration,
		FaultEvery: *every,
		// Every kind at least twice, whatever the duration.
		MinEachFault: 2,
		Writers:      *writers,
		Streams:      *streams,
		Progress:     os.Stdout,
	})
	if rep != nil {
		text := fmt.Sprintf("# Soak run\n\n%s, %d cores, GOMAXPROCS %d; whole run %s\n\n%s\n",
			started.UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.GOMAXPROCS(0),
			time.Since(started).Round(time.Second), rep.Markdown())
		fmt.Print("\n" + text)
		if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
			fail(err)
		}
	}
	if runErr != nil {
		fail(runErr)
	}
	fmt.Println("\nsoak: passed, nothing lost")
}

func stopEarlierRun(dir string) error {
	if err := soak.RemoveCluster(dir); err != nil {
		return err
	}
	return os.RemoveAll(dir)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "starling-soak:", err)
	os.Exit(1)
}
