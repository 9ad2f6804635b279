package jobs

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/password"
	"github.com/starling-social/starling/internal/store"
)

// childEnv, when set, makes the test binary act as a worker process for the crash test
// instead of running tests: it works jobs on the database named by the variable until it
// is killed.
const childEnv = "STARLING_CRASH_CHILD_DSN"

// childProductionRescue, when set, gives the crash child River's production job timeout
// and rescue delay instead of the crash test's short ones.
const childProductionRescue = "STARLING_CRASH_CHILD_PRODUCTION_RESCUE"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(childEnv); dsn != "" {
		if err := runChild(dsn, os.Getenv("STARLING_CRASH_CHILD_MAIL")); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashConfig is the worker configuration of the crash test: short timeouts so that jobs
// of a killed worker are rescued within seconds, and a mention email bound with a short
// window, so that digests are sent and killed too.
func crashConfig(mailDir string) Config {
	return Config{
		Work: true, Mail: mail.NewDir(mailDir), MailFrom: "Starling <starling@example.test>",
		BaseURL: "http://starling.example.test", JobTimeout: 2 * time.Second, RescueAfter: 3 * time.Second,
		RetryBase: 20 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		PipelineWorkers: 8, EmailWorkers: 20,
		MentionEmailBound: core.MentionEmailBound{Limit: 3, Window: 2 * time.Second},
	}
}

func runChild(dsn, mailDir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	pool, err := store.Open(ctx, dsn, 20)
	if err != nil {
		return err
	}
	defer pool.Close()
	cfg := crashConfig(mailDir)
	cfg.Log = logging.New(os.Stderr, "text", "warn")
	if os.Getenv(childProductionRescue) != "" {
		// River's production timings: a killed worker's jobs stay running for 2 minutes.
		cfg.JobTimeout, cfg.RescueAfter = 0, 0
	}
	r, err := New(pool, cfg)
	if err != nil {
		return err
	}
	svc := core.New(pool, core.Options{Jobs: r.Client, Password: password.Params{MemoryKiB: 1024, Iterations: 1}, Log: cfg.Log})
	r.Bind(svc)
	if err := r.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return r.Stop(context.Background())
}
