package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/avatar"
)

// TestSearchTagAndDirectoryPages: a post's #tag links to its page, which lists the tag's
// public posts and lets a reader follow and feature it (forms, no JavaScript); the search
// page finds the post with its words marked, shows a bad query's problem next to the box,
// and escapes what it echoes; the directory lists the accounts.
func TestSearchTagAndDirectoryPages(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice := s.client()
	alice.signup("alice")
	res := alice.post("/posts", url.Values{"body": {"Compost <b>tips</b> for the #Garden"}, "next": {"/home"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	s.waitFor(`SELECT count(*) FROM post_search`, 1)
	s.waitFor(`SELECT count(*) FROM post_tags`, 1)

	anon := s.client()
	home := anon.get("/")
	require.Contains(t, home.body, `<a class="hashtag" href="/tags/garden" rel="tag">#<span>Garden</span></a>`)
	tag := anon.get("/tags/garden")
	require.Equal(t, http.StatusOK, tag.status)
	require.Contains(t, tag.body, "#<bdi>Garden</bdi>")
	require.Contains(t, tag.body, "Compost &lt;b&gt;tips&lt;/b&gt;")
	require.NotContains(t, tag.body, `action="/tags/garden/follow"`, "no follow button for anonymous readers")
	require.Equal(t, http.StatusNotFound, anon.get("/tags/"+url.PathEscape("not a tag")).status)

	found := anon.get("/search?q=tips")
	require.Equal(t, http.StatusOK, found.status)
	require.Contains(t, found.body, `<mark>tips</mark>`, "the matching word is marked")
	require.NotContains(t, found.body, "<b>tips</b>", "the passage is escaped")
	people := anon.get("/search?q=ali")
	require.Contains(t, people.body, `href="/@alice"`, "people by prefix")
	bad := anon.get("/search?q=" + url.QueryEscape(`tips before:<script>`))
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	require.Contains(t, bad.body, `aria-invalid="true"`)
	require.Contains(t, bad.body, "before: needs a date like 2026-12-31")
	require.NotContains(t, bad.body, "<script>")

	res = alice.post("/tags/garden/follow", nil)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM tag_follows`))
	res = alice.post("/tags/garden/feature", nil)
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page := alice.get("/tags/garden")
	require.Contains(t, page.body, `action="/tags/garden/unfollow"`)
	require.Contains(t, page.body, `action="/tags/garden/unfeature"`)
	profile := anon.get("/@alice")
	require.Contains(t, profile.body, `aria-label="Featured tags"`)
	require.True(t, strings.Contains(profile.body, `href="/tags/garden"`))

	dir := anon.get("/directory")
	require.Equal(t, http.StatusOK, dir.status)
	require.Contains(t, dir.body, `href="/@alice"`)
}

// TestDefaultAvatarIsServedImmutable: every account's default avatar is its own PNG,
// cacheable forever (its address carries the drawing's version), revalidated with its
// ETag, readable from other origins; the pages and the API point at it.
func TestDefaultAvatarIsServedImmutable(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.signup("alice")
	var id int64
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id FROM users WHERE username = 'alice'`).Scan(&id))
	path := avatar.Path(id)
	res := c.get(path)
	require.Equal(t, http.StatusOK, res.status)
	require.Equal(t, "image/png", res.header.Get("Content-Type"))
	require.Equal(t, "public, max-age=31536000, immutable", res.header.Get("Cache-Control"))
	require.Equal(t, "*", res.header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, "nosniff", res.header.Get("X-Content-Type-Options"))
	require.Equal(t, string(avatar.Default(id)), res.body)
	req, err := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("If-None-Match", res.header.Get("ETag"))
	require.Equal(t, http.StatusNotModified, c.do(req).status)
	require.Equal(t, http.StatusNotFound, c.get(strings.Replace(path, "-v"+avatar.Version, "-v999", 1)).status, "another drawing's address")
	require.Contains(t, c.get("/@alice").body, `src="`+path+`"`)
}

// TestProfileSettings: the profile form (no JavaScript) saves fields, the bot flag, the
// directory listing and the new posts' defaults; the profile shows the fields with their
// URLs linked and escaped; a post from the website then takes the default language and
// visibility is offered as chosen; a bad language is shown next to its field.
func TestProfileSettings(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice := s.client()
	alice.signup("alice")
	res := alice.post("/settings/profile", url.Values{"field_name_0": {"Site"}, "field_value_0": {"https://alice.example/ <b>"},
		"bot": {"on"}, "default_visibility": {"unlisted"}, "default_language": {"de"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	profile := s.client().get("/@alice")
	require.Contains(t, profile.body, `<dt dir="auto">Site</dt>`)
	require.Contains(t, profile.body, `<a href="https://alice.example/"`)
	require.Contains(t, profile.body, "&lt;b&gt;")
	require.Contains(t, profile.body, "Bot: this account posts automatically")
	require.NotContains(t, s.client().get("/directory").body, `href="/@alice"`, "not discoverable: the box was left unticked")
	settings := alice.get("/settings")
	require.Contains(t, settings.body, `<option value="unlisted" selected>`)
	require.Contains(t, alice.get("/home").body, `<option value="unlisted" selected>`, "the compose box offers the default")
	require.Contains(t, settings.body, `value="de"`)

	res = alice.post("/posts", url.Values{"body": {"Die Häuser"}, "visibility": {"public"}, "next": {"/home"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM posts WHERE language = 'de'`), "the default language")

	bad := alice.post("/settings/profile", url.Values{"default_language": {"klingon"}, "default_visibility": {"public"}})
	require.Equal(t, http.StatusUnprocessableEntity, bad.status)
	require.Contains(t, bad.body, `aria-describedby="e-default_language"`)
	require.Contains(t, bad.body, "not an ISO 639-1 language code")
}

// TestPinFromTheWebsite: an author pins and unpins a post with a form (no JavaScript);
// the profile's first page shows it under "Pinned"; nobody else is offered the button.
func TestPinFromTheWebsite(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice := s.client()
	alice.signup("alice")
	res := alice.post("/posts", url.Values{"body": {"the post to pin"}, "visibility": {"public"}, "next": {"/home"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	var id int64
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id FROM posts`).Scan(&id))
	pin := fmt.Sprintf("/posts/%d/pin", id)
	require.Contains(t, alice.get("/@alice").body, `action="`+pin+`"`)
	bob := s.client()
	bob.signup("bob")
	require.NotContains(t, bob.get("/@alice").body, `action="`+pin+`"`, "only the author may pin")
	res = alice.post(pin, url.Values{"next": {"/@alice"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page := s.client().get("/@alice")
	require.Contains(t, page.body, `<h2 id="pinned-heading">Pinned</h2>`)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM pins`))
	res = alice.post(fmt.Sprintf("/posts/%d/unpin", id), url.Values{"next": {"/@alice"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.NotContains(t, s.client().get("/@alice").body, "pinned-heading")
}
