package api_test

import (
	"context"
	"encoding/json"
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

// TestSearchAndTagsThroughGoMastodon drives search, tag timelines, tag follows and the
// hashtag stream with go-mastodon, as a CLI client or a bot would.
func TestSearchAndTagsThroughGoMastodon(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, bob := s.user("alice"), s.user("bob")
	ac := mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: s.personalToken(alice, "read write follow")})
	bc := mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: s.personalToken(bob, "read write follow")})

	events, err := bc.StreamingHashtag(ctx, "Gardening", true)
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond)

	first, err := ac.PostStatus(ctx, &mastodon.Toot{Status: "My tomatoes are ripening #Gardening #summer", Language: "en"})
	require.NoError(t, err)
	require.Len(t, first.Tags, 2, "the status names its tags")
	require.Equal(t, "Gardening", first.Tags[0].Name, "as written")
	require.Equal(t, s.base+"/tags/gardening", first.Tags[0].URL)
	require.Contains(t, first.Content, `href="`+s.base+`/tags/gardening"`, "the content links the tag")
	second, err := bc.PostStatus(ctx, &mastodon.Toot{Status: "Die Tomaten reifen #gardening", Language: "de"})
	require.NoError(t, err)
	hidden, err := ac.PostStatus(ctx, &mastodon.Toot{Status: "unlisted tomatoes #gardening", Visibility: "unlisted"})
	require.NoError(t, err)

	// The stream carries the listed posts with the tag, whatever its case.
	got := map[mastodon.ID]bool{}
	deadline := time.After(20 * time.Second)
	for !got[first.ID] || !got[second.ID] {
		select {
		case e := <-events:
			if u, ok := e.(*mastodon.UpdateEvent); ok {
				got[u.Status.ID] = true
			}
		case <-deadline:
			t.Fatalf("the hashtag stream delivered %v", got)
		}
	}
	require.False(t, got[hidden.ID], "an unlisted post stays off the hashtag stream")
	s.waitFor(`SELECT count(*) FROM post_search`, 3)

	tl, err := bc.GetTimelineHashtag(ctx, "GARDENING", true, nil)
	require.NoError(t, err)
	require.Equal(t, []mastodon.ID{second.ID, first.ID}, statusIDs(tl), "listed posts only, newest first")
	tl, err = bc.GetTimelineHashtagMultiple(ctx, "gardening", false, &mastodon.TagData{All: []string{"summer"}}, nil)
	require.NoError(t, err)
	require.Equal(t, []mastodon.ID{first.ID}, statusIDs(tl))

	// Full-text search finds inflections in each post's language.
	res, err := bc.Search(ctx, "tomato ripen", false)
	require.NoError(t, err)
	require.Equal(t, []mastodon.ID{first.ID}, statusIDs(res.Statuses), "English stems")
	res, err = bc.Search(ctx, "Tomate", false)
	require.NoError(t, err)
	require.Equal(t, []mastodon.ID{second.ID}, statusIDs(res.Statuses), "German stems")
	res, err = bc.Search(ctx, "#garden", false)
	require.NoError(t, err)
	require.Len(t, res.Hashtags, 1, "tag prefix")
	require.Equal(t, "Gardening", res.Hashtags[0].Name)
	res, err = ac.Search(ctx, "tomatoes", false)
	require.NoError(t, err)
	require.ElementsMatch(t, []mastodon.ID{first.ID, hidden.ID}, statusIDs(res.Statuses), "the author finds her unlisted post")

	// Account search: the autocomplete of an @mention, as typed, and with a typo.
	accts, err := ac.AccountsSearch(ctx, "bo", 5)
	require.NoError(t, err)
	require.Len(t, accts, 1)
	require.Equal(t, "bob", accts[0].Username)
	accts, err = ac.AccountsSearch(ctx, "alicee", 5)
	require.NoError(t, err)
	require.NotEmpty(t, accts)
	require.Equal(t, "alice", accts[0].Username)
	accts, err = ac.AccountsSearch(ctx, "bob@elsewhere.example", 5)
	require.NoError(t, err)
	require.Empty(t, accts, "no account of another server is here")

	// Following a tag brings its listed posts to the home timeline.
	carol := s.user("carol")
	cc := mastodon.NewClient(&mastodon.Config{Server: s.base, AccessToken: s.personalToken(carol, "read write follow")})
	info, err := cc.TagInfo(ctx, "gardening")
	require.NoError(t, err)
	require.False(t, info.Following)
	require.Equal(t, 2, info.History[0].Uses, "two listed uses today")
	followed, err := cc.TagFollow(ctx, "Gardening")
	require.NoError(t, err)
	require.True(t, followed.Following)
	home, err := cc.GetTimelineHome(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, []mastodon.ID{second.ID, first.ID}, statusIDs(home))
	tags, err := cc.TagsFollowed(ctx, nil)
	require.NoError(t, err)
	require.Len(t, tags, 1)
	_, err = cc.TagUnfollow(ctx, "gardening")
	require.NoError(t, err)
	home, err = cc.GetTimelineHome(ctx, nil)
	require.NoError(t, err)
	require.Empty(t, home)
	_ = alice
}

func statusIDs(sts []*mastodon.Status) []mastodon.ID {
	out := make([]mastodon.ID, len(sts))
	for i, st := range sts {
		out[i] = st.ID
	}
	return out
}

// TestSearchRefusesBadInputClearly: empty, huge, malformed and odd queries, bad
// parameters and bad tag names get a 4xx naming the field, or an empty result; never a
// 500, never an unbounded query. Requests are shaped as a JSON-posting app sends them.
func TestSearchRefusesBadInputClearly(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	tok := s.personalToken(alice, "read write follow")
	_, _, err := s.core.Publish(t.Context(), alice, core.NewPost{Body: "something to find #here"})
	require.NoError(t, err)
	s.waitFor(`SELECT count(*) FROM post_search`, 1)

	type answer struct {
		Accounts, Statuses, Hashtags []json.RawMessage
	}
	search := func(q string, extra ...string) (int, string) {
		v := url.Values{"q": {q}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		code, body, _ := s.call(http.MethodGet, "/api/v2/search?"+v.Encode(), tok, nil)
		return code, body
	}
	empty := func(q string) {
		t.Helper()
		code, body := search(q)
		require.Equal(t, http.StatusOK, code, "%q: %s", q, body)
		var a answer
		require.NoError(t, json.Unmarshal([]byte(body), &a))
		require.Empty(t, a.Statuses, q)
	}
	refused := func(code int, body, field string) {
		t.Helper()
		require.Equal(t, http.StatusUnprocessableEntity, code, body)
		require.Contains(t, body, field, body)
	}

	empty("")
	empty("   ")
	for _, q := range []string{`'&|!():*<->`, `"unclosed phrase`, `a & | b`, `!!!`, `(((`, `-`, `or or or`,
		"\u200f\u202eevil\u202c", "🎉🎉", "e\u0301\u0301\u0301", "\u3000", `\`, `%_`, "a:b:c", "from:alice something-else"} {
		code, body := search(q)
		require.Equal(t, http.StatusOK, code, "%q: %s", q, body)
	}
	code, body := search(strings.Repeat("tomato ", 1500)) // 10,500 characters
	refused(code, body, `"q"`)
	code, body = search(strings.Repeat("x", core.MaxSearchLen)) // at the bound: answered
	require.Equal(t, http.StatusOK, code, body)
	code, body = search("something before:someday")
	refused(code, body, "before:")
	code, body = search("something", "type", "toots")
	refused(code, body, "type")
	code, body = search("something", "offset", "-1")
	refused(code, body, "offset")
	code, body = search("something", "offset", "20000")
	refused(code, body, "offset")
	code, body = search("something", "account_id", "x")
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	code, body = search("something", "limit", "zero")
	require.Equal(t, http.StatusBadRequest, code, body)
	code, body = search("something", "colour", "red")
	refused(code, body, "colour")
	code, body = search("something in:bookmarks")
	require.Equal(t, http.StatusOK, code, body, "in: with a token")
	code, body, _ = s.call(http.MethodGet, "/api/v2/search?q="+url.QueryEscape("something in:bookmarks"), "", nil)
	refused(code, body, "in:")

	// Invalid UTF-8 is refused before it reaches the database.
	code, body, _ = s.call(http.MethodGet, "/api/v2/search?q=%ff%fe", tok, nil)
	require.Equal(t, http.StatusBadRequest, code, body)

	// Tags.
	code, body, _ = s.call(http.MethodGet, "/api/v1/timelines/tag/"+url.PathEscape("not a tag"), tok, nil)
	refused(code, body, "hashtag")
	code, body, _ = s.call(http.MethodGet, "/api/v1/timelines/tag/here?any[]="+url.QueryEscape("no good"), tok, nil)
	refused(code, body, "any")
	code, body, _ = s.call(http.MethodGet, "/api/v1/tags/123", tok, nil)
	require.Equal(t, http.StatusNotFound, code, body)
	code, body, _ = s.call(http.MethodGet, "/api/v1/tags/neverused", tok, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"id":null`)
	code, body = rawJSON(s, http.MethodPost, "/api/v1/tags/"+url.PathEscape("two words")+"/follow", tok, "application/json", []byte(`{}`))
	refused(code, body, "name")
	code, body, _ = s.call(http.MethodGet, "/api/v1/streaming/hashtag?tag=", tok, nil)
	require.Equal(t, http.StatusUnprocessableEntity, code, body)
	code, body, _ = s.call(http.MethodGet, "/api/v1/trends/tags?limit=100", "", nil)
	refused(code, body, "limit")

	// Featured tags, posted as JSON.
	code, body = rawJSON(s, http.MethodPost, "/api/v1/featured_tags", tok, "application/json", []byte(`{"name":"#Here"}`))
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"name":"here"`, "the name as first written")
	code, body = rawJSON(s, http.MethodPost, "/api/v1/featured_tags", tok, "application/json", []byte(`{"name":""}`))
	refused(code, body, "name")
	code, body = rawJSON(s, http.MethodPost, "/api/v1/featured_tags", tok, "application/json", []byte(`{"name":"ok","extra":1}`))
	refused(code, body, "extra")
	code, body, _ = s.call(http.MethodGet, fmt.Sprintf("/api/v1/accounts/%d/featured_tags", alice.ID), "", nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"name":"here"`, "the name as first written")
	require.Contains(t, body, `"statuses_count":"1"`)
	code, body, _ = s.call(http.MethodDelete, "/api/v1/featured_tags/999999", tok, nil)
	require.Equal(t, http.StatusNotFound, code, body)
}

// rawJSON posts body as JSON and returns the status and the answer re-encoded.
func rawJSON(s *server, method, path, token, contentType string, body []byte) (int, string) {
	code, m := s.raw(method, path, token, contentType, body)
	b, _ := json.Marshal(m)
	return code, string(b)
}

// TestAccountStatusesTagged: ?tagged= keeps an account's posts with the tag, of every
// visibility the reader may see (a follower sees the private one; nobody else does).
func TestAccountStatusesTagged(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := t.Context()
	alice, fred := s.user("alice"), s.user("fred")
	_, err := s.core.Follow(ctx, fred.ID, "alice")
	require.NoError(t, err)
	pub, _, err := s.core.Publish(ctx, alice, core.NewPost{Body: "public #Cats"})
	require.NoError(t, err)
	priv, _, err := s.core.Publish(ctx, alice, core.NewPost{Body: "private #cats", Visibility: core.VisibilityPrivate})
	require.NoError(t, err)
	_, _, err = s.core.Publish(ctx, alice, core.NewPost{Body: "other #dogs"})
	require.NoError(t, err)
	s.waitFor(`SELECT count(*) FROM post_tags`, 3)
	ids := func(token string) []string {
		code, body, _ := s.call(http.MethodGet, fmt.Sprintf("/api/v1/accounts/%d/statuses?tagged=CATS", alice.ID), token, nil)
		require.Equal(t, http.StatusOK, code, body)
		var sts []struct{ ID string }
		require.NoError(t, json.Unmarshal([]byte(body), &sts))
		var out []string
		for _, st := range sts {
			out = append(out, st.ID)
		}
		return out
	}
	require.Equal(t, []string{fmt.Sprint(pub.ID)}, ids(""))
	require.Equal(t, []string{fmt.Sprint(priv.ID), fmt.Sprint(pub.ID)}, ids(s.personalToken(fred, "read")))
}
