package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/cache"
	"github.com/starling-social/starling/internal/config"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/store"
)

// process is one Starling process (role all) serving on its own address.
type process struct {
	app  *app.App
	base string
}

// twoProcesses builds two processes on one fresh database, as two `starling all`
// behind a load balancer: a change made through one must reach the other's caches.
func twoProcesses(t *testing.T) (*process, *process) {
	t.Helper()
	ctx := context.Background()
	dsn, drop, err := pgtest.Open(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { drop() })
	var ps []*process
	for range 2 {
		pool, err := store.Open(ctx, dsn, 10)
		require.NoError(t, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		base := "http://" + ln.Addr().String()
		a, err := app.Build(ctx, pool, dsn, app.Options{
			Config: config.Config{
				BaseURL: base, SignupsOpen: true, DBMaxConns: 10, SessionLifetime: time.Hour,
				PasswordMemoryKiB: 1024, PasswordIterations: 1, NotifyWindow: 2 * time.Millisecond,
			},
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			// The hub's default fallback poll (1 s): a change must arrive by its event's
			// wake-up, and the caches' TTL bounds it whatever happens to the wake-up.
		})
		require.NoError(t, err)
		srv := httptest.NewUnstartedServer(a.Handler)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(func() {
			srv.CloseClientConnections()
			srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a.Close(ctx)
			pool.Close()
		})
		ps = append(ps, &process{app: a, base: base})
	}
	return ps[0], ps[1]
}

func (p *process) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, p.base+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(b)
}

// untilFresh asks check every 2 ms, from the commit of a change on, until it reports the
// change; it returns how long that took. It fails the test if a request begun more than
// cache.DefaultTTL after the commit is still stale: the bound every cache promises,
// whether or not this process's hub has read the change's event.
func untilFresh(t *testing.T, committed time.Time, what string, check func() bool) time.Duration {
	t.Helper()
	for {
		begun := time.Now()
		if check() {
			return time.Since(committed)
		}
		require.Falsef(t, begun.Sub(committed) > cache.DefaultTTL, "%s still stale %s after the commit", what, begun.Sub(committed))
		time.Sleep(2 * time.Millisecond)
	}
}

func TestCachesNeverServeStaleAcrossProcesses(t *testing.T) {
	t.Parallel()
	a, b := twoProcesses(t)
	ctx := context.Background()
	alice, err := a.app.Core.CreateUser(ctx, core.SignUpInput{Username: "alice", Email: "alice@example.com", Password: "correct horse battery"})
	require.NoError(t, err)
	post, _, err := a.app.Core.Publish(ctx, alice, core.NewPost{Body: "first words"})
	require.NoError(t, err)
	id := strconv.FormatInt(post.ID, 10)
	pages := []string{"/api/v1/timelines/public", "/api/v1/statuses/" + id, "/", "/posts/" + id, "/@alice"}

	// Every page shows the post on process B, and B's second answer comes from its cache.
	untilFresh(t, time.Now(), "the new post", func() bool {
		_, body := b.get(t, "/api/v1/timelines/public", "")
		return strings.Contains(body, "first words")
	})
	for _, path := range pages {
		code, body := b.get(t, path, "")
		require.Equal(t, http.StatusOK, code, path)
		require.Contains(t, body, "first words", path)
	}
	// The post's consumers (counters, search) may still be invalidating pages: once they
	// are done, a second round of the pages comes wholly from B's cache.
	require.Eventually(t, func() bool {
		for _, path := range pages {
			b.get(t, path, "")
		}
		hits := b.app.Pages.Hits.Load()
		for _, path := range pages {
			_, body := b.get(t, path, "")
			require.Contains(t, body, "first words", path)
		}
		return b.app.Pages.Hits.Load()-hits >= int64(len(pages))
	}, 10*time.Second, 50*time.Millisecond, "B answers the pages from its cache")

	// An edit through A.
	_, err = a.app.Core.EditPost(ctx, alice, post.ID, core.PostEdit{Body: "second thoughts"})
	require.NoError(t, err)
	committed := time.Now()
	for _, path := range pages {
		took := untilFresh(t, committed, "the edit on "+path, func() bool {
			_, body := b.get(t, path, "")
			return strings.Contains(body, "second thoughts") && !strings.Contains(body, "first words")
		})
		t.Logf("edit seen on B's %s %s after its commit", path, took.Round(time.Millisecond))
	}

	// A deletion through A.
	require.NoError(t, a.app.Core.DeletePost(ctx, alice, post.ID))
	committed = time.Now()
	for _, path := range pages {
		took := untilFresh(t, committed, "the deletion on "+path, func() bool {
			code, body := b.get(t, path, "")
			return !strings.Contains(body, "second thoughts") && (code == http.StatusOK || code == http.StatusNotFound)
		})
		t.Logf("deletion seen on B's %s %s after its commit", path, took.Round(time.Millisecond))
	}

	// A token used on B, then revoked through A.
	tok, err := a.app.OAuth.CreatePersonalToken(ctx, alice.ID, "phone", "read")
	require.NoError(t, err)
	for range 3 {
		code, _ := b.get(t, "/api/v1/accounts/verify_credentials", tok.AccessToken)
		require.Equal(t, http.StatusOK, code)
	}
	hitsBefore, _ := b.app.API.TokenCache()
	code, _ := b.get(t, "/api/v1/accounts/verify_credentials", tok.AccessToken)
	require.Equal(t, http.StatusOK, code)
	hitsAfter, _ := b.app.API.TokenCache()
	require.Greater(t, hitsAfter, hitsBefore, "B answers the token from its cache")
	live, err := a.app.OAuth.TokensOf(ctx, alice.ID)
	require.NoError(t, err)
	require.Len(t, live, 1)
	require.NoError(t, a.app.OAuth.RevokeForUser(ctx, alice.ID, live[0].ID))
	committed = time.Now()
	took := untilFresh(t, committed, "the revoked token", func() bool {
		code, _ := b.get(t, "/api/v1/accounts/verify_credentials", tok.AccessToken)
		return code == http.StatusUnauthorized
	})
	t.Logf("revoked token refused by B %s after its commit", took.Round(time.Millisecond))
	for range 3 {
		code, _ := b.get(t, "/api/v1/accounts/verify_credentials", tok.AccessToken)
		require.Equal(t, http.StatusUnauthorized, code, "and never again accepted")
	}

	// "Log out everywhere" (every token of the account at once), and a profile change.
	tok2, err := a.app.OAuth.CreatePersonalToken(ctx, alice.ID, "laptop", "read")
	require.NoError(t, err)
	_, body := b.get(t, "/api/v1/accounts/verify_credentials", tok2.AccessToken)
	require.Contains(t, body, `"display_name":""`)
	name := "Alice A."
	_, err = a.app.Core.UpdateProfile(ctx, alice, core.ProfileUpdate{DisplayName: &name})
	require.NoError(t, err)
	committed = time.Now()
	took = untilFresh(t, committed, "the new display name", func() bool {
		_, body := b.get(t, "/api/v1/accounts/verify_credentials", tok2.AccessToken)
		return strings.Contains(body, `"display_name":"Alice A."`)
	})
	t.Logf("profile change seen by B's token cache %s after its commit", took.Round(time.Millisecond))
	require.NoError(t, a.app.Core.EndSessions(ctx, alice.ID))
	committed = time.Now()
	took = untilFresh(t, committed, "the tokens ended by log out everywhere", func() bool {
		code, _ := b.get(t, "/api/v1/accounts/verify_credentials", tok2.AccessToken)
		return code == http.StatusUnauthorized
	})
	t.Logf("log out everywhere seen by B %s after its commit", took.Round(time.Millisecond))
}
