package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAccountCountsOneSource: the website's profile page and the API's account show the
// same post count, because both read the counter the stats worker maintains (the page
// used to count the posts itself, the API read the counter, and the two could differ).
func TestAccountCountsOneSource(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	for range 2 {
		_, err := s.core.CreatePost(context.Background(), alice.ID, "hello")
		require.NoError(t, err)
	}
	s.waitFor(fmt.Sprintf("SELECT coalesce((SELECT posts FROM user_stats WHERE user_id = %d), 0)", alice.ID), 2)
	// Make the counter and a live count disagree, as they do while the worker catches up.
	_, err := s.pool.Exec(context.Background(), "UPDATE user_stats SET posts = 7 WHERE user_id = $1", alice.ID)
	require.NoError(t, err)

	code, acct := s.raw(http.MethodGet, fmt.Sprintf("/api/v1/accounts/%d", alice.ID), "", "", nil)
	require.Equal(t, http.StatusOK, code)
	require.EqualValues(t, 7, acct["statuses_count"])
	res, page := s.browser().do(http.MethodGet, "/@alice", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "<strong>7</strong> posts")

	// The response to a new post carries the counts read in the statement that wrote it
	// (no query after the commit): the same as the account's, follows included.
	bob := s.user("bob")
	_, err = s.pool.Exec(context.Background(), "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)", bob.ID, alice.ID)
	require.NoError(t, err)
	code, st := s.raw(http.MethodPost, "/api/v1/statuses", s.personalToken(alice, "write"), "application/json", []byte(`{"status":"counted"}`))
	require.Equal(t, http.StatusOK, code, st)
	a := st["account"].(map[string]any)
	require.EqualValues(t, 7, a["statuses_count"])
	require.EqualValues(t, 1, a["followers_count"])
	require.EqualValues(t, 0, a["following_count"])
	require.Equal(t, st["created_at"].(string)[:10], a["last_status_at"], "the new post is the last")
	require.Nil(t, st["application"], "a personal token names no app")
}
