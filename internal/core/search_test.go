package core_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/store"
)

// publish writes a post and returns it.
func publish(t *testing.T, s *core.Service, author core.User, p core.NewPost) core.Post {
	t.Helper()
	post, _, err := s.Publish(context.Background(), author, p)
	require.NoError(t, err)
	return post
}

// drainSearch applies every event written so far to the search index. An event becomes
// readable only once no older transaction is in flight anywhere on the server (the log is
// read gap-free), so an empty batch means "not yet" until the position reaches the last.
func drainSearch(t *testing.T, s *core.Service, db store.DBTX) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.EnsureConsumers(ctx))
	last := count(t, db, `SELECT coalesce(max(id), 0) FROM events`)
	deadline := time.Now().Add(30 * time.Second)
	for count(t, db, `SELECT event_id FROM consumers WHERE name = 'search'`) < last {
		require.True(t, time.Now().Before(deadline), "the search consumer did not catch up")
		b, err := s.ConsumeBatch(ctx, "search", 0)
		require.NoError(t, err)
		if b.Events == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func searchIDs(t *testing.T, s *core.Service, viewer int64, q string) []int64 {
	t.Helper()
	parsed, err := core.ParseSearch("q", q)
	require.NoError(t, err)
	posts, err := s.SearchPosts(context.Background(), viewer, core.PostSearch{Query: parsed, Limit: 40})
	require.NoError(t, err)
	out := make([]int64, len(posts))
	for i, p := range posts {
		out[i] = p.ID
	}
	return out
}

func TestSearchFindsInflectionsInEachLanguage(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	s := newService(pool)
	alice := mustUser(t, s, "alice")
	en := publish(t, s, alice, core.NewPost{Body: "The runners were running through the gardens", Language: "en"})
	de := publish(t, s, alice, core.NewPost{Body: "Die Häuser am Fluss sind alt", Language: "de"})
	unknown := publish(t, s, alice, core.NewPost{Body: "Zzyzx road trip"})
	drainSearch(t, s, pool)

	require.Equal(t, []int64{en.ID}, searchIDs(t, s, 0, "run"), "English stem of running")
	require.Equal(t, []int64{en.ID}, searchIDs(t, s, 0, "garden"))
	require.Equal(t, []int64{de.ID}, searchIDs(t, s, 0, "Haus"), "German stem of Häuser")
	require.Equal(t, []int64{de.ID}, searchIDs(t, s, 0, "flüsse"))
	require.Equal(t, []int64{unknown.ID}, searchIDs(t, s, 0, "zzyzx"), "no language: simple")
	require.Empty(t, searchIDs(t, s, 0, "gardens -run"), "websearch negation")
	require.Equal(t, []int64{en.ID}, searchIDs(t, s, 0, `"runners were running"`), "phrase")
	require.Empty(t, searchIDs(t, s, 0, `"running runners"`), "phrase in order")
}

func TestSearchRanksRelevanceWithRecency(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	alice := mustUser(t, s, "alice")
	old := publish(t, s, alice, core.NewPost{Body: "postgres postgres postgres tuning, all about postgres", Language: "en"})
	once := publish(t, s, alice, core.NewPost{Body: "I had lunch, then some postgres", Language: "en"})
	dense := publish(t, s, alice, core.NewPost{Body: "postgres postgres postgres tuning, all about postgres", Language: "en"})
	drainSearch(t, s, pool)
	// old is a month older than dense, with the same text: recency ranks dense first.
	_, err := pool.Exec(ctx, `UPDATE post_search SET created_at = now() - interval '30 days' WHERE post_id = $1`, old.ID)
	require.NoError(t, err)
	got := searchIDs(t, s, 0, "postgres")
	require.Equal(t, []int64{dense.ID, old.ID, once.ID}, got, "a month halves the rank: four matches beat one")
	_, err = pool.Exec(ctx, `UPDATE post_search SET created_at = now() - interval '365 days' WHERE post_id = $1`, old.ID)
	require.NoError(t, err)
	require.Equal(t, []int64{dense.ID, once.ID, old.ID}, searchIDs(t, s, 0, "postgres"), "a year-old post ranks below a weaker match today")
}

func TestSearchOperators(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	a1 := publish(t, s, alice, core.NewPost{Body: "coffee at https://example.com/menu"})
	a2 := publish(t, s, alice, core.NewPost{Body: "more coffee", InReplyTo: a1.ID})
	b1 := publish(t, s, bob, core.NewPost{Body: "coffee is bitter", SpoilerText: "drinks", Sensitive: true, Language: "en"})
	b2 := publish(t, s, bob, core.NewPost{Body: "tea, not coffee", Language: "fr"})
	pic, err := s.Upload(ctx, bob, testPNG(t, 20, 10), core.MediaInput{}, true)
	require.NoError(t, err)
	b3 := publish(t, s, bob, core.NewPost{Body: "coffee, pictured", MediaIDs: []int64{pic.ID}})
	drainSearch(t, s, pool)
	_, err = pool.Exec(ctx, `UPDATE post_search SET created_at = '2026-01-15 12:00Z' WHERE post_id = $1`, b2.ID)
	require.NoError(t, err)

	require.ElementsMatch(t, []int64{a1.ID, a2.ID}, searchIDs(t, s, 0, "coffee from:alice"))
	require.ElementsMatch(t, []int64{a1.ID, a2.ID}, searchIDs(t, s, 0, "coffee from:@alice@whatever"))
	require.ElementsMatch(t, []int64{b1.ID, b2.ID, b3.ID}, searchIDs(t, s, bob.ID, "from:me"), "operators alone")
	require.Equal(t, []int64{a1.ID}, searchIDs(t, s, 0, "coffee has:link"))
	require.Equal(t, []int64{a2.ID}, searchIDs(t, s, 0, "coffee is:reply"))
	require.Equal(t, []int64{b1.ID}, searchIDs(t, s, 0, "coffee is:sensitive"))
	require.Equal(t, []int64{b1.ID}, searchIDs(t, s, 0, "drinks"), "the content warning is searched")
	require.Equal(t, []int64{b2.ID}, searchIDs(t, s, 0, "coffee language:fr"))
	require.Equal(t, []int64{b2.ID}, searchIDs(t, s, 0, "coffee during:2026-01-15"))
	require.Equal(t, []int64{b2.ID}, searchIDs(t, s, 0, "coffee before:2026-01-16"))
	require.Empty(t, searchIDs(t, s, 0, "coffee before:2026-01-15"))
	require.ElementsMatch(t, []int64{a1.ID, a2.ID, b1.ID, b3.ID}, searchIDs(t, s, 0, "coffee after:2026-01-15"))
	require.Equal(t, []int64{b3.ID}, searchIDs(t, s, 0, "coffee has:media"))
	require.Equal(t, []int64{b3.ID}, searchIDs(t, s, 0, "has:image"), "an operator alone")
	require.Empty(t, searchIDs(t, s, 0, "coffee has:video"), "no video exists")
	require.Empty(t, searchIDs(t, s, 0, "coffee from:nobody"))
	require.Empty(t, searchIDs(t, s, 0, "coffee -coffee"))

	_, err = s.Bookmark(ctx, alice, b1.ID)
	require.NoError(t, err)
	_, err = s.Favourite(ctx, alice, b2.ID)
	require.NoError(t, err)
	require.Equal(t, []int64{b1.ID}, searchIDs(t, s, alice.ID, "coffee in:bookmarks"))
	require.Equal(t, []int64{b2.ID}, searchIDs(t, s, alice.ID, "coffee in:favourites"))
	require.ElementsMatch(t, []int64{a1.ID, a2.ID, b1.ID, b2.ID}, searchIDs(t, s, alice.ID, "coffee in:library"))
	require.ElementsMatch(t, []int64{a1.ID, a2.ID, b1.ID, b2.ID, b3.ID}, searchIDs(t, s, alice.ID, "coffee in:all"))
	require.ElementsMatch(t, []int64{b1.ID, b2.ID, b3.ID}, searchIDs(t, s, bob.ID, "coffee in:library"))

	for q, field := range map[string]string{
		"coffee before:yesterday": "before:", "has:smell": "has:", "is:happy": "is:", "in:space": "in:",
		"language:klingon": "language:", "from:": "from:", "-from:alice": "from:", "from:a.b": "from:",
		strings.Repeat("x", core.MaxSearchLen+1): "longer",
	} {
		_, err := core.ParseSearch("q", q)
		require.Contains(t, fieldErr(t, err, "q"), field, q)
	}
	parsed, err := core.ParseSearch("q", "coffee in:bookmarks")
	require.NoError(t, err)
	_, err = s.SearchPosts(ctx, 0, core.PostSearch{Query: parsed})
	fieldErr(t, err, "q")
	// A word with a colon that is no operator stays a word.
	parsed, err = core.ParseSearch("q", "ratio:3 time:now")
	require.NoError(t, err)
	require.Equal(t, "ratio:3 time:now", parsed.Words)
}

func TestSearchFindsOnlyWhatTheSearcherMaySee(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	alice, follower, mentioned, other := mustUser(t, s, "alice"), mustUser(t, s, "fol"), mustUser(t, s, "men"), mustUser(t, s, "oth")
	_, err := s.Follow(ctx, follower.ID, "alice")
	require.NoError(t, err)
	pub := publish(t, s, alice, core.NewPost{Body: "secret plans public"})
	unl := publish(t, s, alice, core.NewPost{Body: "secret plans unlisted", Visibility: core.VisibilityUnlisted})
	priv := publish(t, s, alice, core.NewPost{Body: "secret plans private", Visibility: core.VisibilityPrivate})
	dm := publish(t, s, alice, core.NewPost{Body: "secret plans @men", Visibility: core.VisibilityDirect})
	drainSearch(t, s, pool)

	require.ElementsMatch(t, []int64{pub.ID}, searchIDs(t, s, 0, "secret"), "anonymous")
	require.ElementsMatch(t, []int64{pub.ID}, searchIDs(t, s, other.ID, "secret"), "unlisted stays out of others' search")
	require.ElementsMatch(t, []int64{pub.ID, priv.ID}, searchIDs(t, s, follower.ID, "secret"))
	require.ElementsMatch(t, []int64{pub.ID, dm.ID}, searchIDs(t, s, mentioned.ID, "secret"))
	require.ElementsMatch(t, []int64{pub.ID, unl.ID, priv.ID, dm.ID}, searchIDs(t, s, alice.ID, "secret"), "the author finds all")

	// A deleted post leaves the index; an edited one is found by its new words only.
	require.NoError(t, s.DeletePost(ctx, alice, pub.ID))
	_, err = s.EditPost(ctx, alice, priv.ID, core.PostEdit{Body: "renamed scheme"})
	require.NoError(t, err)
	drainSearch(t, s, pool)
	require.Empty(t, searchIDs(t, s, follower.ID, "secret"))
	require.Equal(t, []int64{priv.ID}, searchIDs(t, s, follower.ID, "scheme"))
	require.Equal(t, 0, count(t, pool, `SELECT count(*) FROM post_search WHERE post_id = $1`, pub.ID))
}

func TestSearchAccountsByPrefixAndTypo(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	margaret := mustUser(t, s, "margaret")
	marge := mustUser(t, s, "marge")
	mustUser(t, s, "bob")
	_, err := pool.Exec(ctx, `UPDATE users SET display_name = 'Ada Lovelace' WHERE id = $1`, marge.ID)
	require.NoError(t, err)

	names := func(q string, following bool, viewer int64) []string {
		us, err := s.SearchAccounts(ctx, viewer, core.AccountSearch{Query: q, Following: following})
		require.NoError(t, err)
		var out []string
		for _, u := range us {
			out = append(out, u.Username)
		}
		return out
	}
	require.Equal(t, []string{"marge", "margaret"}, names("mar", false, 0), "prefix, as typed, the closest first")
	require.Equal(t, []string{"margaret", "marge"}, names("marga", false, 0), "the prefix first, then the close")
	require.Equal(t, []string{"marge", "margaret"}, names("@marge", false, 0), "exact first")
	require.Equal(t, []string{"margaret", "marge"}, names("margret", false, 0), "a typo: the closest first")
	require.Equal(t, []string{"marge"}, names("love", false, 0), "a word of the display name")
	require.Equal(t, []string{"marge"}, names("Lovelase", false, 0), "a typo in the display name")
	require.Empty(t, names("zzz", false, 0))
	require.Empty(t, names("", false, 0))
	require.Empty(t, names("%", false, 0), "LIKE wildcards are plain characters")
	_, err = s.Follow(ctx, margaret.ID, "marge")
	require.NoError(t, err)
	require.Equal(t, []string{"marge"}, names("mar", true, margaret.ID), "following only")
}

func TestTagsIndexTimelineAndFollows(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	alice, bob := mustUser(t, s, "alice"), mustUser(t, s, "bob")
	go1 := publish(t, s, alice, core.NewPost{Body: "Learning #GoLang today #fun"})
	go2 := publish(t, s, bob, core.NewPost{Body: "#golang generics"})
	unl := publish(t, s, bob, core.NewPost{Body: "#golang unlisted", Visibility: core.VisibilityUnlisted})
	priv := publish(t, s, bob, core.NewPost{Body: "#golang private", Visibility: core.VisibilityPrivate})
	fun := publish(t, s, bob, core.NewPost{Body: "just #fun"})
	drainSearch(t, s, pool)

	timeline := func(f core.TagFilter) []int64 {
		tl, err := s.TagTimeline(ctx, 0, f, core.Page{})
		require.NoError(t, err)
		return ids(tl)
	}
	require.Equal(t, []int64{go2.ID, go1.ID}, timeline(core.TagFilter{Tag: "golang"}), "listed posts only, case folded")
	require.Equal(t, []int64{go2.ID, go1.ID}, timeline(core.TagFilter{Tag: "#GOLANG"}))
	require.Equal(t, []int64{fun.ID, go2.ID, go1.ID}, timeline(core.TagFilter{Tag: "golang", Any: []string{"fun"}}))
	require.Equal(t, []int64{go1.ID}, timeline(core.TagFilter{Tag: "golang", All: []string{"fun"}}))
	require.Equal(t, []int64{go2.ID}, timeline(core.TagFilter{Tag: "golang", None: []string{"fun"}}))
	require.Empty(t, timeline(core.TagFilter{Tag: "golang", All: []string{"neverused"}}))
	require.Empty(t, timeline(core.TagFilter{Tag: "neverused"}))
	_, err := s.TagTimeline(ctx, 0, core.TagFilter{Tag: "not a tag"}, core.Page{})
	fieldErr(t, err, "hashtag")

	tag, err := s.TagNamed(ctx, 0, "GOLANG")
	require.NoError(t, err)
	require.Equal(t, "GoLang", tag.Name, "as first written")
	require.Equal(t, int64(2), tag.History[0].Uses)
	require.Equal(t, int64(2), tag.History[0].Accounts)

	// Following a tag brings its listed posts, and only those, to the home timeline.
	carol := mustUser(t, s, "carol")
	home := func() []int64 {
		tl, err := s.HomeTimeline(ctx, carol.ID, core.Page{})
		require.NoError(t, err)
		return ids(tl)
	}
	require.Empty(t, home())
	followed, err := s.FollowTag(ctx, carol, "#golang")
	require.NoError(t, err)
	require.True(t, followed.Following)
	require.Equal(t, []int64{go2.ID, go1.ID}, home())
	page, err := s.FollowedTags(ctx, carol.ID, core.Page{})
	require.NoError(t, err)
	require.Len(t, page.Tags, 1)
	_, err = s.UnfollowTag(ctx, carol, "golang")
	require.NoError(t, err)
	require.Empty(t, home())

	// Edits retag; deletions untag.
	_, err = s.EditPost(ctx, bob, go2.ID, core.PostEdit{Body: "generics, no tag"})
	require.NoError(t, err)
	require.NoError(t, s.DeletePost(ctx, alice, go1.ID))
	drainSearch(t, s, pool)
	require.Empty(t, timeline(core.TagFilter{Tag: "golang"}))
	_ = unl
	_ = priv

	// Trends count listed uses by distinct accounts.
	trends, err := s.TrendingTags(ctx, 0, 10, 0)
	require.NoError(t, err)
	require.NotEmpty(t, trends)
	var keys []string
	for _, tg := range trends {
		keys = append(keys, tg.Key)
	}
	require.Equal(t, []string{"fun", "golang"}, keys, "fun: 2 accounts today; golang: 2 accounts, same score, by name")

	// Tag search by prefix and typo.
	found, err := s.SearchTags(ctx, 0, "#gol", 10, 0)
	require.NoError(t, err)
	require.Len(t, found, 1)
	require.Equal(t, "golang", found[0].Key)
	found, err = s.SearchTags(ctx, 0, "golamg", 10, 0)
	require.NoError(t, err)
	require.Len(t, found, 1)
}

func TestSearchBackfillIndexesOlderPosts(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	s := newService(pool)
	alice := mustUser(t, s, "alice")
	var want []int64
	for i := range 25 {
		p := publish(t, s, alice, core.NewPost{Body: "old post about #history number " + string(rune('a'+i))})
		want = append([]int64{p.ID}, want...)
	}
	deleted := publish(t, s, alice, core.NewPost{Body: "old post about #history, deleted"})
	require.NoError(t, s.DeletePost(ctx, alice, deleted.ID))
	// As an upgraded instance: the events were pruned, the migration left where to start.
	_, err := pool.Exec(ctx, `DELETE FROM events`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO search_backfill (next_post_id) SELECT max(id) FROM posts`)
	require.NoError(t, err)
	require.NoError(t, s.EnsureConsumers(ctx))
	steps := 0
	for {
		done, busy, err := s.BackfillSearch(ctx, 10)
		require.NoError(t, err)
		require.False(t, busy)
		steps++
		if done {
			break
		}
		require.Less(t, steps, 10)
	}
	require.Equal(t, 3, steps, "26 posts in chunks of 10")
	require.Equal(t, 25, count(t, pool, `SELECT count(*) FROM post_search`))
	tl, err := s.TagTimeline(ctx, 0, core.TagFilter{Tag: "history"}, core.Page{Limit: 40})
	require.NoError(t, err)
	require.Equal(t, want, ids(tl))
	require.Equal(t, 0, count(t, pool, `SELECT count(*) FROM search_backfill`))
	require.Equal(t, 0, count(t, pool, `SELECT count(*) FROM tag_uses`), "the backfill counts no uses: those come from events")
}

// TestSearchWindowsRankTheNewestMatches: searching the newest buckets of ids first gives
// what a search of the whole index gives (the newest candidates, ranked), whether the
// first window holds enough matches or the search must widen to everything. The posts are
// spread over buckets by moving the id sequence on.
func TestSearchWindowsRankTheNewestMatches(t *testing.T) {
	t.Parallel()
	pool, _ := pgtest.NewDB(t)
	ctx := context.Background()
	whole := newService(pool)
	windowed := core.New(pool, core.Options{Password: fastHash, SignupsOpen: true, Jobs: insertOnly(),
		SearchWindow: 1, SearchCandidates: 6})
	narrowWhole := core.New(pool, core.Options{Password: fastHash, SignupsOpen: true, Jobs: insertOnly(),
		SearchWindow: 1 << 40, SearchCandidates: 6})
	alice := mustUser(t, whole, "alice")
	var common, rare []int64
	for i := range 40 {
		if i%4 == 0 { // four posts per bucket of 10,000 ids
			_, err := pool.Exec(ctx, `SELECT setval(pg_get_serial_sequence('posts', 'id'), $1)`, (i/4+1)*10_000)
			require.NoError(t, err)
		}
		body := "filler words only"
		switch {
		case i%2 == 0:
			body = "common word here"
		case i%13 == 0:
			body = "a rare word"
		}
		p := publish(t, whole, alice, core.NewPost{Body: body})
		if i%2 == 0 {
			common = append(common, p.ID)
		} else if i%13 == 0 {
			rare = append(rare, p.ID)
		}
	}
	drainSearch(t, whole, pool)
	// common: 20 matches, two in each bucket: the first window (1 bucket) holds 2, the
	// next (8 buckets) 16 ≥ 6 candidates: the newest 6 are ranked, as a whole search with 6
	// candidates ranks them.
	require.Equal(t, searchIDs(t, narrowWhole, 0, "common"), searchIDs(t, windowed, 0, "common"))
	require.ElementsMatch(t, common[len(common)-6:], searchIDs(t, windowed, 0, "common"), "the 6 newest matches")
	// rare: 3 matches, never 6 in a window: the search widens to everything.
	require.ElementsMatch(t, rare, searchIDs(t, windowed, 0, "rare"))
	require.ElementsMatch(t, rare, searchIDs(t, whole, 0, "rare"))
}
