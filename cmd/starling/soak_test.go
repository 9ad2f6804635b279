package main

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/soak"
)

// TestSoak is the short variant of `make soak`: 40 seconds of posts, deletions, reads and
// resuming stream clients against two web and two worker processes while workers and web
// processes are SIGKILLed and PostgreSQL is restarted (fast and immediate), each at least
// twice. Nothing acknowledged may be lost or duplicated, every worker effect must match the
// posts, and every stream client must see every event once.
func TestSoak(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755)) // reachable by the postgres user when root
	t.Cleanup(func() { soak.RemoveCluster(dir) })
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	rep, err := soak.Run(ctx, soak.Options{
		Command: func(args ...string) *exec.Cmd {
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), asMainEnv+"=1")
			return cmd
		},
		Dir:        dir,
		Duration:   40 * time.Second,
		FaultEvery: 4 * time.Second,
		// On a slow machine a Postgres restart takes several seconds: go on until each
		// kind of fault has happened twice.
		MinEachFault: 2,
		Users:        8,
		Writers:      4,
		Readers:      2,
		Streams:      4,
		Progress:     testWriter{t},
	})
	if rep != nil {
		t.Logf("soak report:\n%s", rep.Markdown())
	}
	require.NoError(t, err)
	for _, k := range []string{soak.KillWorker, soak.KillWeb, soak.PGFast, soak.PGImmediate} {
		require.GreaterOrEqual(t, rep.Faults[k], 2, "%s performed at least twice", k)
	}
	require.Greater(t, rep.PostsAcked, 100, "the load went on through the faults")
	require.Positive(t, rep.Retries, "some writes failed during faults and were retried")
	require.Positive(t, rep.DeletesAcked)
	require.Positive(t, rep.Mentions)
	require.Positive(t, rep.EmailsSent)
	require.Greater(t, rep.StreamConnects, rep.StreamClients, "stream clients resumed")
}

// testWriter sends each write to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p[:len(p)-1]))
	return len(p), nil
}
