package live_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/pgtest"
)

// TestEndedCredentialsCloseStreamsOnEveryProcess (issue 13, item 9): two processes' hubs
// watch the same credentials; a token revoked, a session logged out and a session ended
// by "log out everywhere" — each written once, as any process would — end the watches on
// both hubs within Revalidate, and a credential that still holds is left alone.
func TestEndedCredentialsCloseStreamsOnEveryProcess(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	opts := live.Options{Poll: 50 * time.Millisecond, Revalidate: 100 * time.Millisecond}
	a, b := newNode(t, dsn, opts), newNode(t, dsn, opts)
	ctx := context.Background()
	alice, bob := a.user("alice"), a.user("bob")
	authz := oauth.New(pool)
	token := func(u core.User) core.Credential {
		tok, err := authz.CreatePersonalToken(ctx, u.ID, "stream", "read")
		require.NoError(t, err)
		g, err := authz.Lookup(ctx, tok.AccessToken)
		require.NoError(t, err)
		return core.Credential{TokenID: g.TokenID}
	}
	session := func(key string, u core.User) core.Credential {
		_, err := pool.Exec(ctx, `INSERT INTO sessions (token, data, expiry) VALUES ($1, '\x00', now() + interval '1 hour')`, key)
		require.NoError(t, err)
		return core.Credential{Session: key, UserID: u.ID, AuthAt: time.Now()}
	}
	revoked, bobsToken := token(alice), token(bob)
	loggedOut, endedEverywhere, keptSession := session("s1", alice), session("s2", bob), session("s3", alice)

	type watched struct {
		ended <-chan struct{}
		stop  func()
	}
	watch := func(c core.Credential) [2]watched {
		var w [2]watched
		for i, n := range []*node{a, b} {
			w[i].ended, w[i].stop = n.hub.Watch(c)
			t.Cleanup(w[i].stop)
		}
		return w
	}
	wRevoked, wBobsToken, wLoggedOut, wEverywhere, wKeptSession, wAnon :=
		watch(revoked), watch(bobsToken), watch(loggedOut), watch(endedEverywhere), watch(keptSession), watch(core.Credential{})

	time.Sleep(300 * time.Millisecond) // a few checks: nothing has ended yet
	for _, w := range [][2]watched{wRevoked, wBobsToken, wLoggedOut, wEverywhere, wKeptSession, wAnon} {
		for i := range w {
			select {
			case <-w[i].ended:
				t.Fatal("a credential that holds was ended")
			default:
			}
		}
	}

	require.NoError(t, authz.RevokeForUser(ctx, alice.ID, revoked.TokenID))
	_, err := pool.Exec(ctx, `DELETE FROM sessions WHERE token = 's1'`) // logout
	require.NoError(t, err)
	require.NoError(t, a.core.EndSessions(ctx, bob.ID)) // log out everywhere: bob's session and token
	start := time.Now()
	for _, w := range [][2]watched{wRevoked, wLoggedOut, wEverywhere, wBobsToken} {
		for i := range w {
			select {
			case <-w[i].ended:
			case <-time.After(5 * time.Second):
				t.Fatalf("hub %d: a stream outlived its credential by 5s", i)
			}
		}
	}
	t.Logf("every stream ended %s after its credential", time.Since(start).Round(time.Millisecond))
	for i := range wKeptSession {
		select {
		case <-wKeptSession[i].ended:
			t.Fatal("alice's other session still holds")
		case <-wAnon[i].ended:
			t.Fatal("an anonymous stream has nothing to end")
		default:
		}
	}
	require.Equal(t, int64(4), a.hub.Ended.Load())
	require.Equal(t, int64(4), b.hub.Ended.Load())
}
