package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/text"
)

// TestTwoServeTwoWorkProcesses runs two web and two worker processes on one database.
// Posts go in through both web processes; stream clients on both see every post; one
// worker is stopped with SIGTERM midway; in the end mentions, notifications and counters
// match the posts exactly.
func TestTwoServeTwoWorkProcesses(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	token := setupUsers(t, dsn)
	// 200 posts by one account in seconds: over its posting allowance, which is not what
	// this test is about.
	env := []string{"STARLING_MENTION_EMAIL_DELAY=0s", "STARLING_RATE_LIMIT=off", "STARLING_MENTION_EMAIL_LIMIT=off"}
	web := []*proc{startProc(t, dsn, env, "serve"), startProc(t, dsn, env, "serve")}
	workers := []*proc{startProc(t, dsn, env, "work"), startProc(t, dsn, env, "work")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// A worker process serves health checks and metrics, no pages.
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/metrics": 200, "/": 404, "/api/v1/instance": 404} {
		res, err := http.Get(workers[1].base + path)
		require.NoError(t, err)
		res.Body.Close()
		require.Equal(t, want, res.StatusCode, "work process %s", path)
	}

	// Two stream clients on each web process.
	type client struct {
		mu  sync.Mutex
		ids map[string]int
	}
	var clients []*client
	for _, w := range web {
		for range 2 {
			c := &client{ids: map[string]int{}}
			clients = append(clients, c)
			lines := sseLines(t, ctx, w.base+"/api/v1/streaming/public")
			go func() {
				for l := range lines {
					if i := strings.Index(l, `"id":"`); strings.HasPrefix(l, "data: {") && i >= 0 { // not a reset's data: {}
						id := l[i+6:]
						id = id[:strings.Index(id, `"`)]
						c.mu.Lock()
						c.ids[id]++
						c.mu.Unlock()
					}
				}
			}()
		}
	}
	time.Sleep(500 * time.Millisecond)

	const posts = 200
	var wg sync.WaitGroup
	for i := range posts {
		if i == posts/2 {
			wg.Wait()
			require.Equal(t, 0, workers[0].stop(t), "the stopped worker exits cleanly")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			apiPost(t, web[i%2].base, token, fmt.Sprintf("post %d for @bob and @Alice", i))
		}()
		if i%20 == 19 {
			wg.Wait()
		}
	}
	wg.Wait()

	// Every client saw every post exactly once.
	require.Eventually(t, func() bool {
		for _, c := range clients {
			c.mu.Lock()
			n := len(c.ids)
			c.mu.Unlock()
			if n < posts {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "every client receives every post")
	for _, c := range clients {
		c.mu.Lock()
		for id, n := range c.ids {
			require.Equal(t, 1, n, "post %s delivered %d times", id, n)
		}
		c.mu.Unlock()
	}

	// The remaining worker finishes everything; the effects match the ground truth. Every
	// consumer has applied every event, and no job is left (between two runs of a consumer
	// no job is pending while it may still be behind: both are checked at once).
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM river_job WHERE state NOT IN ('completed','cancelled','discarded')
			   AND kind NOT IN ('daily_stats', 'prune_events', 'backfill_search'))
			+ (SELECT count(*) FROM consumers c WHERE EXISTS (SELECT 1 FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id)))`).Scan(&n))
		return n == 0
	}, 60*time.Second, 100*time.Millisecond, "jobs drained")
	checkTruth(t, ctx, pool, posts)
}

func checkTruth(t *testing.T, ctx context.Context, pool *pgxpool.Pool, posts int) {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT p.id, p.author_id, p.body FROM posts p WHERE p.deleted_at IS NULL`)
	require.NoError(t, err)
	users := map[string]int64{}
	urows, err := pool.Query(ctx, `SELECT lower(username), id FROM users`)
	require.NoError(t, err)
	for urows.Next() {
		var n string
		var id int64
		require.NoError(t, urows.Scan(&n, &id))
		users[n] = id
	}
	wantMentions, postsBy, mentionsOf := 0, map[int64]int64{}, map[int64]int64{}
	for rows.Next() {
		var id, author int64
		var body string
		require.NoError(t, rows.Scan(&id, &author, &body))
		postsBy[author]++
		for _, name := range text.Mentions(body) {
			if uid, ok := users[name]; ok && uid != author {
				wantMentions++
				mentionsOf[uid]++
			}
		}
	}
	require.Equal(t, posts, int(postsBy[users["alice"]]))
	var mentions, notifications int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM mentions`).Scan(&mentions))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM notifications`).Scan(&notifications))
	require.Equal(t, wantMentions, mentions)
	require.Equal(t, wantMentions, notifications)
	for name, uid := range users {
		var p, m int64
		err := pool.QueryRow(ctx, `SELECT posts, mentions_received FROM user_stats WHERE user_id = $1`, uid).Scan(&p, &m)
		if err != nil {
			p, m = 0, 0
		}
		require.Equal(t, postsBy[uid], p, "@%s posts counter", name)
		require.Equal(t, mentionsOf[uid], m, "@%s mentions counter", name)
	}
}
