package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/mattn/go-mastodon"
	"github.com/stretchr/testify/require"
)

// TestFollowRequests: a locked account's follows are requests (relationship requested),
// listed by GET /api/v1/follow_requests and notified once as follow_request; a pending
// requester does not see followers-only posts; authorize makes a follow (counted, no
// follow notification), reject and withdrawal end the request, each dismissing its
// notification; unlocking accepts those waiting. Through go-mastodon and raw requests.
func TestFollowRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	alice, bob, carol, dan := s.user("alice"), s.user("bob"), s.user("carol"), s.user("dan")
	at := s.personalToken(alice, "read write follow")
	ac := mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: at})
	client := func(tok string) *mastodon.Client {
		return mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: tok})
	}
	bc, cc, dc := client(s.personalToken(bob, "read write follow")), client(s.personalToken(carol, "read write follow")),
		client(s.personalToken(dan, "read write follow"))

	locked := true
	me, err := ac.AccountUpdate(ctx, &mastodon.Profile{Locked: &locked})
	require.NoError(t, err)
	require.True(t, me.Locked)
	secret, err := ac.PostStatus(ctx, &mastodon.Toot{Status: "for my followers", Visibility: "private"})
	require.NoError(t, err)

	aliceID := mastodon.ID(fmt.Sprint(alice.ID))
	for _, c := range []*mastodon.Client{bc, cc, dc} {
		rel, err := c.AccountFollow(ctx, aliceID)
		require.NoError(t, err)
		require.True(t, rel.Requested)
		require.False(t, rel.Following)
	}
	rel, err := bc.AccountFollow(ctx, aliceID) // again: still one request
	require.NoError(t, err)
	require.True(t, rel.Requested)
	s.waitFor(fmt.Sprintf("SELECT count(*) FROM notifications WHERE recipient_id = %d AND kind = 'follow_request'", alice.ID), 3)
	ns, err := ac.GetNotifications(ctx, nil)
	require.NoError(t, err)
	require.Len(t, ns, 3)
	require.Equal(t, "follow_request", ns[0].Type)

	reqs, err := ac.GetFollowRequests(ctx, nil)
	require.NoError(t, err)
	require.Len(t, reqs, 3)
	require.Equal(t, "dan", reqs[0].Username, "newest first")
	code, body, h := s.call(http.MethodGet, "/api/v1/follow_requests?limit=2", at, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, h.Get("Link"), `rel="next"`)
	code, body, _ = s.call(http.MethodGet, "/api/v1/accounts/verify_credentials", at, nil)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"follow_requests_count":3`)

	// Pending, bob does not see the followers-only post.
	_, err = bc.GetStatus(ctx, secret.ID)
	require.Error(t, err)

	// Authorize bob: a follow, counted; its notification dismissed; no follow notification.
	require.NoError(t, ac.FollowRequestAuthorize(ctx, mastodon.ID(fmt.Sprint(bob.ID))))
	rels, err := bc.GetAccountRelationships(ctx, []string{string(aliceID)})
	require.NoError(t, err)
	require.True(t, rels[0].Following)
	require.False(t, rels[0].Requested)
	_, err = bc.GetStatus(ctx, secret.ID)
	require.NoError(t, err, "a follower sees it")
	acct, err := bc.GetAccount(ctx, aliceID)
	require.NoError(t, err)
	require.Equal(t, int64(1), acct.FollowersCount)
	// Reject carol; dan withdraws.
	require.NoError(t, ac.FollowRequestReject(ctx, mastodon.ID(fmt.Sprint(carol.ID))))
	_, err = dc.AccountUnfollow(ctx, aliceID)
	require.NoError(t, err)
	s.waitFor(fmt.Sprintf("SELECT count(*) FROM notifications WHERE recipient_id = %d AND kind = 'follow_request'", alice.ID), 0)
	reqs, err = ac.GetFollowRequests(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, reqs)
	_, err = cc.GetStatus(ctx, secret.ID)
	require.Error(t, err, "rejected: still not a follower")
	// Nothing to answer: 404, and never someone else's request.
	for _, path := range []string{fmt.Sprintf("/api/v1/follow_requests/%d/authorize", carol.ID), "/api/v1/follow_requests/999999/reject", "/api/v1/follow_requests/x/reject"} {
		code, _, _ := s.call(http.MethodPost, path, at, url.Values{})
		require.Equal(t, http.StatusNotFound, code, path)
	}
	rels2, err := dc.AccountFollow(ctx, aliceID)
	require.NoError(t, err)
	require.True(t, rels2.Requested)
	code, _, _ = s.call(http.MethodPost, fmt.Sprintf("/api/v1/follow_requests/%d/authorize", dan.ID), s.personalToken(carol, "write"), url.Values{})
	require.Equal(t, http.StatusNotFound, code, "only alice answers requests to follow alice")

	// Unlocking accepts dan's waiting request.
	code, body = rawJSON(s, http.MethodPatch, "/api/v1/accounts/update_credentials", at, "application/json", []byte(`{"locked":false}`))
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"locked":false`)
	rels, err = dc.GetAccountRelationships(ctx, []string{string(aliceID)})
	require.NoError(t, err)
	require.True(t, rels[0].Following)
	acct, err = bc.GetAccount(ctx, aliceID)
	require.NoError(t, err)
	require.Equal(t, int64(2), acct.FollowersCount)
	s.waitFor(`SELECT count(*) FROM consumers WHERE name = 'interactions' AND event_id < (SELECT max(id) FROM events)`, 0)
	var follows int
	require.NoError(t, s.pool.QueryRow(ctx, "SELECT count(*) FROM notifications WHERE recipient_id = $1 AND kind = 'follow'", alice.ID).Scan(&follows))
	require.Zero(t, follows, "accepted follows notify nobody")
	// Unlocked, a follow is a follow again.
	ec := client(s.personalToken(s.user("erin"), "follow"))
	rel, err = ec.AccountFollow(ctx, aliceID)
	require.NoError(t, err)
	require.True(t, rel.Following)
}
