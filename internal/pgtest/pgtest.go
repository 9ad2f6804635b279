// Package pgtest gives tests a real PostgreSQL database.
//
// The server is STARLING_TEST_DATABASE_URL when set (a role that may create databases),
// otherwise a local cluster under <repo>/.data/test-postgres, started on first use with
// durability turned off for speed (see package devdb).
//
// A template database with every migration applied is built once per schema fingerprint
// (under an advisory lock, so parallel test processes build it once). NewDB clones it into a
// fresh database for a test that needs commits, River workers or LISTEN/NOTIFY; the clone is
// dropped when the test ends. Tx gives a test a transaction on a shared, migrated database
// that is rolled back when the test ends, for tests that need no commits.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starling-social/starling/internal/devdb"
	"github.com/starling-social/starling/internal/migrate"
)

// EnvURL names the environment variable with the test server's connection string.
const EnvURL = "STARLING_TEST_DATABASE_URL"

var (
	setupOnce sync.Once
	setupErr  error
	adminCfg  *pgx.ConnConfig
	baseURL   string
	template  string
	shared    *pgxpool.Pool
	sharedMu  sync.Mutex
)

// RepoRoot returns the directory holding go.mod, found upward from the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("pgtest: go.mod not found above the working directory")
		}
		dir = parent
	}
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	base := os.Getenv(EnvURL)
	if base == "" {
		root, err := RepoRoot()
		if err != nil {
			return err
		}
		c, err := devdb.Start(ctx, devdb.Options{Dir: filepath.Join(root, ".data", "test-postgres"), Fast: true})
		if err != nil {
			return err
		}
		base = c.DSN("postgres")
	}
	cfg, err := pgx.ParseConfig(base)
	if err != nil {
		return fmt.Errorf("pgtest: %s: %w", EnvURL, err)
	}
	adminCfg = cfg
	baseURL = base
	fp, err := migrate.Fingerprint()
	if err != nil {
		return err
	}
	template = "starling_tpl_" + fp
	return buildTemplate(ctx)
}

func adminConn(ctx context.Context) (*pgx.Conn, error) {
	return pgx.ConnectConfig(ctx, adminCfg.Copy())
}

// dbConfig returns the base connection string with its database replaced by name.
func dbConfig(name string) string {
	if u, err := url.Parse(baseURL); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		u.Path = "/" + name
		return u.String()
	}
	return baseURL + " dbname=" + name // in key/value form the last dbname wins
}

func exists(ctx context.Context, conn *pgx.Conn, name string) (bool, error) {
	var ok bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&ok)
	return ok, err
}

func lockKey(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64())
}

// buildTemplate creates the migrated template database unless it exists already.
func buildTemplate(ctx context.Context) error {
	conn, err := adminConn(ctx)
	if err != nil {
		return fmt.Errorf("pgtest: connect: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey(template)); err != nil {
		return err
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey(template))
	if ok, err := exists(ctx, conn, template); err != nil || ok {
		return err
	}
	building := template + "_build"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(building)+" WITH (FORCE)"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident(building)); err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dbConfig(building))
	if err != nil {
		return err
	}
	err = migrate.Up(ctx, pool, io.Discard)
	pool.Close()
	if err != nil {
		return fmt.Errorf("pgtest: migrating template: %w", err)
	}
	_, err = conn.Exec(ctx, "ALTER DATABASE "+ident(building)+" RENAME TO "+ident(template))
	return err
}

func ident(s string) string { return pgx.Identifier{s}.Sanitize() }

func ensureSetup(t testing.TB) {
	t.Helper()
	setupOnce.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("pgtest: no test database: %v", setupErr)
	}
}

// clone creates database name from the template, retrying while another clone holds it.
func clone(ctx context.Context, name string) error {
	conn, err := adminConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(template))
		if err == nil || attempt == 50 || !strings.Contains(err.Error(), "being accessed by other users") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// NewDB returns a pool on a fresh, migrated database of its own, dropped after the test,
// and its connection string.
func NewDB(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	ensureSetup(t)
	ctx := context.Background()
	dsn, drop, err := create(ctx)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		drop()
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		if err := drop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return pool, dsn
}

// Open is NewDB for code that has no testing.TB, such as a runnable example: it returns
// the connection string of a fresh, migrated database and a function that drops it.
func Open(ctx context.Context) (dsn string, drop func() error, err error) {
	setupOnce.Do(func() { setupErr = setup() })
	if setupErr != nil {
		return "", nil, fmt.Errorf("pgtest: no test database: %w", setupErr)
	}
	return create(ctx)
}

// create clones the template into a database with a fresh name.
func create(ctx context.Context) (string, func() error, error) {
	var b [6]byte
	rand.Read(b[:])
	name := "starling_test_" + hex.EncodeToString(b[:])
	if err := clone(ctx, name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() error {
		conn, err := adminConn(context.Background())
		if err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("drop %s: %w", name, err)
		}
		return nil
	}
	return dbConfig(name), drop, nil
}

// Tx returns a transaction on a shared migrated database, rolled back after the test.
// Nothing a test does in it is ever seen by another test.
func Tx(t testing.TB) pgx.Tx {
	t.Helper()
	ensureSetup(t)
	ctx := context.Background()
	sharedMu.Lock()
	if shared == nil {
		name := template + "_shared"
		err := func() error {
			conn, err := adminConn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey(name)); err != nil {
				return err
			}
			defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey(name))
			if ok, err := exists(ctx, conn, name); err != nil || ok {
				return err
			}
			return clone(ctx, name)
		}()
		if err == nil {
			shared, err = pgxpool.New(ctx, dbConfig(name))
		}
		if err != nil {
			sharedMu.Unlock()
			t.Fatalf("pgtest: shared database: %v", err)
		}
	}
	pool := shared
	sharedMu.Unlock()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatalf("pgtest: begin: %v", err)
	}
	t.Cleanup(func() { tx.Rollback(context.Background()) })
	return tx
}
