package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
)

// env returns a getenv over a fixed map, so tests never see the machine's environment.
func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func runCmd(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestHelpListsEverySetting(t *testing.T) {
	t.Parallel()
	out, _, err := runCmd(t, env(), "", "--help")
	require.NoError(t, err)
	for _, want := range []string{"DATABASE_URL", "STARLING_LISTEN", ":8080", "STARLING_BASE_URL",
		"STARLING_SIGNUPS", "STARLING_LOG_FORMAT", "serve", "work", "migrate up|down|status", "user create", "grant-admin"} {
		require.Contains(t, out, want)
	}
}

func TestBadConfigIsAClearError(t *testing.T) {
	t.Parallel()
	_, errOut, err := runCmd(t, env("STARLING_SIGNUPS", "maybe", "STARLING_LOG_FORMAT", "xml"), "", "serve")
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, errOut, "STARLING_SIGNUPS: must be open or closed")
	require.Contains(t, errOut, "STARLING_LOG_FORMAT: must be json or text")
	_, errOut, err = runCmd(t, env(), "", "frobnicate")
	require.ErrorIs(t, err, errUsage)
	require.Contains(t, errOut, `unknown command "frobnicate"`)
}

func TestUserAdminCommands(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	e := env("DATABASE_URL", dsn, "STARLING_PASSWORD_MEMORY_KIB", "1024", "STARLING_PASSWORD_ITERATIONS", "1", "STARLING_SIGNUPS", "closed")

	out, _, err := runCmd(t, e, "", "migrate", "status")
	require.NoError(t, err)
	require.Contains(t, out, "00001_initial.sql")
	require.Contains(t, out, "applied")

	out, _, err = runCmd(t, e, "a long enough passphrase\n", "user", "create", "--username", "root_admin", "--email", "admin@example.com", "--password-stdin")
	require.NoError(t, err)
	require.Contains(t, out, "created user @root_admin")
	// An administrator gave the address: it counts as verified, and no link is sent.
	var verified bool
	var links int
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT email_verified_at IS NOT NULL,
		(SELECT count(*) FROM river_job WHERE kind = 'verify_email') FROM users WHERE username = 'root_admin'`).Scan(&verified, &links))
	require.True(t, verified)
	require.Zero(t, links)

	_, errOut, err := runCmd(t, e, "short\n", "user", "create", "--username", "other", "--email", "other@example.com", "--password-stdin")
	require.Error(t, err)
	require.Contains(t, errOut, "password: Use at least 10 characters.")

	out, errOut, err = runCmd(t, e, "", "token", "create", "--username", "root_admin", "--scopes", "read write")
	require.NoError(t, err)
	require.Regexp(t, `^stl_[A-Za-z0-9_-]{43}\n$`, out)
	require.Contains(t, errOut, `scopes "read write"`)
	// A person at a terminal reads text logs (issue 20, item 2), unless they asked for JSON.
	_, errOut, err = runCmd(t, e, "a long enough passphrase\n", "user", "create", "--username", "texty", "--email", "texty@example.com", "--password-stdin")
	require.NoError(t, err)
	require.Contains(t, errOut, `level=INFO msg="user created"`)
	_, errOut, err = runCmd(t, e, "a long enough passphrase\n", "--log-format=json", "user", "create", "--username", "jsony", "--email", "jsony@example.com", "--password-stdin")
	require.NoError(t, err)
	require.Contains(t, errOut, `"msg":"user created"`, "a format given is kept")
	_, _, err = runCmd(t, e, "", "token", "create", "--username", "root_admin", "--scopes", "admin:write")
	require.Error(t, err)

	out, _, err = runCmd(t, e, "", "user", "grant-admin", "ROOT_ADMIN")
	require.NoError(t, err)
	require.Contains(t, out, "is an admin now")
	_, _, err = runCmd(t, e, "", "user", "grant-admin", "nobody")
	require.ErrorContains(t, err, `no user named "nobody"`)
}

func TestServeAnswersAndStopsOnCancel(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	e := env("DATABASE_URL", dsn, "STARLING_LISTEN", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuf
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, e, strings.NewReader(""), &logs, &logs) }()
	var addr string
	require.Eventually(t, func() bool {
		_, after, ok := strings.Cut(logs.String(), `"listen":"`)
		if !ok {
			return false
		}
		addr, _, _ = strings.Cut(after, `"`)
		return true
	}, 20*time.Second, 20*time.Millisecond)
	res, err := http.Get("http://" + addr + "/readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	// The one line that says where to open the site comes last (issue 20, item 2).
	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), "Starling is running: open http://localhost:8080\n")
	}, 5*time.Second, 10*time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
}
