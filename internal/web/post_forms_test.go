package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestComposeEditAndCounters: the compose form's visibility, content warning and reply
// fields are honoured; a refused value is named on the form; the author edits a post from
// its page (and nobody else can); counters and notifications show on the pages.
func TestComposeEditAndCounters(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice, bob := s.client(), s.client()
	alice.signup("alice")
	bob.signup("bob")
	res := alice.post("/posts", url.Values{"body": {"for my followers only"}, "visibility": {"private"}, "spoiler_text": {"work"}, "next": {"/home"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	var id int64
	var vis, cw string
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id, visibility, spoiler_text FROM posts`).Scan(&id, &vis, &cw))
	require.Equal(t, "private", vis)
	require.Equal(t, "work", cw)
	page := fmt.Sprintf("/posts/%d", id)
	require.Equal(t, http.StatusNotFound, bob.get(page).status, "bob does not follow alice")
	got := alice.get(page)
	require.Equal(t, http.StatusOK, got.status)
	require.Contains(t, got.body, `<details class="cw"><summary dir="auto">work</summary>`)
	require.Contains(t, got.body, "Followers only")
	require.Contains(t, got.body, `<option value="private" selected>`, "a reply starts with the post's visibility")

	// Refusals name their field on the form.
	res = alice.post("/posts", url.Values{"body": {"x"}, "visibility": {"everyone"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "must be one of public, unlisted, private, direct")
	res = alice.post("/posts", url.Values{"body": {"x"}, "in_reply_to_id": {"abc"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "in_reply_to_id")

	// Editing: the author's form, saved; bob cannot even see the form.
	edit := page + "/edit"
	form := alice.get(edit)
	require.Equal(t, http.StatusOK, form.status)
	require.Contains(t, form.body, "for my followers only")
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, bob.get(edit).status)
	res = bob.post(edit, url.Values{"body": {"bob was here"}})
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, res.status)
	res = alice.post(edit, url.Values{"body": {"for my followers, edited"}, "spoiler_text": {""}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	got = alice.get(page)
	require.Contains(t, got.body, "for my followers, edited")
	require.Contains(t, got.body, "(edited)")
	require.NotContains(t, got.body, `class="cw"`, "the warning was removed")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM post_edits WHERE post_id = $1`, id))

	// Bob follows alice, favourites and replies; alice's notifications list both kinds and
	// the post shows the counts.
	require.Equal(t, http.StatusSeeOther, bob.post("/@alice/follow", url.Values{}).status)
	require.Equal(t, http.StatusSeeOther, bob.post(page+"/favourite", url.Values{}).status)
	require.Equal(t, http.StatusSeeOther, bob.post("/posts", url.Values{"body": {"@alice nice"}, "in_reply_to_id": {fmt.Sprint(id)}, "visibility": {"private"}}).status)
	s.waitFor(`SELECT count(*) FROM notifications WHERE kind IN ('favourite', 'follow', 'mention')`, 3)
	s.waitFor(`SELECT coalesce(sum(favourites) * 10 + sum(replies), 0)::int FROM post_stats`, 11)
	notes := alice.get("/notifications").body
	for _, want := range []string{"favourited your post", "followed you", "mentioned you"} {
		require.Contains(t, notes, want)
	}
	got = bob.get(page)
	require.Contains(t, got.body, `aria-pressed="true">Favourited <span class="count">1</span>`)
	require.True(t, strings.Contains(got.body, `Reply <span class="count">1</span>`), "one reply counted")
	// The fragment live.js asks for is the post alone.
	frag := bob.post(page+"/unfavourite", url.Values{}, "X-Starling-Fragment", "1")
	require.Equal(t, http.StatusOK, frag.status)
	require.True(t, strings.HasPrefix(strings.TrimSpace(frag.body), "<article"), frag.body)
	require.Contains(t, frag.body, `aria-pressed="false">Favourite`)
}

// TestDeleteAsksFirstAndReturns: Delete shows what is about to go and asks; deleting
// returns to the page the button was on (the author's profile when that was the post's
// own page), and an admin deleting someone else's post is told so before and after.
func TestDeleteAsksFirstAndReturns(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice, bob, carol := s.client(), s.client(), s.client()
	alice.signup("alice")
	bob.signup("bob")
	carol.signup("carol")
	require.NoError(t, s.core.GrantAdmin(context.Background(), "alice"))
	post := func(c *client, body string) string {
		res := c.post("/posts", url.Values{"body": {body}, "next": {"/home"}})
		require.Equal(t, http.StatusSeeOther, res.status, res.body)
		var id string
		require.NoError(t, s.pool.QueryRow(context.Background(), `SELECT id::text FROM posts WHERE body = $1`, body).Scan(&id))
		return id
	}
	from := func(c *client, path, referer string) response {
		req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Referer", s.srv.URL+referer)
		return c.do(req)
	}

	// Bob deletes his own post from his home timeline: asked, then back on /home.
	id := post(bob, "a post bob regrets")
	ask := from(bob, "/posts/"+id+"/delete", "/home")
	require.Equal(t, http.StatusOK, ask.status)
	require.Contains(t, ask.body, "<h1>Delete your post?</h1>")
	require.Contains(t, ask.body, "a post bob regrets", "the post about to go is shown")
	require.Contains(t, ask.body, `<input type="hidden" name="next" value="/home">`)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM posts WHERE id = $1 AND deleted_at IS NULL`, id), "asking deletes nothing")
	res := bob.post("/posts/"+id+"/delete", url.Values{"next": {"/home"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/home", res.location)
	require.Contains(t, bob.get("/home").body, "Post deleted.")
	require.Zero(t, s.count(`SELECT count(*) FROM posts WHERE id = $1 AND deleted_at IS NULL`, id))

	// From the post's own page (gone afterwards), back to the author's profile.
	id = post(bob, "another one")
	ask = from(bob, "/posts/"+id+"/delete", "/posts/"+id)
	require.Contains(t, ask.body, `name="next" value="/@bob"`)

	// Carol may not delete it, nor be asked to.
	require.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, carol.get("/posts/"+id+"/delete").status)

	// Alice, an admin, is told whose post it is, and told again once it is done.
	ask = from(alice, "/posts/"+id+"/delete", "/")
	require.Equal(t, http.StatusOK, ask.status)
	require.Contains(t, ask.body, "<h1>Delete <bdi>@bob</bdi>'s post, as an admin?</h1>")
	res = alice.post("/posts/"+id+"/delete", url.Values{"next": {"/"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Equal(t, "/", res.location)
	require.Contains(t, alice.get("/").body, "You deleted @bob&#39;s post, as an admin.")

	// A next that leaves the site stays on it.
	id = post(bob, "third")
	res = bob.post("/posts/"+id+"/delete", url.Values{"next": {"//evil.example/"}})
	require.Equal(t, "/", res.location)
}
