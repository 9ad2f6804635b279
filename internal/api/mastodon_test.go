package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
	"github.com/stretchr/testify/require"
)

// TestMastodonClientLibrary drives Starling with github.com/mattn/go-mastodon, unmodified.
func TestMastodonClientLibrary(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := s.user("alice")
	bob := s.user("bob")

	// Register an app and complete the authorization-code flow in a "browser".
	const redirect = "https://client.example/callback"
	app, err := mastodon.RegisterApp(ctx, &mastodon.AppConfig{
		Server: s.base, ClientName: "go-mastodon test", Scopes: "read write follow",
		RedirectURIs: redirect, Website: "https://client.example",
	})
	require.NoError(t, err)
	require.NotEmpty(t, app.ClientID)
	require.NotEmpty(t, app.ClientSecret)
	back := s.browser().authorize(app.AuthURI, "alice", "approve")
	require.Equal(t, "client.example", back.Host)
	code := back.Query().Get("code")
	require.NotEmpty(t, code)

	c := mastodon.NewClient(&mastodon.Config{Server: s.base, ClientID: app.ClientID, ClientSecret: app.ClientSecret})
	require.NoError(t, c.AuthenticateToken(ctx, code, redirect))
	me, err := c.GetAccountCurrentUser(ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", me.Username)
	require.Equal(t, fmt.Sprint(alice.ID), string(me.ID))
	verified, err := c.VerifyAppCredentials(ctx)
	require.NoError(t, err)
	require.Equal(t, "go-mastodon test", verified.Name)

	// Listen before posting.
	stream, err := c.StreamingPublic(ctx, false)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)

	st, err := c.PostStatus(ctx, &mastodon.Toot{Status: "Hello @bob, from a Mastodon client!"})
	require.NoError(t, err)
	require.Equal(t, "public", st.Visibility)
	require.Contains(t, st.Content, "Hello")
	require.Equal(t, "alice", st.Account.Username)

	waitEvent(t, stream, func(e mastodon.Event) bool {
		u, ok := e.(*mastodon.UpdateEvent)
		return ok && u.Status.ID == st.ID
	}, "update for the new status")

	// Timelines, following the Link headers.
	for i := range 44 {
		_, err := c.PostStatus(ctx, &mastodon.Toot{Status: fmt.Sprintf("filler %d", i)})
		require.NoError(t, err)
	}
	home := collect(t, func(pg *mastodon.Pagination) ([]*mastodon.Status, error) { return c.GetTimelineHome(ctx, pg) })
	require.Len(t, home, 45, "home timeline across pages")
	public := collect(t, func(pg *mastodon.Pagination) ([]*mastodon.Status, error) { return c.GetTimelinePublic(ctx, true, pg) })
	require.Len(t, public, 45, "public timeline across pages")

	// The mentioned user's notifications (bob's own token).
	s.waitFor(`SELECT count(*) FROM notifications`, 1)
	bc := mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: s.personalToken(bob, "read")})
	ns, err := bc.GetNotifications(ctx, nil)
	require.NoError(t, err)
	require.Len(t, ns, 1)
	require.Equal(t, "mention", ns[0].Type)
	require.Equal(t, st.ID, ns[0].Status.ID)
	require.Equal(t, "alice", ns[0].Account.Username)
	require.Len(t, ns[0].Status.Mentions, 1)
	require.Equal(t, "bob", ns[0].Status.Mentions[0].Username)

	// Delete it: gone, and the stream says so.
	require.NoError(t, c.DeleteStatus(ctx, st.ID))
	_, err = c.GetStatus(ctx, st.ID)
	require.Error(t, err)
	waitEvent(t, stream, func(e mastodon.Event) bool {
		d, ok := e.(*mastodon.DeleteEvent)
		return ok && d.ID == st.ID
	}, "delete event")
}

func waitEvent(t *testing.T, ch chan mastodon.Event, match func(mastodon.Event) bool, what string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case e := <-ch:
			if match(e) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s", what)
		}
	}
}

// collect follows next-page links until the end and returns every status, checking there
// are no duplicates.
func collect(t *testing.T, get func(*mastodon.Pagination) ([]*mastodon.Status, error)) []*mastodon.Status {
	t.Helper()
	var all []*mastodon.Status
	seen := map[mastodon.ID]bool{}
	pg := &mastodon.Pagination{Limit: 20}
	for range 10 {
		page, err := get(pg)
		require.NoError(t, err)
		for _, st := range page {
			require.False(t, seen[st.ID], "status %s twice", st.ID)
			seen[st.ID] = true
		}
		all = append(all, page...)
		if len(page) == 0 || pg.MaxID == "" {
			break
		}
		pg = &mastodon.Pagination{MaxID: pg.MaxID, Limit: 20}
	}
	return all
}
