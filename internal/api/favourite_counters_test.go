package api_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// TestFavouriteCountersExactUnderConcurrency: 32 clients favourite and unfavourite one
// post as fast as they can for 30 seconds. Once the consumers have caught up, the post's
// favourites count equals its favourite rows, and there is exactly one notification per
// favourite that stands.
func TestFavouriteCountersExactUnderConcurrency(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	author := s.user("author")
	post, _, err := s.core.Publish(t.Context(), author, core.NewPost{Body: "favourite me"})
	require.NoError(t, err)
	const clients = 32
	tokens := make([]string, clients)
	for i := range tokens {
		tokens[i] = s.personalToken(s.user(fmt.Sprintf("fan%d", i)), "write:favourites")
	}
	deadline := time.Now().Add(30 * time.Second)
	var calls, failures atomic.Int64
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				action := "favourite"
				if rand.IntN(2) == 0 {
					action = "unfavourite"
				}
				req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/statuses/%d/%s", s.base, post.ID, action), nil)
				req.Header.Set("Authorization", "Bearer "+tokens[i])
				res, err := http.DefaultClient.Do(req)
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.Zero(t, failures.Load(), "of %d calls", calls.Load())
	var rows int
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM favourites WHERE post_id = $1`, post.ID).Scan(&rows))
	s.waitFor(fmt.Sprintf(`SELECT coalesce((SELECT favourites FROM post_stats WHERE post_id = %d), 0)`, post.ID), rows)
	s.waitFor(fmt.Sprintf(`SELECT count(*) FROM notifications WHERE kind = 'favourite' AND post_id = %d`, post.ID), rows)
	var orphans int
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM notifications n WHERE n.kind = 'favourite'
		AND NOT EXISTS (SELECT 1 FROM favourites f WHERE f.id = n.favourite_id)`).Scan(&orphans))
	require.Zero(t, orphans)
	got, err := s.core.PostFor(t.Context(), author.ID, post.ID)
	require.NoError(t, err)
	require.Equal(t, int64(rows), got.Counts.Favourites)
	t.Logf("%d calls in 30 s by %d clients; %d favourites stand", calls.Load(), clients, rows)
}
