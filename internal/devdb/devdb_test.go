package devdb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/devdb"
)

// TestClusterSurvivesRestart creates a cluster from nothing, writes a row, stops the
// server, starts it again and reads the row back: what `make run` relies on.
func TestClusterSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	// t.TempDir is private to its owner; as root the server runs as "postgres" and must
	// be able to reach the directory.
	require.NoError(t, os.Chmod(parent, 0o755))
	dir := filepath.Join(parent, "pg")
	t.Cleanup(func() { devdb.Destroy(context.Background(), dir) })

	c, err := devdb.Start(ctx, devdb.Options{Dir: dir, Database: "demo", Fast: true})
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(c.DataDir, "PG_VERSION"))
	conn, err := pgx.Connect(ctx, c.URL("demo"))
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')`)
	require.NoError(t, err)
	conn.Close(ctx)

	// Starting again while it runs reuses the running server.
	again, err := devdb.Start(ctx, devdb.Options{Dir: dir, Database: "demo"})
	require.NoError(t, err)
	require.Equal(t, c.URL("demo"), again.URL("demo"))

	require.NoError(t, devdb.Stop(ctx, dir))
	_, err = pgx.Connect(ctx, c.URL("demo"))
	require.Error(t, err, "server should be down")

	c, err = devdb.Start(ctx, devdb.Options{Dir: dir, Database: "demo"})
	require.NoError(t, err)
	conn, err = pgx.Connect(ctx, c.URL("demo"))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v string
	require.NoError(t, conn.QueryRow(ctx, `SELECT v FROM kept`).Scan(&v))
	require.Equal(t, "still here", v)
	conn.Close(ctx)

	// Destroy stops the server and deletes the cluster's files, wherever they are kept.
	require.NoError(t, devdb.Destroy(ctx, dir))
	require.NoDirExists(t, c.DataDir)
	_, err = pgx.Connect(ctx, c.URL("demo"))
	require.Error(t, err, "server should be down")
}
