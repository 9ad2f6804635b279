package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFollowLimit (issue 13, item 2): follows and unfollows on the website, which each
// write an event every live hub reads, draw on one allowance per account: 30 a minute,
// then 429 with Retry-After and no event written.
func TestFollowLimit(t *testing.T) {
	t.Parallel()
	s := newSite(t, func(o *siteOptions) { o.limits = true })
	s.client().signup("bob")
	alice := s.client()
	alice.signup("alice")
	for i := range 30 {
		path := "/@bob/follow"
		if i%2 == 1 {
			path = "/@bob/unfollow"
		}
		res := alice.post(path, url.Values{})
		require.Equal(t, http.StatusSeeOther, res.status, "change %d", i)
	}
	events := s.count(`SELECT count(*) FROM events WHERE topic LIKE 'follow.%'`)
	require.Equal(t, 30, events)
	for _, path := range []string{"/@bob/follow", "/@bob/unfollow"} {
		res := alice.post(path, url.Values{})
		require.Equal(t, http.StatusTooManyRequests, res.status, path)
		require.NotEmpty(t, res.header.Get("Retry-After"))
	}
	require.Equal(t, events, s.count(`SELECT count(*) FROM events WHERE topic LIKE 'follow.%'`), "a refused change writes nothing")

	// The allowance is the account's own: another account still follows.
	carol := s.client()
	carol.signup("carol")
	require.Equal(t, http.StatusSeeOther, carol.post("/@bob/follow", url.Values{}).status)
}
