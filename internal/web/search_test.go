package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
