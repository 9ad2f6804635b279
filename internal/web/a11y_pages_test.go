package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPagesNameWhatTheyShow: the names a screen reader reads (issue 20, items 7 and 12):
// a skip link, an h1 on a post's page, every post article named by its author and date,
// time links and Delete buttons named in full, counts in the singular when one, and a
// bio's links and mentions of real accounts linked.
func TestPagesNameWhatTheyShow(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	alice, bob := s.client(), s.client()
	alice.signup("alice")
	bob.signup("bob")
	res := alice.post("/settings", url.Values{"display_name": {"Alice"},
		"bio": {"Working with @bob and @nobody on https://example.com/x #golang"}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	res = alice.post("/posts", url.Values{"body": {"a post to name"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	var id string
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id::text FROM posts WHERE body = 'a post to name'`).Scan(&id))
	res = bob.post("/@alice/follow", url.Values{})
	require.Equal(t, http.StatusSeeOther, res.status)

	page := alice.get("/posts/" + id)
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, `<a class="skip" href="#main">Skip to content</a>`)
	require.Contains(t, page.body, `<main id="main" tabindex="-1">`)
	require.Regexp(t, `<h1 class="visually-hidden">Post by <bdi>Alice</bdi> \(@alice\)</h1>`, page.body)
	full := `\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2} UTC`
	require.Regexp(t, `<article [^>]*aria-label="post by Alice, `+full+`"`, page.body)
	require.Regexp(t, `<a class="time" href="/posts/`+id+`" title="`+full+`"><time [^>]+>now</time><span class="visually-hidden">, `+full+`</span></a>`, page.body,
		"the time link's name is what it shows, then the full date")
	require.Regexp(t, `aria-label="Delete your post of `+full+`">Delete</button>`, page.body)

	// The counts are the counters' consumers', which follow within moments.
	var profile response
	require.Eventually(t, func() bool {
		profile = s.client().get("/@alice")
		return strings.Contains(profile.body, `<strong>1</strong> follower</a>`) && strings.Contains(profile.body, `<strong>1</strong> post</span>`)
	}, 10*time.Second, 20*time.Millisecond, "one follower and one post, not one followers: %s", profile.body)
	bio := regexp.MustCompile(`(?s)<p class="bio" dir="auto">(.*?)</p>`).FindStringSubmatch(profile.body)
	require.NotNil(t, bio, profile.body)
	require.Contains(t, bio[1], `href="/@bob"`, "a mention of an account here is linked")
	require.NotContains(t, bio[1], `href="/@nobody"`, "a name that is no account is not")
	require.Contains(t, bio[1], `href="https://example.com/x"`)
	require.Contains(t, bio[1], `href="/tags/golang"`)
}
