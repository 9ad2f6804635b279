package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// TestConversationThroughGoMastodon drives replies, threads, favourites, boosts,
// bookmarks, pins, edits and follow notifications through go-mastodon, as an app would,
// and checks the counters and notifications the consumers apply.
func TestConversationThroughGoMastodon(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	alice, bob, carol := s.user("alice"), s.user("bob"), s.user("carol")
	client := func(u core.User) *mastodon.Client {
		return mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: s.personalToken(u, "read write follow")})
	}
	a, b, c := client(alice), client(bob), client(carol)
	stats := func(id mastodon.ID) string {
		return fmt.Sprintf(`SELECT coalesce((SELECT replies * 100 + favourites * 10 + reblogs FROM post_stats WHERE post_id = %s), 0)`, id)
	}
	kinds := func(cl *mastodon.Client) map[string]int {
		ns, err := cl.GetNotifications(ctx, nil)
		require.NoError(t, err)
		out := map[string]int{}
		for _, n := range ns {
			out[n.Type]++
			if n.Type == "follow" {
				require.Nil(t, n.Status, "a follow is about no status")
			} else {
				require.NotNil(t, n.Status, n.Type)
			}
		}
		return out
	}

	// A thread: bob posts, alice replies, bob answers the reply.
	root, err := b.PostStatus(ctx, &mastodon.Toot{Status: "what shall we build?"})
	require.NoError(t, err)
	reply, err := a.PostStatus(ctx, &mastodon.Toot{Status: "a microblog", InReplyToID: root.ID})
	require.NoError(t, err)
	require.Equal(t, string(root.ID), fmt.Sprint(reply.InReplyToID))
	require.Equal(t, fmt.Sprint(bob.ID), fmt.Sprint(reply.InReplyToAccountID))
	answer, err := b.PostStatus(ctx, &mastodon.Toot{Status: "on Postgres only", InReplyToID: reply.ID})
	require.NoError(t, err)
	thread, err := c.GetStatusContext(ctx, reply.ID)
	require.NoError(t, err)
	require.Len(t, thread.Ancestors, 1)
	require.Equal(t, root.ID, thread.Ancestors[0].ID)
	require.Len(t, thread.Descendants, 1)
	require.Equal(t, answer.ID, thread.Descendants[0].ID)
	thread, err = c.GetStatusContext(ctx, root.ID)
	require.NoError(t, err)
	require.Equal(t, []mastodon.ID{reply.ID, answer.ID}, []mastodon.ID{thread.Descendants[0].ID, thread.Descendants[1].ID})
	s.waitFor(stats(root.ID), 100)

	// Favourites: given, listed, notified once, taken back, given again.
	fav, err := a.Favourite(ctx, root.ID)
	require.NoError(t, err)
	require.Equal(t, true, fav.Favourited)
	_, err = a.Favourite(ctx, root.ID) // twice is once
	require.NoError(t, err)
	s.waitFor(stats(root.ID), 110)
	by, err := c.GetFavouritedBy(ctx, root.ID, nil)
	require.NoError(t, err)
	require.Len(t, by, 1)
	require.Equal(t, "alice", by[0].Username)
	favs, err := a.GetFavourites(ctx, nil)
	require.NoError(t, err)
	require.Len(t, favs, 1)
	require.Equal(t, root.ID, favs[0].ID)
	s.waitFor(`SELECT count(*) FROM notifications WHERE kind = 'favourite'`, 1)
	got, err := b.GetStatus(ctx, root.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.FavouritesCount)
	require.Equal(t, false, got.Favourited, "bob did not favourite it")
	unfav, err := a.Unfavourite(ctx, root.ID)
	require.NoError(t, err)
	require.Equal(t, false, unfav.Favourited)
	s.waitFor(stats(root.ID), 100)
	require.Zero(t, kinds(b)["favourite"], "the notification goes with the favourite")
	_, err = a.Favourite(ctx, root.ID)
	require.NoError(t, err)
	s.waitFor(`SELECT count(*) FROM notifications WHERE kind = 'favourite'`, 1)
	s.waitFor(stats(root.ID), 110)

	// Boosts: carol follows alice and sees alice's boost in her home timeline, not on the
	// public timeline; bob is notified; undoing it takes both back.
	_, err = c.AccountFollow(ctx, mastodon.ID(fmt.Sprint(alice.ID)))
	require.NoError(t, err)
	stream, err := c.StreamingUser(ctx)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)
	boost, err := a.Reblog(ctx, root.ID)
	require.NoError(t, err)
	require.NotNil(t, boost.Reblog)
	require.Equal(t, root.ID, boost.Reblog.ID)
	require.Equal(t, true, boost.Reblogged)
	waitEvent(t, stream, func(e mastodon.Event) bool {
		u, ok := e.(*mastodon.UpdateEvent)
		return ok && u.Status.ID == boost.ID && u.Status.Reblog != nil && u.Status.Reblog.ID == root.ID
	}, "the boost, wrapping bob's post, on carol's user stream")
	s.waitFor(stats(root.ID), 111)
	home, err := c.GetTimelineHome(ctx, nil)
	require.NoError(t, err)
	require.NotEmpty(t, home)
	require.Equal(t, boost.ID, home[0].ID)
	require.Equal(t, root.ID, home[0].Reblog.ID)
	require.Equal(t, "bob", home[0].Reblog.Account.Username)
	public, err := c.GetTimelinePublic(ctx, false, nil)
	require.NoError(t, err)
	for _, p := range public {
		require.Nil(t, p.Reblog, "boosts are not on the public timeline")
	}
	rb, err := c.GetRebloggedBy(ctx, root.ID, nil)
	require.NoError(t, err)
	require.Len(t, rb, 1)
	s.waitFor(`SELECT count(*) FROM notifications WHERE kind = 'reblog'`, 1)
	un, err := a.Unreblog(ctx, root.ID)
	require.NoError(t, err)
	require.Equal(t, false, un.Reblogged)
	require.Equal(t, root.ID, un.ID)
	s.waitFor(stats(root.ID), 110)
	require.Zero(t, kinds(b)["reblog"])

	// Bookmarks are the caller's alone.
	_, err = c.Bookmark(ctx, reply.ID)
	require.NoError(t, err)
	marks, err := c.GetBookmarks(ctx, nil)
	require.NoError(t, err)
	require.Len(t, marks, 1)
	require.Equal(t, true, marks[0].Bookmarked)
	mine, err := a.GetBookmarks(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, mine)
	_, err = c.Unbookmark(ctx, reply.ID)
	require.NoError(t, err)
	marks, err = c.GetBookmarks(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, marks)

	// Pins: one's own posts only, shown with pinned=true.
	code, body, _ := s.call(http.MethodPost, "/api/v1/statuses/"+string(reply.ID)+"/pin", s.personalToken(alice, "write"), url.Values{})
	require.Equal(t, http.StatusOK, code, body)
	pinned, err := c.GetAccountPinnedStatuses(ctx, mastodon.ID(fmt.Sprint(alice.ID)))
	require.NoError(t, err)
	require.Len(t, pinned, 1)
	require.Equal(t, reply.ID, pinned[0].ID)
	code, body, _ = s.call(http.MethodPost, "/api/v1/statuses/"+string(reply.ID)+"/pin", s.personalToken(bob, "write"), url.Values{})
	require.Equal(t, http.StatusUnprocessableEntity, code, body)

	// Edits: the new text, the history, the source; an account the edit mentions is
	// notified once, however many edits mention it.
	edited, err := a.UpdateStatus(ctx, &mastodon.Toot{Status: "a microblog, says @carol too"}, reply.ID)
	require.NoError(t, err)
	waitEvent(t, stream, func(e mastodon.Event) bool {
		u, ok := e.(*mastodon.UpdateEditEvent)
		return ok && u.Status.ID == reply.ID && strings.Contains(u.Status.Content, "says")
	}, "status.update for the edit on carol's user stream")
	require.Contains(t, edited.Content, "says")
	require.NotNil(t, edited.EditedAt)
	_, err = a.UpdateStatus(ctx, &mastodon.Toot{Status: "a microblog, as @carol said"}, reply.ID)
	require.NoError(t, err)
	history, err := c.GetStatusHistory(ctx, reply.ID)
	require.NoError(t, err)
	require.Len(t, history, 3)
	require.Contains(t, history[0].Content, "a microblog")
	require.Contains(t, history[2].Content, "as ")
	src, err := a.GetStatusSource(ctx, reply.ID)
	require.NoError(t, err)
	require.Equal(t, "a microblog, as @carol said", src.Text)
	s.waitFor(fmt.Sprintf(`SELECT count(*) FROM notifications WHERE kind = 'mention' AND recipient_id = %d`, carol.ID), 1)
	time.Sleep(200 * time.Millisecond)
	require.Equal(t, 1, kinds(c)["mention"], "one mention notification for two edits")
	_, err = b.UpdateStatus(ctx, &mastodon.Toot{Status: "not mine"}, reply.ID)
	require.ErrorContains(t, err, "403")

	// Follows notify; unfollowing takes the notification back.
	s.waitFor(fmt.Sprintf(`SELECT count(*) FROM notifications WHERE kind = 'follow' AND recipient_id = %d`, alice.ID), 1)
	require.Equal(t, 1, kinds(a)["follow"])
	_, err = c.AccountUnfollow(ctx, mastodon.ID(fmt.Sprint(alice.ID)))
	require.NoError(t, err)
	require.Zero(t, kinds(a)["follow"])

	// Notification kinds filter as apps ask.
	only, err := b.GetNotificationsExclude(ctx, &[]string{"mention", "reblog", "follow"}, nil)
	require.NoError(t, err)
	require.Len(t, only, 1)
	require.Equal(t, "favourite", only[0].Type)
}

// TestInteractionsRawJSON sends the new fields as JSON-posting apps do, and checks each
// refusal names its field.
func TestInteractionsRawJSON(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice, bob := s.user("alice"), s.user("bob")
	at, bt := s.personalToken(alice, "read write"), s.personalToken(bob, "read write")
	post := func(tok string, fields string) (int, map[string]any) {
		return s.raw(http.MethodPost, "/api/v1/statuses", tok, "application/json", []byte(fields))
	}
	code, secret := post(at, `{"status":"for my followers","visibility":"private","spoiler_text":"work stuff"}`)
	require.Equal(t, http.StatusOK, code, secret)
	require.Equal(t, "private", secret["visibility"])
	require.Equal(t, "work stuff", secret["spoiler_text"])
	require.Equal(t, true, secret["sensitive"])
	sid := secret["id"].(string)

	// Bob does not follow alice: the post is not there for him, in any way.
	code, out := s.raw(http.MethodGet, "/api/v1/statuses/"+sid, bt, "", nil)
	require.Equal(t, http.StatusNotFound, code, out)
	for _, action := range []string{"favourite", "reblog", "bookmark"} {
		code, out = s.raw(http.MethodPost, "/api/v1/statuses/"+sid+"/"+action, bt, "application/json", []byte(`{}`))
		require.Equal(t, http.StatusNotFound, code, "%s: %v", action, out)
	}
	code, out = post(bt, fmt.Sprintf(`{"status":"a reply","in_reply_to_id":"%s"}`, sid))
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Contains(t, out["error"], "in_reply_to_id")

	// Alice herself cannot boost her private post, and visibility of a boost is checked.
	code, out = s.raw(http.MethodPost, "/api/v1/statuses/"+sid+"/reblog", at, "application/json", []byte(`{}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, out)
	code, pub := post(at, `{"status":"hello everyone"}`)
	require.Equal(t, http.StatusOK, code)
	pid := pub["id"].(string)
	code, out = s.raw(http.MethodPost, "/api/v1/statuses/"+pid+"/reblog", bt, "application/json", []byte(`{"visibility":"direct"}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, out)
	require.Contains(t, out["error"], "visibility")
	code, out = s.raw(http.MethodPost, "/api/v1/statuses/"+pid+"/reblog", bt, "application/json", []byte(`{"visibility":"unlisted"}`))
	require.Equal(t, http.StatusOK, code, out)
	require.Equal(t, "unlisted", out["visibility"])
	require.Equal(t, pid, out["reblog"].(map[string]any)["id"])
	code, out = s.raw(http.MethodPost, "/api/v1/statuses/"+pid+"/favourite", bt, "application/json", []byte(`{"colour":"blue"}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, out)
	require.Contains(t, out["error"], "colour")

	// An edit may not change the visibility, nor schedule the post.
	code, out = s.raw(http.MethodPut, "/api/v1/statuses/"+pid, at, "application/json", []byte(`{"status":"hi","visibility":"private"}`))
	require.Equal(t, http.StatusUnprocessableEntity, code, out)
	require.Contains(t, out["error"], "visibility")
	code, out = s.raw(http.MethodPut, "/api/v1/statuses/"+pid, at, "application/json", []byte(`{"status":"hi all","visibility":"public","spoiler_text":""}`))
	require.Equal(t, http.StatusOK, code, out)
	require.Contains(t, out["content"], "hi all")
	require.NotNil(t, out["edited_at"])
}
