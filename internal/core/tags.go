package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// Tag is a hashtag as a reader sees it.
type Tag struct {
	// ID is the tag's row, 0 for a valid name nobody has used or followed yet.
	ID int64
	// Name is the tag as first written; Key the folded name that matching uses
	// (text.FoldTag), which its URLs carry.
	Name, Key string
	// History is the last week's use, today first.
	History []TagDay
	// Following and Featuring are whether the reader follows and features it; false for
	// nobody logged in.
	Following, Featuring bool
}

// TagDay is a tag's use on one day (UTC): how many listed posts had it and how many
// accounts wrote them.
type TagDay struct {
	Day            time.Time
	Uses, Accounts int64
}

// TagHistoryDays is how many days a tag's history covers.
const TagHistoryDays = 7

// MaxFeaturedTags is how many tags one account may feature on its profile.
const MaxFeaturedTags = 10

// tagKey checks a tag name given in a request (with or without '#') and returns its key
// and the name as given; a name that is not a hashtag is a *ValidationError for field.
// A key (what the website's and the API's tag URLs carry) is accepted too, although
// folding can make a valid name's key longer than a name may be.
func tagKey(field, name string) (key, display string, err error) {
	name = strings.TrimPrefix(strings.TrimSpace(name), "#")
	if !text.ValidTag(name) && !isTagKey(name) {
		return "", "", invalid(field, "is not a hashtag: letters, digits and _, with at least one letter")
	}
	return text.FoldTag(name), name, nil
}

// isTagKey reports whether s is the folded key of some hashtag: it folds to itself, and
// has a letter and no white space (a name never has, though a key may after NFKC: that
// tag is then reachable by its name only).
func isTagKey(s string) bool {
	return strings.ContainsFunc(s, unicode.IsLetter) && len(s) <= 4*4*text.MaxTagLen && text.FoldTag(s) == s &&
		!strings.ContainsFunc(s, unicode.IsSpace) && !strings.ContainsAny(s, "#/@&")
}

// TagNamed returns the tag name (with or without '#') as viewerID sees it, with its
// history; a valid name nobody has used yet is a tag without history. A name that is not
// a hashtag is ErrNotFound.
func (s *Service) TagNamed(ctx context.Context, viewerID int64, name string) (Tag, error) {
	key, display, err := tagKey("name", name)
	if err != nil {
		return Tag{}, ErrNotFound
	}
	rows, err := s.q.TagsByNames(ctx, []string{key})
	if err != nil {
		return Tag{}, fmt.Errorf("tag %s: %w", key, err)
	}
	if len(rows) == 0 {
		return Tag{Name: display, Key: key, History: emptyHistory(s.today())}, nil
	}
	tags, err := s.completeTags(ctx, viewerID, tagsFrom(rows))
	if err != nil {
		return Tag{}, err
	}
	return tags[0], nil
}

func tagsFrom(rows []store.Tag) []Tag {
	out := make([]Tag, len(rows))
	for i, r := range rows {
		out[i] = Tag{ID: r.ID, Name: r.Display, Key: r.Name}
	}
	return out
}

// today is the current UTC day.
func (s *Service) today() time.Time { return dayOf(time.Now()) }

func emptyHistory(today time.Time) []TagDay {
	h := make([]TagDay, TagHistoryDays)
	for i := range h {
		h[i].Day = today.AddDate(0, 0, -i)
	}
	return h
}

// completeTags fills in the history of tags and whether viewerID follows and features
// each: three queries for all of them.
func (s *Service) completeTags(ctx context.Context, viewerID int64, tags []Tag) ([]Tag, error) {
	ids := make([]int64, 0, len(tags))
	for _, t := range tags {
		if t.ID != 0 {
			ids = append(ids, t.ID)
		}
	}
	today := s.today()
	for i := range tags {
		tags[i].History = emptyHistory(today)
	}
	if len(ids) == 0 {
		return tags, nil
	}
	days, err := s.q.TagHistory(ctx, store.TagHistoryParams{TagIds: ids, Since: today.AddDate(0, 0, 1-TagHistoryDays)})
	if err != nil {
		return nil, fmt.Errorf("tag history: %w", err)
	}
	at := map[int64]int{}
	for i, t := range tags {
		at[t.ID] = i
	}
	for _, d := range days {
		back := int(today.Sub(dayOf(d.Day)).Hours() / 24)
		if i, ok := at[d.TagID]; ok && back >= 0 && back < TagHistoryDays {
			tags[i].History[back].Uses, tags[i].History[back].Accounts = d.Uses, d.Accounts
		}
	}
	if viewerID == 0 {
		return tags, nil
	}
	following, err := s.q.TagsFollowedAmong(ctx, store.TagsFollowedAmongParams{UserID: viewerID, TagIds: ids})
	if err != nil {
		return nil, fmt.Errorf("tags followed: %w", err)
	}
	featuring, err := s.q.TagsFeaturedAmong(ctx, store.TagsFeaturedAmongParams{UserID: viewerID, TagIds: ids})
	if err != nil {
		return nil, fmt.Errorf("tags featured: %w", err)
	}
	for i, t := range tags {
		tags[i].Following = slices.Contains(following, t.ID)
		tags[i].Featuring = slices.Contains(featuring, t.ID)
	}
	return tags, nil
}

// ensureTag returns the row of the tag name, creating it when nobody has used it yet.
func (s *Service) ensureTag(ctx context.Context, q *store.Queries, field, name string) (store.Tag, error) {
	key, display, err := tagKey(field, name)
	if err != nil {
		return store.Tag{}, err
	}
	if !text.ValidTag(display) { // a key: only a tag that exists
		rows, err := q.TagsByNames(ctx, []string{key})
		if err != nil {
			return store.Tag{}, err
		}
		if len(rows) == 0 {
			return store.Tag{}, ErrNotFound
		}
		return rows[0], nil
	}
	if err := q.TagsInsert(ctx, store.TagsInsertParams{Keys: []string{key}, Displays: []string{display}}); err != nil {
		return store.Tag{}, err
	}
	rows, err := q.TagsByNames(ctx, []string{key})
	if err != nil {
		return store.Tag{}, err
	}
	if len(rows) == 0 {
		return store.Tag{}, fmt.Errorf("tag %s vanished", key)
	}
	return rows[0], nil
}

// FollowTag makes user follow the tag name: its listed posts join their home timeline.
// Following a tag nobody has used yet creates it. It returns the tag as user now sees it.
func (s *Service) FollowTag(ctx context.Context, user User, name string) (Tag, error) {
	return s.tagAction(ctx, user, name, func(q *store.Queries, t store.Tag) error {
		return q.TagFollow(ctx, store.TagFollowParams{UserID: user.ID, TagID: t.ID})
	})
}

// UnfollowTag undoes FollowTag; unfollowing a tag one does not follow changes nothing.
func (s *Service) UnfollowTag(ctx context.Context, user User, name string) (Tag, error) {
	return s.tagAction(ctx, user, name, func(q *store.Queries, t store.Tag) error {
		return q.TagUnfollow(ctx, store.TagUnfollowParams{UserID: user.ID, TagID: t.ID})
	})
}

// FeatureTag puts the tag name on user's profile (at most MaxFeaturedTags).
func (s *Service) FeatureTag(ctx context.Context, user User, name string) (FeaturedTag, error) {
	var id, eventID int64
	_, err := s.tagAction(ctx, user, name, func(q *store.Queries, t store.Tag) error {
		n, err := q.FeaturedTagsCount(ctx, user.ID)
		if err != nil {
			return err
		}
		featured, err := q.TagsFeaturedAmong(ctx, store.TagsFeaturedAmongParams{UserID: user.ID, TagIds: []int64{t.ID}})
		if err != nil {
			return err
		}
		if len(featured) == 0 && n >= MaxFeaturedTags {
			return invalid("name", fmt.Sprintf("you feature %d tags already, the most there may be", MaxFeaturedTags))
		}
		if id, err = q.FeaturedTagAdd(ctx, store.FeaturedTagAddParams{UserID: user.ID, TagID: t.ID}); err != nil {
			return err
		}
		eventID, err = events.Append(ctx, q, events.AccountUpdated{UserID: user.ID}) // shown on the profile
		return err
	})
	s.woke(events.TopicAccountUpdated, eventID)
	if err != nil {
		return FeaturedTag{}, err
	}
	all, err := s.FeaturedTags(ctx, user.ID)
	if err != nil {
		return FeaturedTag{}, err
	}
	for _, f := range all {
		if f.ID == id {
			return f, nil
		}
	}
	return FeaturedTag{}, ErrNotFound
}

// UnfeatureTag takes the featured tag id off user's profile; ErrNotFound when user has
// no such featured tag.
func (s *Service) UnfeatureTag(ctx context.Context, user User, id int64) error {
	err := s.changeAccount(ctx, user.ID, func(q *store.Queries) error {
		n, err := q.FeaturedTagDelete(ctx, store.FeaturedTagDeleteParams{ID: id, UserID: user.ID})
		if err == nil && n == 0 {
			return ErrNotFound
		}
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("unfeature tag: %w", err)
	}
	return nil
}

// tagAction runs f on the tag name's row (created when new) in a transaction and returns
// the tag as user then sees it.
func (s *Service) tagAction(ctx context.Context, user User, name string, f func(q *store.Queries, t store.Tag) error) (Tag, error) {
	var row store.Tag
	err := store.WithTx(ctx, s.db, func(_ pgx.Tx, q *store.Queries) error {
		var err error
		if row, err = s.ensureTag(ctx, q, "name", name); err != nil {
			return err
		}
		return f(q, row)
	})
	if err != nil {
		var verr *ValidationError
		if errors.As(err, &verr) {
			return Tag{}, err
		}
		return Tag{}, fmt.Errorf("tag %s: %w", name, err)
	}
	tags, err := s.completeTags(ctx, user.ID, tagsFrom([]store.Tag{row}))
	if err != nil {
		return Tag{}, err
	}
	return tags[0], nil
}

// TagPage is one page of followed tags; Keys are the follows' ids (the page's keys, one
// per tag), Next is the Before of the following page, 0 for none.
type TagPage struct {
	Tags []Tag
	Keys []int64
	Next int64
}

// FollowedTags returns the tags userID follows, the latest followed first.
func (s *Service) FollowedTags(ctx context.Context, userID int64, page Page) (TagPage, error) {
	type row struct {
		followID int64
		tag      Tag
	}
	conv := func(id int64, t store.Tag) row { return row{id, tagsFrom([]store.Tag{t})[0]} }
	rows, next, err := keysetPage(page, func(r row) int64 { return r.followID },
		func(before, after int64, limit int32) ([]row, error) {
			rows, err := s.q.FollowedTags(ctx, store.FollowedTagsParams{UserID: userID, Before: before, After: after, RowLimit: limit})
			return mapRows(rows, err, func(r store.FollowedTagsRow) row { return conv(r.FollowID, r.Tag) })
		},
		func(after, before int64, limit int32) ([]row, error) {
			rows, err := s.q.FollowedTagsAfter(ctx, store.FollowedTagsAfterParams{UserID: userID, After: after, Before: before, RowLimit: limit})
			return mapRows(rows, err, func(r store.FollowedTagsAfterRow) row { return conv(r.FollowID, r.Tag) })
		})
	if err != nil {
		return TagPage{}, fmt.Errorf("followed tags: %w", err)
	}
	tags := make([]Tag, len(rows))
	keys := make([]int64, len(rows))
	for i, r := range rows {
		tags[i], keys[i] = r.tag, r.followID
	}
	if tags, err = s.completeTags(ctx, userID, tags); err != nil {
		return TagPage{}, err
	}
	return TagPage{Tags: tags, Keys: keys, Next: next}, nil
}

// FeaturedTag is a tag on an account's profile, with how many of the account's listed
// posts have it and when the newest was written (zero for none).
type FeaturedTag struct {
	ID         int64
	Tag        Tag
	Posts      int64
	LastPostAt time.Time
}

// FeaturedTags returns the tags userID features, in the order they were added.
func (s *Service) FeaturedTags(ctx context.Context, userID int64) ([]FeaturedTag, error) {
	rows, err := s.q.FeaturedTagsOf(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("featured tags: %w", err)
	}
	out := make([]FeaturedTag, len(rows))
	for i, r := range rows {
		out[i] = FeaturedTag{ID: r.ID, Tag: tagsFrom([]store.Tag{r.Tag})[0], Posts: r.Posts}
		if r.LastPostAt.Unix() > 0 {
			out[i].LastPostAt = r.LastPostAt
		}
	}
	return out, nil
}

// FeaturedTagSuggestions returns the tags userID used most in listed posts.
func (s *Service) FeaturedTagSuggestions(ctx context.Context, userID int64) ([]Tag, error) {
	rows, err := s.q.TagsUsedBy(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("tag suggestions: %w", err)
	}
	tags := make([]Tag, len(rows))
	for i, r := range rows {
		tags[i] = tagsFrom([]store.Tag{r.Tag})[0]
	}
	return s.completeTags(ctx, userID, tags)
}

// TrendingTags returns the tags most used lately by distinct accounts in listed posts
// (the search consumer counts the uses): over the last week, each day's accounts
// counting half as much as the next day's.
func (s *Service) TrendingTags(ctx context.Context, viewerID int64, limit, offset int) ([]Tag, error) {
	rows, err := s.q.TagsTrending(ctx, store.TagsTrendingParams{Today: s.today(), RowLimit: int32(limit), RowOffset: int32(offset)})
	if err != nil {
		return nil, fmt.Errorf("trending tags: %w", err)
	}
	tags := make([]Tag, len(rows))
	for i, r := range rows {
		tags[i] = Tag{ID: r.ID, Name: r.Display, Key: r.Name}
	}
	return s.completeTags(ctx, viewerID, tags)
}

// SearchTags returns the tags whose name starts with q (with or without '#') or is close
// to it, the exact one first.
func (s *Service) SearchTags(ctx context.Context, viewerID int64, q string, limit, offset int) ([]Tag, error) {
	q = strings.TrimPrefix(strings.TrimSpace(q), "#")
	if !text.ValidTag(q) {
		return nil, nil
	}
	key := text.FoldTag(q)
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	if offset > MaxSearchOffset {
		return nil, invalid("offset", fmt.Sprintf("is at most %d", MaxSearchOffset))
	}
	var rows []store.Tag
	err := s.searchTx(ctx, func(qq *store.Queries, _ int64) error {
		var err error
		rows, err = qq.TagsSearch(ctx, store.TagsSearchParams{Prefix: likeEscape(key) + "%", Q: key,
			RowLimit: int32(limit), RowOffset: int32(offset)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.completeTags(ctx, viewerID, tagsFrom(rows))
}

// TagFilter is a tag timeline's question: listed posts with Tag or any of Any, all of
// All, and none of None (tag names, with or without '#').
type TagFilter struct {
	Tag            string
	Any, All, None []string
	// OnlyMedia keeps only posts with attachments.
	OnlyMedia bool
}

// TagTimeline returns the listed (public, not boosts) live posts of a tag timeline,
// newest first. A name that is not a hashtag is a *ValidationError naming its field
// ("hashtag", "any", "all", "none").
func (s *Service) TagTimeline(ctx context.Context, viewerID int64, f TagFilter, page Page) (Timeline, error) {
	keys := func(field string, names []string) ([]string, error) {
		var out []string
		for _, n := range names {
			k, _, err := tagKey(field, n)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
		return out, nil
	}
	anyKeys, err := keys("hashtag", []string{f.Tag})
	if err != nil {
		return Timeline{}, err
	}
	more, err := keys("any", f.Any)
	if err != nil {
		return Timeline{}, err
	}
	allKeys, err := keys("all", f.All)
	if err != nil {
		return Timeline{}, err
	}
	noneKeys, err := keys("none", f.None)
	if err != nil {
		return Timeline{}, err
	}
	anyKeys = append(anyKeys, more...)
	rows, err := s.q.TagsByNames(ctx, slices.Concat(anyKeys, allKeys, noneKeys))
	if err != nil {
		return Timeline{}, fmt.Errorf("tag timeline: %w", err)
	}
	idOf := map[string]int64{}
	for _, r := range rows {
		idOf[r.Name] = r.ID
	}
	ids := func(keys []string) (out []int64, missing bool) {
		for _, k := range keys {
			if id, ok := idOf[k]; ok {
				out = append(out, id)
			} else {
				missing = true
			}
		}
		return out, missing
	}
	anyIDs, _ := ids(anyKeys)
	allIDs, missing := ids(allKeys)
	noneIDs, _ := ids(noneKeys)
	if len(anyIDs) == 0 || missing { // no post has a tag nobody used
		return Timeline{}, nil
	}
	slices.Sort(anyIDs)
	anyIDs = slices.Compact(anyIDs)
	slices.Sort(allIDs)
	allIDs = slices.Compact(allIDs)
	if noneIDs == nil {
		noneIDs = []int64{}
	}
	if allIDs == nil {
		allIDs = []int64{}
	}
	split := func(r store.PostListTagRow) (store.Post, store.User) { return r.Post, r.User }
	splitAfter := func(r store.PostListTagAfterRow) (store.Post, store.User) { return r.Post, r.User }
	return s.timeline(ctx, "tag", viewerID, page,
		func(before, after int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListTag(ctx, store.PostListTagParams{AnyIds: anyIDs, AllIds: allIDs, NoneIds: noneIDs,
				Before: before, After: after, RowLimit: limit, OnlyMedia: f.OnlyMedia})
			return postRows(rows, err, split)
		},
		func(after, before int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListTagAfter(ctx, store.PostListTagAfterParams{AnyIds: anyIDs, AllIds: allIDs, NoneIds: noneIDs,
				After: after, Before: before, RowLimit: limit, OnlyMedia: f.OnlyMedia})
			return postRows(rows, err, splitAfter)
		})
}

// PostTags returns the hashtags of p's text, as written, with their keys.
func (p Post) PostTags() []text.Tag { return text.Hashtags(p.Body) }

// TagFollowersAmong returns, of userIDs, which follow each of the tag keys (for the live
// home streams): key → user ids.
func (s *Service) TagFollowersAmong(ctx context.Context, userIDs []int64, keys []string) (map[string][]int64, error) {
	out := map[string][]int64{}
	if len(userIDs) == 0 || len(keys) == 0 {
		return out, nil
	}
	tags, err := s.q.TagsByNames(ctx, keys)
	if err != nil || len(tags) == 0 {
		return out, err
	}
	keyOf := map[int64]string{}
	ids := make([]int64, len(tags))
	for i, t := range tags {
		keyOf[t.ID], ids[i] = t.Name, t.ID
	}
	rows, err := s.q.TagFollowersAmong(ctx, store.TagFollowersAmongParams{UserIds: userIDs, TagIds: ids})
	if err != nil {
		return nil, fmt.Errorf("tag followers: %w", err)
	}
	for _, r := range rows {
		out[keyOf[r.TagID]] = append(out[keyOf[r.TagID]], r.UserID)
	}
	return out, nil
}
