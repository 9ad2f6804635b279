package core

import (
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// applySearch is the search consumer: each created or edited post goes into the full-text
// index (post_search) and the index of its tags (post_tags, marked listed for a public
// post); a
// created listed post counts one use of each of its tags on its day (tag_uses, for the
// tags' history and the trends); a deleted post leaves both indexes. Indexing reads the
// post as it is now, so applying an event twice (the backfill, a consumer registered at
// the start of the retained log) changes nothing.
func (s *Service) applySearch(ctx context.Context, _ pgx.Tx, q *store.Queries, run *batchRun, batch []events.Record) (int64, error) {
	var index, deleted []int64
	createdOn := map[int64]time.Time{}
	for _, r := range batch {
		ev, err := events.Decode(r.Topic, r.Payload)
		if err != nil {
			return 0, err
		}
		switch e := ev.(type) {
		case events.PostCreated:
			if e.ReblogOfID == 0 {
				index = append(index, e.PostID)
				createdOn[e.PostID] = r.CreatedAt
			}
		case events.PostUpdated:
			index = append(index, e.PostID)
		case events.PostDeleted:
			deleted = append(deleted, e.PostID)
		}
	}
	if err := s.indexPosts(ctx, q, index, createdOn); err != nil {
		return 0, err
	}
	if len(deleted) > 0 {
		if err := q.SearchUnindexPosts(ctx, deleted); err != nil {
			return 0, fmt.Errorf("unindex posts: %w", err)
		}
		if err := q.PostTagsRemove(ctx, deleted); err != nil {
			return 0, fmt.Errorf("untag posts: %w", err)
		}
	}
	if len(batch) > 0 {
		run.log(batch[len(batch)-1], "search index updated", "indexed", len(index), "removed", len(deleted))
	}
	return 0, nil
}

// indexPosts indexes the live posts among ids as they are now; createdOn gives the event
// time of those whose creation this is, whose tags count a use on that day.
func (s *Service) indexPosts(ctx context.Context, q *store.Queries, ids []int64, createdOn map[int64]time.Time) error {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 {
		return nil
	}
	rows, err := q.PostsByIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("posts to index: %w", err)
	}
	var live []int64
	var hasLinks []bool
	tagged := map[int64][]text.Tag{}
	var keys, displays []string
	seen := map[string]bool{}
	for _, r := range rows {
		p := r.Post
		if p.ReblogOfID != nil {
			continue
		}
		live = append(live, p.ID)
		hasLinks = append(hasLinks, HasLink(p.Body))
		tags := text.Hashtags(p.Body)
		tagged[p.ID] = tags
		for _, t := range tags {
			if !seen[t.Key] {
				seen[t.Key] = true
				keys, displays = append(keys, t.Key), append(displays, t.Name)
			}
		}
	}
	if len(live) == 0 {
		return nil
	}
	if err := q.SearchIndexPosts(ctx, store.SearchIndexPostsParams{Ids: live, HasLinks: hasLinks}); err != nil {
		return fmt.Errorf("index posts: %w", err)
	}
	// An edit may have removed tags: the tags of every post indexed are written afresh.
	if err := q.PostTagsRemove(ctx, live); err != nil {
		return fmt.Errorf("untag posts: %w", err)
	}
	if len(keys) == 0 {
		return nil
	}
	if err := q.TagsInsert(ctx, store.TagsInsertParams{Keys: keys, Displays: displays}); err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	tagRows, err := q.TagsByNames(ctx, keys)
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	idOf := make(map[string]int64, len(tagRows))
	for _, t := range tagRows {
		idOf[t.Name] = t.ID
	}
	var add store.PostTagsAddParams
	type use struct {
		tag, account int64
		day          time.Time
	}
	counted := map[use]int64{}
	var order []use
	for _, r := range rows {
		for _, t := range tagged[r.Post.ID] {
			listed := r.Post.Visibility == VisibilityPublic
			add.TagIds, add.PostIds, add.AuthorIds = append(add.TagIds, idOf[t.Key]), append(add.PostIds, r.Post.ID), append(add.AuthorIds, r.Post.AuthorID)
			add.Listed = append(add.Listed, listed)
			if at, ok := createdOn[r.Post.ID]; ok && listed {
				u := use{idOf[t.Key], r.Post.AuthorID, dayOf(at)}
				if counted[u] == 0 {
					order = append(order, u)
				}
				counted[u]++
			}
		}
	}
	var uses store.TagUsesAddParams
	for _, u := range order { // one row per triple: an upsert may not touch a row twice
		uses.TagIds, uses.AccountIds, uses.Days = append(uses.TagIds, u.tag), append(uses.AccountIds, u.account), append(uses.Days, u.day)
		uses.Uses = append(uses.Uses, counted[u])
	}
	if err := q.PostTagsAdd(ctx, add); err != nil {
		return fmt.Errorf("tag posts: %w", err)
	}
	if len(uses.TagIds) > 0 {
		if err := q.TagUsesAdd(ctx, uses); err != nil {
			return fmt.Errorf("tag uses: %w", err)
		}
	}
	return nil
}

// HasLink reports whether body has a link (what has:link finds).
func HasLink(body string) bool {
	for _, t := range text.Tokenize(body) {
		if t.Kind == text.Link {
			return true
		}
	}
	return false
}

// dayOf is the UTC day of t, as a date at midnight UTC.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// BackfillChunk is how many posts one step of the search backfill indexes.
const BackfillChunk = 1000

// BackfillSearch indexes the next chunk of the posts that existed when the search index
// was created (migration 00011), newest first, holding the search consumer's row so that
// the consumer does not index the same posts at the same time. It reports done when no
// post is left, and busy when the consumer held its row (try again shortly).
func (s *Service) BackfillSearch(ctx context.Context, chunk int) (done, busy bool, err error) {
	if chunk <= 0 {
		chunk = BackfillChunk
	}
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		done, busy = false, false
		next, err := q.SearchBackfillNext(ctx)
		if errors.Is(err, pgx.ErrNoRows) {
			done = true
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := q.ConsumerLock(ctx, "search"); errors.Is(err, pgx.ErrNoRows) {
			busy = true
			return nil
		} else if err != nil {
			return err
		}
		posts, err := q.SearchBackfillPosts(ctx, store.SearchBackfillPostsParams{UpTo: next, RowLimit: int32(chunk)})
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(posts))
		for _, p := range posts {
			if p.DeletedAt == nil && p.ReblogOfID == nil {
				ids = append(ids, p.ID)
			}
		}
		if err := s.indexPosts(ctx, q, ids, nil); err != nil {
			return err
		}
		if len(posts) < chunk {
			done = true
			return q.SearchBackfillDone(ctx)
		}
		return q.SearchBackfillMove(ctx, posts[len(posts)-1].ID-1)
	})
	if err != nil {
		return false, false, fmt.Errorf("search backfill: %w", err)
	}
	return done, busy, nil
}

// Search limits.
const (
	// MaxSearchLen is the longest search text, in characters.
	MaxSearchLen = 500
	// SearchCandidates is how many of the newest matching posts a search ranks: a word
	// found in more posts than that ranks among the newest ones, and max_id or before:
	// reach the older.
	SearchCandidates = 500
	// MaxAccountSearch is the most accounts one search of accounts returns.
	MaxAccountSearch = 80
	// MaxSearchOffset is the largest offset a search answers.
	MaxSearchOffset = 10_000
	// SearchTimeout bounds each statement of a search.
	SearchTimeout = 3 * time.Second
	// searchSimilarity is the trigram similarity at which a name counts as a typo of the
	// query's.
	searchSimilarity = "0.2"
)

// The scopes of in:.
const (
	scopeAll = iota
	scopeBookmarks
	scopeFavourites
	scopeLibrary
)

// SearchQuery is a search text parsed: its words (websearch_to_tsquery syntax: "quoted
// phrases", or, -word) and its operators.
type SearchQuery struct {
	// Words is the text without the operators.
	Words string
	// From is the username of from:, "" for none.
	From string
	// Since and Until bound the posts' creation time (after:, before:, during:); zero for
	// no bound. Since is inclusive, Until exclusive.
	Since, Until time.Time
	// Replies and Sensitive keep only replies (is:reply) and sensitive posts (is:sensitive).
	Replies, Sensitive bool
	// Links keeps only posts with a link (has:link); Media only those with pictures
	// (has:media, has:image); Polls (has:poll, and has:video, has:audio, has:gifv) those
	// with what this server does not store, which are none.
	Links, Media, Polls bool
	// Language keeps only posts in that ISO 639-1 language (language:).
	Language string
	// Scope is in: (all, bookmarks, favourites, library).
	Scope int
}

// HasOperators reports whether q has any operator.
func (q SearchQuery) HasOperators() bool {
	return q.From != "" || !q.Since.IsZero() || !q.Until.IsZero() || q.Replies || q.Sensitive ||
		q.Links || q.Media || q.Polls || q.Language != "" || q.Scope != scopeAll
}

// ParseSearch parses a search text: words, "phrases", or, -word (websearch_to_tsquery
// syntax), and the operators from:user (from:me for oneself), before:, after: and
// during: with a YYYY-MM-DD day (UTC; before: is before that day, after: after it),
// has:link, has:media (also image, video, audio, gifv), has:poll, is:reply,
// is:sensitive, language:xx and in:all, in:library, in:bookmarks, in:favourites. A word
// with a colon that is not an operator stays a word. A bad operator value is a
// *ValidationError for field.
func ParseSearch(field, s string) (SearchQuery, error) {
	var q SearchQuery
	if utf8.RuneCountInString(s) > MaxSearchLen {
		return q, invalid(field, fmt.Sprintf("is longer than %d characters", MaxSearchLen))
	}
	var words []string
	for _, tok := range searchTokens(s) {
		key, value, ok := strings.Cut(tok, ":")
		neg := strings.HasPrefix(key, "-")
		op := strings.ToLower(strings.TrimPrefix(key, "-"))
		if !ok || strings.HasPrefix(tok, `"`) || !slices.Contains(searchOperators, op) {
			words = append(words, tok)
			continue
		}
		bad := func(msg string) error { return invalid(field, op+": "+msg) }
		if neg {
			return q, bad("cannot be negated")
		}
		if value == "" {
			return q, bad("needs a value")
		}
		switch op {
		case "from":
			name := strings.TrimPrefix(value, "@")
			if i := strings.IndexByte(name, '@'); i >= 0 {
				name = name[:i] // an account of this server written with its domain
			}
			if name != "me" && !text.ValidUsername(name) {
				return q, bad("is not a username")
			}
			q.From = strings.ToLower(name)
		case "before", "after", "during":
			day, err := time.Parse("2006-01-02", value)
			if err != nil {
				return q, bad("needs a date like 2026-12-31")
			}
			switch op {
			case "before":
				q.Until = day
			case "after":
				q.Since = day.AddDate(0, 0, 1)
			default:
				q.Since, q.Until = day, day.AddDate(0, 0, 1)
			}
		case "has":
			switch strings.ToLower(value) {
			case "link":
				q.Links = true
			case "media", "image":
				q.Media = true
			case "poll", "video", "audio", "gifv":
				q.Polls = true
			default:
				return q, bad("is one of link, media, image, video, audio, gifv, poll")
			}
		case "is":
			switch strings.ToLower(value) {
			case "reply":
				q.Replies = true
			case "sensitive":
				q.Sensitive = true
			default:
				return q, bad("is one of reply, sensitive")
			}
		case "language":
			code, ok := LanguageCode(value)
			if !ok {
				return q, bad("is not an ISO 639-1 language code")
			}
			q.Language = code
		case "in":
			switch strings.ToLower(value) {
			case "all":
				q.Scope = scopeAll
			case "library":
				q.Scope = scopeLibrary
			case "bookmarks":
				q.Scope = scopeBookmarks
			case "favourites", "favorites":
				q.Scope = scopeFavourites
			default:
				return q, bad("is one of all, library, bookmarks, favourites")
			}
		}
	}
	q.Words = strings.Join(words, " ")
	return q, nil
}

var searchOperators = []string{"from", "before", "after", "during", "has", "is", "language", "in"}

// searchTokens splits s at white space, keeping a "quoted phrase" (or an unclosed one, to
// the end) as one token.
func searchTokens(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeftFunc(s, unicode.IsSpace) {
		end := strings.IndexFunc(s, unicode.IsSpace)
		if s[0] == '"' {
			if i := strings.IndexByte(s[1:], '"'); i >= 0 {
				end = i + 2
			} else {
				end = len(s)
			}
		}
		if end < 0 {
			end = len(s)
		}
		out = append(out, s[:end])
		s = s[end:]
	}
	return out
}

// PostSearch is one search of posts.
type PostSearch struct {
	Query SearchQuery
	// AccountID keeps only one account's posts (Mastodon's account_id), 0 for any.
	AccountID int64
	// Before and After bound the post ids (max_id, min_id); 0 for no bound.
	Before, After int64
	Limit, Offset int
}

// SearchPosts returns the posts matching a search that viewerID (0: nobody logged in)
// may find, the most relevant first (relevance with recency) when it has words, the
// newest first when it has only operators. It finds what viewerID may see except others'
// unlisted posts, which stay out of discovery.
func (s *Service) SearchPosts(ctx context.Context, viewerID int64, ps PostSearch) ([]Post, error) {
	q := ps.Query
	if q.Polls { // Starling stores no polls, video or audio
		return nil, nil
	}
	if strings.TrimSpace(q.Words) == "" && !q.HasOperators() && ps.AccountID == 0 {
		return nil, nil
	}
	if q.Scope != scopeAll && viewerID == 0 {
		return nil, invalid("q", "in: needs a logged-in account")
	}
	author := ps.AccountID
	if q.From != "" {
		name := q.From
		if name == "me" {
			if viewerID == 0 {
				return nil, invalid("q", "from:me needs a logged-in account")
			}
			author = viewerID
		} else {
			u, err := s.UserByUsername(ctx, name)
			if errors.Is(err, ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			if author != 0 && author != u.ID {
				return nil, nil
			}
			author = u.ID
		}
	}
	limit := ps.Limit
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	if ps.Offset > MaxSearchOffset {
		return nil, invalid("offset", fmt.Sprintf("is at most %d", MaxSearchOffset))
	}
	before := ps.Before
	if before <= 0 {
		before = 1<<63 - 1
	}
	since, until := q.Since, q.Until
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var ids []int64
	err := s.searchTx(ctx, func(qq *store.Queries, newest int64) error {
		var err error
		if strings.TrimSpace(q.Words) != "" {
			ids, err = searchWindows(ctx, qq, store.SearchPostsParams{Query: q.Words, Before: before, After: ps.After,
				CreatedBefore: until, CreatedAfter: since, AuthorID: author, OnlyReplies: q.Replies,
				OnlySensitive: q.Sensitive, OnlyLinks: q.Links, OnlyMedia: q.Media, Language: q.Language, ViewerID: viewerID,
				Scope: int32(q.Scope), Candidates: int32(s.opts.SearchCandidates), RowLimit: int32(limit), RowOffset: int32(ps.Offset)},
				newest, s.opts.SearchWindow)
			return err
		}
		ids, err = qq.SearchPostsFiltered(ctx, store.SearchPostsFilteredParams{Before: before, After: ps.After,
			CreatedBefore: until, CreatedAfter: since, AuthorID: author, OnlyReplies: q.Replies,
			OnlySensitive: q.Sensitive, OnlyLinks: q.Links, OnlyMedia: q.Media, Language: q.Language, ViewerID: viewerID,
			Scope: int32(q.Scope), RowLimit: int32(limit), RowOffset: int32(ps.Offset)})
		return err
	})
	if err != nil {
		return nil, err
	}
	byID, err := s.postsFor(ctx, viewerID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Post, 0, len(ids))
	for _, id := range ids { // in rank order
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// The windows of searchWindows: the first holds the newest defaultSearchWindow buckets of
// post ids (a bucket is 10,000 ids, search_bucket in migration 00011); the next is as
// wide as the matches found so far say it must be to hold the candidates (with a margin),
// at least twice as wide, searchGrowth times as wide when nothing matched. A window of
// more than maxSearchWindow buckets is everything instead: the index reads every id of
// a window's buckets, so past that many a whole search costs less.
const (
	searchBucket        = 10_000
	defaultSearchWindow = 2
	searchGrowth        = 8
	maxSearchWindow     = 16
)

// searchWindows answers p among the newest post ids first: the newest SearchCandidates
// matches are all in the newest window that holds that many, so a common word is ranked
// without the index even returning its older matches (the query is ANDed with the
// window's bucket lexemes). A window with fewer matches is widened, and the last is the
// whole index: a rare word costs a few cheap index lookups more.
func searchWindows(ctx context.Context, q *store.Queries, p store.SearchPostsParams, newest, firstWindow int64) ([]int64, error) {
	top := min(p.Before-1, newest)
	hi := top / searchBucket
	floor := p.After / searchBucket
	window := firstWindow
	for {
		w := p
		w.BucketLo, w.BucketHi = hi-window+1, hi
		last := window > max(maxSearchWindow, firstWindow) || w.BucketLo <= floor
		if last {
			w.BucketLo = -1
		}
		rows, err := q.SearchPosts(ctx, w)
		if err != nil {
			return nil, err
		}
		var found int64
		if len(rows) > 0 {
			found = rows[0].Candidates
		}
		if last || found >= int64(p.Candidates) {
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.PostID
			}
			return ids, nil
		}
		if found == 0 {
			window *= searchGrowth
		} else {
			window = max(2*window, window*int64(p.Candidates)*3/(2*found)+1)
		}
	}
}

// searchTx runs f in a read transaction bounded by SearchTimeout, with the trigram
// threshold of name search. A statement that runs out of time is the search's fault (it
// matches too much), answered as a *ValidationError.
func (s *Service) searchTx(ctx context.Context, f func(q *store.Queries, newest int64) error) error {
	err := store.WithTx(ctx, s.db, func(_ pgx.Tx, q *store.Queries) error {
		set, err := q.SearchSettings(ctx, store.SearchSettingsParams{
			Timeout: fmt.Sprint(SearchTimeout.Milliseconds()), Similarity: searchSimilarity})
		if err != nil {
			return err
		}
		return f(q, set.Newest)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "57014" { // query_canceled: the statement timeout
		return invalid("q", "matches too much to answer in time: add words or operators")
	}
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return nil
}

// Highlights returns, for each post among ids, the passages that match words with the
// matches marked (<mark>), escaped for HTML: the snippets of the website's search page.
func (s *Service) Highlights(ctx context.Context, words string, ids []int64) (map[int64]template.HTML, error) {
	out := map[int64]template.HTML{}
	if strings.TrimSpace(words) == "" || len(ids) == 0 {
		return out, nil
	}
	var rows []store.SearchHeadlinesRow
	err := s.searchTx(ctx, func(q *store.Queries, _ int64) error {
		var err error
		rows, err = q.SearchHeadlines(ctx, store.SearchHeadlinesParams{Query: words, Ids: ids})
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.PostID] = markHeadline(r.Headline)
	}
	return out, nil
}

// markHeadline escapes a ts_headline passage and turns its markers (U+E000, U+E001) into
// <mark> elements. A passage with unbalanced markers (a post that itself contains them)
// is shown without marks.
func markHeadline(h string) template.HTML {
	open, close := strings.Count(h, "\ue000"), strings.Count(h, "\ue001")
	esc := html.EscapeString(h)
	if open != close {
		esc = strings.NewReplacer("\ue000", "", "\ue001", "").Replace(esc)
		return template.HTML(esc) //nolint:gosec // escaped above
	}
	return template.HTML(strings.NewReplacer("\ue000", "<mark>", "\ue001", "</mark>").Replace(esc)) //nolint:gosec // escaped above
}

// SearchPublicIDs answers words as an anonymous search of posts does, in SQL alone (the
// settings, the windows, the ranking), returning the ids of the first page: what the
// benchmark compares with LIKE.
func SearchPublicIDs(ctx context.Context, db store.Conn, words string, limit int) ([]int64, error) {
	var ids []int64
	err := store.WithTx(ctx, db, func(_ pgx.Tx, q *store.Queries) error {
		set, err := q.SearchSettings(ctx, store.SearchSettingsParams{
			Timeout: fmt.Sprint(SearchTimeout.Milliseconds()), Similarity: searchSimilarity})
		if err != nil {
			return err
		}
		ids, err = searchWindows(ctx, q, store.SearchPostsParams{Query: words, Before: 1<<63 - 1,
			CreatedBefore: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), CreatedAfter: time.Unix(0, 0),
			Candidates: SearchCandidates, RowLimit: int32(limit)}, set.Newest, defaultSearchWindow)
		return err
	})
	return ids, err
}

// SearchLikePosts answers words the way a search without an index does (ILIKE over every
// public post, newest first). It exists for the benchmark's baseline.
func (s *Service) SearchLikePosts(ctx context.Context, words string, limit int) ([]int64, error) {
	return s.q.SearchLikePosts(ctx, store.SearchLikePostsParams{Pattern: likeEscape(words), RowLimit: int32(limit)})
}

// likeEscape escapes LIKE's wildcards and escape character in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AccountSearch is one search of accounts.
type AccountSearch struct {
	// Query is what was typed: a username or a part of one, a display name, with or
	// without a leading @ and this server's domain.
	Query string
	// Following keeps only accounts the viewer follows.
	Following     bool
	Limit, Offset int
}

// SearchAccounts returns the accounts whose username or display name starts with the
// query (as an @mention is typed) or is close to it (a typo), the exact username first.
func (s *Service) SearchAccounts(ctx context.Context, viewerID int64, as AccountSearch) ([]User, error) {
	q := strings.ToLower(strings.TrimSpace(as.Query))
	q = strings.TrimPrefix(q, "@")
	if i := strings.IndexByte(q, '@'); i >= 0 {
		q = q[:i] // an account of this server written with its domain
	}
	if q == "" || utf8.RuneCountInString(q) > 100 {
		return nil, nil
	}
	if as.Following && viewerID == 0 {
		return nil, invalid("following", "needs a logged-in account")
	}
	limit := as.Limit
	if limit <= 0 || limit > MaxAccountSearch {
		limit = DefaultPageSize
	}
	if as.Offset > MaxSearchOffset {
		return nil, invalid("offset", fmt.Sprintf("is at most %d", MaxSearchOffset))
	}
	var rows []store.AccountsSearchRow
	err := s.searchTx(ctx, func(qq *store.Queries, _ int64) error {
		var err error
		rows, err = qq.AccountsSearch(ctx, store.AccountsSearchParams{Prefix: likeEscape(q) + "%", Q: q,
			Following: as.Following, ViewerID: viewerID, RowLimit: int32(limit), RowOffset: int32(as.Offset)})
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = userFrom(r.User)
	}
	return out, nil
}

// Directory returns the accounts of this server, the newest first, a page at a time:
// the website's people directory. Next is the Before of the following page, 0 for none.
func (s *Service) Directory(ctx context.Context, page Page) (users []User, next int64, err error) {
	before, limit := page.normalized()
	rows, err := s.q.UsersDirectory(ctx, store.UsersDirectoryParams{Before: before, RowLimit: limit + 1})
	if err != nil {
		return nil, 0, fmt.Errorf("directory: %w", err)
	}
	for _, r := range rows[:min(len(rows), int(limit))] {
		users = append(users, userFrom(r))
	}
	if len(rows) > int(limit) {
		next = users[len(users)-1].ID
	}
	return users, next, nil
}
