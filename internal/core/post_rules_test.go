package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/pgtest"
)

func TestCanDelete(t *testing.T) {
	t.Parallel()
	p := core.Post{Author: core.User{ID: 1}}
	require.True(t, core.CanDelete(&core.User{ID: 1}, p), "the author")
	require.True(t, core.CanDelete(&core.User{ID: 2, IsAdmin: true}, p), "an administrator")
	require.False(t, core.CanDelete(&core.User{ID: 2}, p), "someone else")
	require.False(t, core.CanDelete(nil, p), "nobody logged in")
}

func TestRenderBodyLinksResolvedMentionsOnly(t *testing.T) {
	t.Parallel()
	p := core.Post{Body: "hi @Bob and @carol", Mentioned: map[string]int64{"bob": 7}}
	require.Equal(t, `hi <a class="mention" href="/@Bob">@Bob</a> and @carol`, string(p.RenderBody("")))
	require.Contains(t, string(p.RenderBody("https://s.example")), `href="https://s.example/@Bob"`)
	require.Equal(t, []string{"bob"}, p.LinkedMentions())
}

// TestPublishKeepsThePostingAllowance: Publish, whichever surface calls it, refuses a post
// over Options.PostLimit with a *core.RateLimitError saying when to retry, and writes
// nothing.
func TestPublishKeepsThePostingAllowance(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := core.New(pool, core.Options{Password: fastHash, SignupsOpen: true, Jobs: insertOnly(),
		PostLimit: &httpx.Limiter{Limit: 2, Window: time.Minute}})
	alice := mustUser(t, s, "alice")
	for range 2 {
		_, _, err := s.Publish(ctx, alice, core.NewPost{Body: "hello"})
		require.NoError(t, err)
	}
	_, _, err := s.CreatePostOnce(ctx, alice, "one too many", "")
	var rerr *core.RateLimitError
	require.True(t, errors.As(err, &rerr), "%v", err)
	require.Greater(t, rerr.RetryAfter, time.Duration(0))
	require.LessOrEqual(t, rerr.RetryAfter, time.Minute)
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM posts`))
	bob := mustUser(t, s, "bob")
	_, _, err = s.Publish(ctx, bob, core.NewPost{Body: "an allowance per account"})
	require.NoError(t, err)
}
