package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// Post is a published post with its author.
type Post struct {
	ID        int64
	Body      string
	CreatedAt time.Time
	Author    User
	// Mentioned maps the lowercased usernames this post mentions, as resolved by the
	// mentions worker, to their user ids. Only these @names are linked when the post is
	// rendered.
	Mentioned map[string]int64
	// Visibility is who may see the post (one of the Visibility values).
	Visibility string
	// Language is the post's ISO 639-1 language, or "" when unknown.
	Language string
	// App is the OAuth app the post came through, nil for the website and personal tokens.
	App *App
	// SpoilerText is the content warning shown in place of the text until opened; "" for none.
	SpoilerText string
	// Sensitive marks the post's media (and, with a SpoilerText, the post) as sensitive.
	Sensitive bool
	// InReplyToID is the post this one answers and InReplyToAccountID its author; 0 for none.
	InReplyToID        int64
	InReplyToAccountID int64
	// ReblogOf is the boosted post when this post is a boost, nil otherwise. A boost has no
	// text of its own.
	ReblogOf *Post
	// EditedAt is when the post was last edited, nil if never.
	EditedAt *time.Time
	// Counts are the post's counters, as the counters consumer has applied them.
	Counts PostCounts
	// Viewer is what the reader did to the post; all false for nobody logged in.
	Viewer ViewerState
	// Media are its attachments, in order.
	Media []Media
	// AuthorCounts are the author's counts read in the statement that wrote the post (set
	// by Publish for a post that needed no transaction of its own, nil otherwise): the
	// response to a new post needs no query after its commit.
	AuthorCounts *AccountCounts

	reblogOfID int64
}

// PostCounts are the counters of a post.
type PostCounts struct {
	Replies, Favourites, Reblogs int64
}

// ViewerState is what the reader of a post did to it.
type ViewerState struct {
	Favourited, Reblogged, Bookmarked, Pinned bool
}

// IsReblog reports whether p is a boost of another post.
func (p Post) IsReblog() bool { return p.reblogOfID != 0 }

// Shown returns the post whose content a reader sees: the boosted post of a boost, p
// itself otherwise.
func (p Post) Shown() Post {
	if p.ReblogOf != nil {
		return *p.ReblogOf
	}
	return p
}

// CreatePost publishes body as a post by authorID. The post and its post.created event are
// written in one transaction: both exist or neither does.
func (s *Service) CreatePost(ctx context.Context, authorID int64, body string) (Post, error) {
	author, err := s.UserByID(ctx, authorID)
	if err != nil {
		return Post{}, err
	}
	p, _, err := s.Publish(ctx, author, NewPost{Body: body})
	return p, err
}

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 200

// CreatePostOnce publishes body as a post by author with an optional idempotency key (see
// Publish).
func (s *Service) CreatePostOnce(ctx context.Context, author User, body, key string) (Post, bool, error) {
	return s.Publish(ctx, author, NewPost{Body: body, IdempotencyKey: key})
}

// Visibility values a post may be given, as the Mastodon API names them.
const (
	VisibilityPublic   = "public"
	VisibilityUnlisted = "unlisted"
	VisibilityPrivate  = "private"
	VisibilityDirect   = "direct"
)

// PollInput is a poll asked for with a new post.
type PollInput struct {
	Options    []string
	ExpiresIn  int64
	Multiple   bool
	HideTotals bool
}

// NewPost is everything a new post may be given. The zero value of each field means "the
// default": public, no content warning, no language, posted now, not a reply, no media,
// no poll. Publish refuses, naming the field, every value this server cannot honour yet,
// so that no request is ever half done.
type NewPost struct {
	Body string
	// Visibility is "" (public) or one of the Visibility values.
	Visibility string
	// SpoilerText is the content warning shown instead of the text.
	SpoilerText string
	// Sensitive marks the post's media as sensitive.
	Sensitive bool
	// SensitiveUnset says that the request did not choose Sensitive: the author's default
	// (User.DefaultSensitive) applies. Visibility and Language left "" take the author's
	// defaults too.
	SensitiveUnset bool
	// Language is an ISO 639-1 code, or "" when unknown.
	Language string
	// ScheduledAt asks for the post to be published later.
	ScheduledAt *time.Time
	// InReplyTo is the id of the post this one answers.
	InReplyTo int64
	// MediaIDs are uploaded attachments to include.
	MediaIDs []int64
	// Poll asks for a poll attached to the post.
	Poll *PollInput
	// QuoteOf is the id of a post this one quotes.
	QuoteOf int64
	// QuotePolicy says who may quote this post: "", public, followers or nobody. Quotes do
	// not exist here yet, so nobody can quote any post and every policy holds.
	QuotePolicy string
	// App is the OAuth app the post comes through, as its token's grant names it (nil for
	// the website or a personal token).
	App *App
	// IdempotencyKey, when set, is stored in the post's transaction, so a retry with the
	// same key (even after the first response was lost, even concurrently) returns the
	// original post instead of writing another.
	IdempotencyKey string
}

// notYet is the message for a feature a later version builds.
const notYet = "is not supported by this server yet"

// check validates p and normalises its values, reporting every problem at once by field
// name (the API's names: body is the text).
func (p *NewPost) check() error {
	problems := map[string]string{}
	switch p.Visibility {
	case "":
		p.Visibility = VisibilityPublic
	case VisibilityPublic, VisibilityUnlisted, VisibilityPrivate, VisibilityDirect:
	default:
		problems["visibility"] = "must be one of public, unlisted, private, direct"
	}
	if cw, err := text.NormalizeWarning(p.SpoilerText); err != nil {
		problems["spoiler_text"] = postProblem(err)
	} else {
		p.SpoilerText = cw
		p.Sensitive = p.Sensitive || cw != "" // a post behind a warning is sensitive, as on Mastodon
	}
	if p.InReplyTo < 0 {
		problems["in_reply_to_id"] = "must be the id of a post"
	}
	if p.Language != "" {
		code, ok := LanguageCode(p.Language)
		if !ok {
			problems["language"] = "must be an ISO 639-1 language code, like en or de"
		}
		p.Language = code
	}
	if p.ScheduledAt != nil {
		problems["scheduled_at"] = "scheduled posts " + notYet[3:]
	}
	checkMediaIDs(p.MediaIDs, problems)
	if p.QuoteOf != 0 {
		problems["quoted_status_id"] = "quotes " + notYet[3:]
	}
	switch p.QuotePolicy {
	case "", "public", "followers", "nobody":
	default:
		problems["quote_approval_policy"] = "must be one of public, followers, nobody"
	}
	if p.Poll != nil {
		problems["poll"] = "polls " + notYet[3:]
	}
	if len(p.IdempotencyKey) > MaxIdempotencyKey {
		problems["idempotency_key"] = "The Idempotency-Key is longer than 200 bytes."
	}
	if len(problems) > 0 {
		return &ValidationError{Fields: problems}
	}
	return nil
}

// Publish writes p as a post by author (already loaded: the signed-in user). The post and
// its post.created event are written in one transaction: both exist or neither does. It
// reports whether this call created the post (false when an idempotency key matched an
// earlier one).
func (s *Service) Publish(ctx context.Context, author User, p NewPost) (Post, bool, error) {
	if err := s.allowPost(author, time.Now()); err != nil {
		return Post{}, false, err
	}
	if p.Visibility == "" {
		p.Visibility = author.DefaultVisibility
	}
	if p.Language == "" {
		p.Language = author.DefaultLanguage
	}
	if p.SensitiveUnset {
		p.Sensitive = author.DefaultSensitive
	}
	if err := p.check(); err != nil {
		return Post{}, false, err
	}
	key := p.IdempotencyKey
	if key != "" {
		if post, err := s.postForKey(ctx, author.ID, key); err == nil || !errors.Is(err, ErrNotFound) {
			return post, false, err
		}
	}
	post, err := s.createPost(ctx, author, p)
	if c, ok := store.IsUniqueViolation(err); ok && strings.Contains(c, "idempotency") {
		// A concurrent request with the same key won.
		post, err := s.postForKey(ctx, author.ID, key)
		return post, false, err
	}
	return post, err == nil, err
}

func (s *Service) postForKey(ctx context.Context, authorID int64, key string) (Post, error) {
	id, err := s.q.IdempotencyKeyPost(ctx, store.IdempotencyKeyPostParams{UserID: authorID, Key: key})
	if errors.Is(err, pgx.ErrNoRows) {
		return Post{}, ErrNotFound
	}
	if err != nil {
		return Post{}, fmt.Errorf("idempotency key: %w", err)
	}
	return s.PostFor(ctx, authorID, id)
}

func (s *Service) createPost(ctx context.Context, author User, in NewPost) (Post, error) {
	body, err := postBody(in.Body, in.SpoilerText, len(in.MediaIDs) > 0)
	if err != nil {
		return Post{}, err
	}
	authorID := author.ID
	var p store.Post
	var eventID int64
	var counts *AccountCounts
	params := store.PostCreateParams{AuthorID: authorID, Body: body, Language: nonEmpty(in.Language), AppID: appID(in.App),
		Visibility: in.Visibility, SpoilerText: in.SpoilerText, Sensitive: in.Sensitive}
	if len(in.MediaIDs) == 0 && !hasAudience(in.Visibility) && !s.opts.NotifyInTx {
		// Nothing to write but the post, its event and its key: one statement.
		if err := replyTo(ctx, s.q, &params, in.InReplyTo); err != nil {
			return Post{}, err
		}
		p, eventID, counts, err = s.createPlainPost(ctx, params, in.IdempotencyKey)
	} else {
		err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
			if err := replyTo(ctx, q, &params, in.InReplyTo); err != nil {
				return err
			}
			var err error
			p, err = q.PostCreate(ctx, params)
			if err != nil {
				return err
			}
			if err := attachMedia(ctx, q, authorID, p.ID, in.MediaIDs); err != nil {
				return err
			}
			if hasAudience(in.Visibility) {
				if err := s.mentionAudience(ctx, q, p); err != nil {
					return err
				}
			}
			if in.IdempotencyKey != "" {
				if err := q.IdempotencyKeyInsert(ctx, store.IdempotencyKeyInsertParams{UserID: authorID, Key: in.IdempotencyKey, PostID: p.ID}); err != nil {
					return err
				}
			}
			if eventID, err = events.Append(ctx, q, createdEvent(p)); err != nil {
				return err
			}
			if s.opts.NotifyInTx {
				if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", events.Channel, fmt.Sprint(eventID)); err != nil {
					return err
				}
			}
			return nil // its effects are the consumers' (consumers.go): nothing else in this transaction
			// but, for a private or direct post, who it mentions: that is who may see it.
		})
	}
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	s.woke(events.TopicPostCreated, eventID)
	s.log.InfoContext(ctx, "post created", "post_id", p.ID, "author_id", authorID)
	posts := []Post{postOf(p, author)}
	posts[0].App, posts[0].AuthorCounts = in.App, counts
	if hasAudience(p.Visibility) { // its mention rows exist already: show them
		if err := s.resolveMentions(ctx, posts); err != nil {
			return Post{}, err
		}
	}
	if len(in.MediaIDs) > 0 {
		if err := s.resolveMedia(ctx, []*Post{&posts[0]}); err != nil {
			return Post{}, err
		}
	}
	return posts[0], nil
}

// appID is the id of app for a post's row, nil for none.
func appID(a *App) *int64 {
	if a == nil {
		return nil
	}
	return &a.ID
}

// replyTo checks that the post a new post answers (id, 0 for none) exists and is visible
// to its author, and sets params' reply fields: a reply to a boost answers the boosted
// post.
func replyTo(ctx context.Context, q *store.Queries, params *store.PostCreateParams, id int64) error {
	if id == 0 {
		return nil
	}
	parent, err := q.PostSeenBy(ctx, store.PostSeenByParams{ID: id, ViewerID: params.AuthorID})
	if errors.Is(err, pgx.ErrNoRows) {
		return invalid("in_reply_to_id", "The post you reply to does not exist, was deleted, or is not visible to you.")
	}
	if err != nil {
		return err
	}
	if parent.ReblogOfID != nil {
		if parent, err = q.PostSeenBy(ctx, store.PostSeenByParams{ID: *parent.ReblogOfID, ViewerID: params.AuthorID}); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return invalid("in_reply_to_id", "The boosted post you reply to was deleted.")
			}
			return err
		}
	}
	params.InReplyToID, params.InReplyToAccountID = &parent.ID, &parent.AuthorID
	return nil
}

// createPlainPost writes a post that needs nothing else in its transaction (no media, no
// audience rows) with its post.created event and idempotency key in one statement: one
// round trip instead of five (BEGIN, post, key, event, COMMIT), the same atomicity.
func (s *Service) createPlainPost(ctx context.Context, params store.PostCreateParams, key string) (store.Post, int64, *AccountCounts, error) {
	ev := createdEvent(store.Post{AuthorID: params.AuthorID, Visibility: params.Visibility, InReplyToID: params.InReplyToID})
	prep, err := events.Prepare(ctx, ev) // its post_id is the statement's to fill
	if err != nil {
		return store.Post{}, 0, nil, err
	}
	row, err := s.q.PostCreateWithEvent(ctx, store.PostCreateWithEventParams{
		AuthorID: params.AuthorID, Body: params.Body, Language: params.Language, AppID: params.AppID,
		Visibility: params.Visibility, SpoilerText: params.SpoilerText, Sensitive: params.Sensitive,
		InReplyToID: params.InReplyToID, InReplyToAccountID: params.InReplyToAccountID, IdempotencyKey: key,
		Topic: prep.Topic, Payload: prep.Payload, RequestID: prep.RequestID, Trace: prep.Trace,
	})
	if err != nil {
		return store.Post{}, 0, nil, err
	}
	// The post is the author's newest: it is their last post's time.
	counts := &AccountCounts{Posts: row.AuthorPosts, Followers: row.AuthorFollowers, Following: row.AuthorFollowing, LastPostAt: &row.CreatedAt}
	return store.Post{ID: row.ID, AuthorID: row.AuthorID, Body: row.Body, CreatedAt: row.CreatedAt, DeletedAt: row.DeletedAt,
		Language: row.Language, AppID: row.AppID, Visibility: row.Visibility, SpoilerText: row.SpoilerText, Sensitive: row.Sensitive,
		InReplyToID: row.InReplyToID, InReplyToAccountID: row.InReplyToAccountID, ReblogOfID: row.ReblogOfID, EditedAt: row.EditedAt}, row.EventID, counts, nil
}

// postBody normalises a post's text: it may be empty only when the post has media.
func postBody(raw, spoiler string, hasMedia bool) (string, error) {
	body, err := text.NormalizePost(raw)
	if errors.Is(err, text.ErrEmpty) && hasMedia {
		body, err = "", nil
	}
	if err != nil {
		return "", invalid("body", postProblem(err))
	}
	if utf8.RuneCountInString(body)+utf8.RuneCountInString(spoiler) > text.MaxPostChars {
		return "", invalid("spoiler_text", fmt.Sprintf("The content warning and the text together can be at most %d characters.", text.MaxPostChars))
	}
	return body, nil
}

// createdEvent is the post.created event of p.
func createdEvent(p store.Post) events.PostCreated {
	e := events.PostCreated{PostID: p.ID, AuthorID: p.AuthorID, Visibility: p.Visibility}
	if p.InReplyToID != nil {
		e.InReplyToID = *p.InReplyToID
	}
	if p.ReblogOfID != nil {
		e.ReblogOfID = *p.ReblogOfID
	}
	return e
}

// deletedEvent is the post.deleted event of p, carrying what its post.created carried.
func deletedEvent(p store.Post) events.PostDeleted {
	c := createdEvent(p)
	return events.PostDeleted{PostID: c.PostID, AuthorID: c.AuthorID, Visibility: c.Visibility,
		InReplyToID: c.InReplyToID, ReblogOfID: c.ReblogOfID}
}

// hasAudience reports whether a post of visibility v is seen only by its author, the
// accounts it mentions and (private) the author's followers: then its mention rows are
// written with it, since they decide who may see it from the commit on.
func hasAudience(v string) bool { return v == VisibilityPrivate || v == VisibilityDirect }

// mentionAudience writes the mention rows of p (the mentions consumer adds its
// notifications later) and fills nothing else.
func (s *Service) mentionAudience(ctx context.Context, q *store.Queries, p store.Post) error {
	names := text.Mentions(p.Body)
	if len(names) == 0 {
		return nil
	}
	users, err := q.UserIDsByUsernames(ctx, names)
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(users))
	for _, u := range users {
		if u.ID != p.AuthorID {
			ids = append(ids, u.ID)
		}
	}
	_, err = q.MentionsAdd(ctx, store.MentionsAddParams{PostID: p.ID, UserIds: ids})
	return err
}

func postProblem(err error) string {
	switch {
	case errors.Is(err, text.ErrEmpty):
		return "Write something first."
	case errors.Is(err, text.ErrTooLong):
		return fmt.Sprintf("Posts can be at most %d characters.", text.MaxPostChars)
	case errors.Is(err, text.ErrInvalidUTF8):
		return "The text is not valid UTF-8."
	}
	return err.Error()
}

// DeletePost deletes post id on behalf of actor, who must be its author or an admin.
func (s *Service) DeletePost(ctx context.Context, actor User, id int64) error {
	var eventID int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		row, err := q.PostGetByID(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !mayDelete(actor, row.Post.AuthorID) {
			if _, err := q.PostSeenBy(ctx, store.PostSeenByParams{ID: id, ViewerID: actor.ID}); err != nil {
				return ErrNotFound // not even visible to them: no hint that it exists
			}
			return ErrForbidden
		}
		if row.Post.ReblogOfID != nil { // deleting a boost undoes it
			gone, err := q.ReblogDelete(ctx, store.ReblogDeleteParams{AuthorID: row.Post.AuthorID, ReblogOfID: row.Post.ReblogOfID})
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			if err != nil {
				return err
			}
			eventID, err = events.Append(ctx, q, deletedEvent(gone))
			return err
		}
		n, err := q.PostSoftDelete(ctx, id)
		if err != nil {
			return err
		}
		if n == 0 { // deleted concurrently
			return ErrNotFound
		}
		eventID, err = events.Append(ctx, q, deletedEvent(row.Post))
		return err
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
		return err
	}
	if err != nil {
		return fmt.Errorf("delete post %d: %w", id, err)
	}
	s.woke(events.TopicPostDeleted, eventID)
	s.log.InfoContext(ctx, "post deleted", "post_id", id, "actor_id", actor.ID)
	return nil
}

// PostFor returns the live post id as viewerID (0: nobody logged in) sees it, or
// ErrNotFound when it does not exist, was deleted, or viewerID may not see it.
func (s *Service) PostFor(ctx context.Context, viewerID, id int64) (Post, error) {
	row, err := s.q.PostGetSeenBy(ctx, store.PostGetSeenByParams{ID: id, ViewerID: viewerID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Post{}, ErrNotFound
	}
	if err != nil {
		return Post{}, fmt.Errorf("post %d: %w", id, err)
	}
	posts, err := s.complete(ctx, viewerID, []Post{postFrom(row.Post, row.User)})
	if err != nil {
		return Post{}, err
	}
	if len(posts) == 0 { // a boost whose post was deleted
		return Post{}, ErrNotFound
	}
	return posts[0], nil
}

// postsFor returns the live posts among ids that viewerID may see, completed, by id.
func (s *Service) postsFor(ctx context.Context, viewerID int64, ids []int64) (map[int64]Post, error) {
	if len(ids) == 0 {
		return map[int64]Post{}, nil
	}
	rows, err := s.q.PostsVisibleByIDs(ctx, store.PostsVisibleByIDsParams{Ids: ids, ViewerID: viewerID})
	if err != nil {
		return nil, fmt.Errorf("posts by ids: %w", err)
	}
	posts := make([]Post, len(rows))
	for i, r := range rows {
		posts[i] = postFrom(r.Post, r.User)
	}
	if posts, err = s.complete(ctx, viewerID, posts); err != nil {
		return nil, err
	}
	out := make(map[int64]Post, len(posts))
	for _, p := range posts {
		out[p.ID] = p
	}
	return out, nil
}

// complete fills in what a reader of posts sees besides the rows: the boosted post of each
// boost (a boost whose post is gone, or hidden from viewerID, is left out), the mentions,
// the apps, the counters, and what viewerID did to each post. A few queries for all the
// posts together, whatever their number.
func (s *Service) complete(ctx context.Context, viewerID int64, posts []Post) ([]Post, error) {
	var originalIDs []int64
	for _, p := range posts {
		if p.reblogOfID != 0 {
			originalIDs = append(originalIDs, p.reblogOfID)
		}
	}
	originals := map[int64]*Post{}
	if len(originalIDs) > 0 {
		rows, err := s.q.PostsVisibleByIDs(ctx, store.PostsVisibleByIDsParams{Ids: originalIDs, ViewerID: viewerID})
		if err != nil {
			return nil, fmt.Errorf("boosted posts: %w", err)
		}
		for _, r := range rows {
			p := postFrom(r.Post, r.User)
			originals[p.ID] = &p
		}
	}
	kept := posts[:0]
	for _, p := range posts {
		if p.reblogOfID != 0 {
			if originals[p.reblogOfID] == nil {
				continue
			}
		}
		kept = append(kept, p)
	}
	// Every post whose details are shown: the posts and the boosted ones.
	all := make([]*Post, 0, len(kept)+len(originals))
	for i := range kept {
		all = append(all, &kept[i])
	}
	for _, o := range originals {
		all = append(all, o)
	}
	if err := s.fill(ctx, viewerID, all); err != nil {
		return nil, err
	}
	for i := range kept {
		if id := kept[i].reblogOfID; id != 0 {
			o := *originals[id]
			kept[i].ReblogOf = &o
		}
	}
	return kept, nil
}

// fill sets the mentions, apps, counters and viewer state of posts.
func (s *Service) fill(ctx context.Context, viewerID int64, posts []*Post) error {
	if len(posts) == 0 {
		return nil
	}
	ids := make([]int64, len(posts))
	byID := make(map[int64][]*Post, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
		byID[p.ID] = append(byID[p.ID], p)
	}
	flat := make([]Post, len(posts))
	for i, p := range posts {
		flat[i] = *p
	}
	if err := s.resolveMentions(ctx, flat); err != nil {
		return err
	}
	for i, p := range posts {
		p.Mentioned, p.App = flat[i].Mentioned, flat[i].App
	}
	if err := s.resolveMedia(ctx, posts); err != nil {
		return err
	}
	stats, err := s.q.PostStatsOf(ctx, ids)
	if err != nil {
		return fmt.Errorf("post counters: %w", err)
	}
	for _, st := range stats {
		for _, p := range byID[st.PostID] {
			p.Counts = PostCounts{Replies: max(0, st.Replies), Favourites: max(0, st.Favourites), Reblogs: max(0, st.Reblogs)}
		}
	}
	if viewerID == 0 {
		return nil
	}
	states, err := s.q.ViewerStateOf(ctx, store.ViewerStateOfParams{Ids: ids, ViewerID: viewerID})
	if err != nil {
		return fmt.Errorf("viewer state: %w", err)
	}
	for _, st := range states {
		for _, p := range byID[st.PostID] {
			p.Viewer = ViewerState{Favourited: st.Favourited, Reblogged: st.Reblogged, Bookmarked: st.Bookmarked, Pinned: st.Pinned}
		}
	}
	return nil
}

// resolveMentions fills in Mentioned for posts with one query.
func (s *Service) resolveMentions(ctx context.Context, posts []Post) error {
	if len(posts) == 0 {
		return nil
	}
	ids := make([]int64, len(posts))
	byID := make(map[int64][]*Post, len(posts)) // a post can be listed twice: on its own and boosted
	for i := range posts {
		ids[i] = posts[i].ID
		byID[posts[i].ID] = append(byID[posts[i].ID], &posts[i])
	}
	rows, err := s.q.MentionedUsernamesForPosts(ctx, ids)
	if err != nil {
		return fmt.Errorf("mentions of posts: %w", err)
	}
	for _, r := range rows {
		for _, p := range byID[r.PostID] {
			if p.Mentioned == nil {
				p.Mentioned = map[string]int64{}
			}
			p.Mentioned[r.Username] = r.UserID
		}
	}
	return s.resolveApps(ctx, posts)
}

// resolveApps fills in the names of the posts' apps, with one query when any has one.
func (s *Service) resolveApps(ctx context.Context, posts []Post) error {
	var ids []int64
	for _, p := range posts {
		if p.App != nil && !slices.Contains(ids, p.App.ID) {
			ids = append(ids, p.App.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := s.q.PostAppsByIDs(ctx, ids)
	if err != nil {
		return fmt.Errorf("apps of posts: %w", err)
	}
	apps := make(map[int64]App, len(rows))
	for _, r := range rows {
		apps[r.ID] = App{ID: r.ID, Name: r.Name, Website: r.Website}
	}
	for i := range posts {
		if p := &posts[i]; p.App != nil {
			if a, ok := apps[p.App.ID]; ok {
				p.App = &a
			} else {
				p.App = nil // deleted since
			}
		}
	}
	return nil
}

func postFrom(p store.Post, u store.User) Post { return postOf(p, userFrom(u)) }

func postOf(p store.Post, author User) Post {
	post := Post{ID: p.ID, Body: p.Body, CreatedAt: p.CreatedAt, Author: author, Visibility: p.Visibility,
		SpoilerText: p.SpoilerText, Sensitive: p.Sensitive, EditedAt: p.EditedAt}
	if p.Language != nil {
		post.Language = *p.Language
	}
	if p.AppID != nil {
		post.App = &App{ID: *p.AppID}
	}
	if p.InReplyToID != nil {
		post.InReplyToID = *p.InReplyToID
	}
	if p.InReplyToAccountID != nil {
		post.InReplyToAccountID = *p.InReplyToAccountID
	}
	if p.ReblogOfID != nil {
		post.reblogOfID = *p.ReblogOfID
	}
	return post
}

// App is the OAuth app a post was written with.
type App struct {
	ID      int64
	Name    string
	Website string
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonZero(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

// Page asks for one page of a timeline: posts with id below Before (0 means from the
// newest) and above After, at most Limit of them, newest first. With Ascending, the page
// is the one just above After (Mastodon's min_id), still returned newest first.
type Page struct {
	Before    int64
	After     int64
	Ascending bool
	Limit     int
}

// Timeline page sizes.
const (
	DefaultPageSize = 20
	MaxPageSize     = 40
)

func (p Page) normalized() (before int64, limit int32) {
	before = p.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	if p.After < 0 {
		p.After = 0
	}
	switch {
	case p.Limit <= 0:
		limit = DefaultPageSize
	case p.Limit > MaxPageSize:
		limit = MaxPageSize
	default:
		limit = int32(p.Limit)
	}
	return before, limit
}

// Timeline is one page of posts, newest first. Next is the Before of the following page,
// or 0 when this is the last page.
type Timeline struct {
	Posts []Post
	Next  int64
}

// keysetPage runs one page of a keyset-paged list, newest first, for every list of the
// same shape (timelines, notifications, followers: any list whose items have increasing
// ids). newer reads the items with after < id < before in ascending order, at most limit
// (Mastodon's min_id); older reads them in descending order. It returns the page newest first and the Before
// of the following page (0 when this is the last).
func keysetPage[T any](page Page, id func(T) int64,
	older func(before, after int64, limit int32) ([]T, error),
	newer func(after, before int64, limit int32) ([]T, error)) ([]T, int64, error) {
	before, limit := page.normalized()
	if page.Ascending {
		items, err := newer(page.After, before, limit)
		if err != nil {
			return nil, 0, err
		}
		items = items[:min(len(items), int(limit))]
		slices.Reverse(items)
		var next int64
		if len(items) > 0 {
			next = id(items[len(items)-1])
		}
		return items, next, nil
	}
	items, err := older(before, page.After, limit+1) // one more tells whether a next page exists
	if err != nil {
		return nil, 0, err
	}
	if len(items) > int(limit) {
		items = items[:limit]
		return items, id(items[len(items)-1]), nil
	}
	return items, 0, nil
}

// mapRows converts the rows of one query, passing its error through.
func mapRows[R, T any](rows []R, err error, convert func(R) T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = convert(r)
	}
	return out, nil
}

// postRows converts rows of posts with their authors.
func postRows[R any](rows []R, err error, split func(R) (store.Post, store.User)) ([]Post, error) {
	return mapRows(rows, err, func(r R) Post { return postFrom(split(r)) })
}

func postID(p Post) int64 { return p.ID }

// timeline runs one page of a post list with keysetPage and completes its posts as
// viewerID sees them.
func (s *Service) timeline(ctx context.Context, what string, viewerID int64, page Page,
	older func(before, after int64, limit int32) ([]Post, error),
	newer func(after, before int64, limit int32) ([]Post, error)) (Timeline, error) {
	posts, next, err := keysetPage(page, postID, older, newer)
	if err != nil {
		return Timeline{}, fmt.Errorf("%s timeline: %w", what, err)
	}
	if posts, err = s.complete(ctx, viewerID, posts); err != nil {
		return Timeline{}, err
	}
	return Timeline{Posts: posts, Next: next}, nil
}

// PublicTimeline returns every live public post, boosts left out, newest first, as
// viewerID (0: nobody logged in) sees them.
func (s *Service) PublicTimeline(ctx context.Context, viewerID int64, page Page) (Timeline, error) {
	split := func(r store.PostListPublicRow) (store.Post, store.User) { return r.Post, r.User }
	splitAfter := func(r store.PostListPublicAfterRow) (store.Post, store.User) { return r.Post, r.User }
	return s.timeline(ctx, "public", viewerID, page,
		func(before, after int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListPublic(ctx, store.PostListPublicParams{Before: before, After: after, RowLimit: limit})
			return postRows(rows, err, split)
		},
		func(after, before int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListPublicAfter(ctx, store.PostListPublicAfterParams{After: after, Before: before, RowLimit: limit})
			return postRows(rows, err, splitAfter)
		})
}

// PublicMediaTimeline is PublicTimeline with only the posts that have attachments
// (only_media).
func (s *Service) PublicMediaTimeline(ctx context.Context, viewerID int64, page Page) (Timeline, error) {
	split := func(r store.PostListPublicMediaRow) (store.Post, store.User) { return r.Post, r.User }
	splitAfter := func(r store.PostListPublicMediaAfterRow) (store.Post, store.User) { return r.Post, r.User }
	return s.timeline(ctx, "public", viewerID, page,
		func(before, after int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListPublicMedia(ctx, store.PostListPublicMediaParams{Before: before, After: after, RowLimit: limit})
			return postRows(rows, err, split)
		},
		func(after, before int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListPublicMediaAfter(ctx, store.PostListPublicMediaAfterParams{After: after, Before: before, RowLimit: limit})
			return postRows(rows, err, splitAfter)
		})
}

// AuthorFilter narrows an account's posts: without replies to others, without boosts,
// without direct posts, only those with the hashtag Tagged ("" for any).
type AuthorFilter struct {
	ExcludeReplies, ExcludeReblogs, ExcludeDirect bool
	Tagged                                        string
	// OnlyMedia keeps only posts with attachments.
	OnlyMedia bool
}

// UserTimeline returns the live posts and boosts of authorID that viewerID may see,
// newest first.
func (s *Service) UserTimeline(ctx context.Context, viewerID, authorID int64, f AuthorFilter, page Page) (Timeline, error) {
	var tagged int64
	if f.Tagged != "" {
		key, _, err := tagKey("tagged", f.Tagged)
		if err != nil {
			return Timeline{}, err
		}
		tags, err := s.q.TagsByNames(ctx, []string{key})
		if err != nil {
			return Timeline{}, fmt.Errorf("user timeline: %w", err)
		}
		if len(tags) == 0 {
			return Timeline{}, nil // nobody used the tag
		}
		tagged = tags[0].ID
	}
	split := func(r store.PostListByAuthorRow) (store.Post, store.User) { return r.Post, r.User }
	splitAfter := func(r store.PostListByAuthorAfterRow) (store.Post, store.User) { return r.Post, r.User }
	return s.timeline(ctx, "user", viewerID, page,
		func(before, after int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListByAuthor(ctx, store.PostListByAuthorParams{AuthorID: authorID, Before: before, After: after, RowLimit: limit,
				ViewerID: viewerID, ExcludeReplies: f.ExcludeReplies, ExcludeReblogs: f.ExcludeReblogs, ExcludeDirect: f.ExcludeDirect,
				TaggedID: tagged, OnlyMedia: f.OnlyMedia})
			return postRows(rows, err, split)
		},
		func(after, before int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListByAuthorAfter(ctx, store.PostListByAuthorAfterParams{AuthorID: authorID, After: after, Before: before, RowLimit: limit,
				ViewerID: viewerID, ExcludeReplies: f.ExcludeReplies, ExcludeReblogs: f.ExcludeReblogs, ExcludeDirect: f.ExcludeDirect,
				TaggedID: tagged, OnlyMedia: f.OnlyMedia})
			return postRows(rows, err, splitAfter)
		})
}

// HomeTimeline returns the posts and boosts of viewerID and of everyone they follow that
// viewerID may see, newest first.
func (s *Service) HomeTimeline(ctx context.Context, viewerID int64, page Page) (Timeline, error) {
	return s.homeTimeline(ctx, viewerID, page, false)
}

// HomeMediaTimeline is HomeTimeline with only the posts (and boosts of posts) that have
// attachments (only_media).
func (s *Service) HomeMediaTimeline(ctx context.Context, viewerID int64, page Page) (Timeline, error) {
	return s.homeTimeline(ctx, viewerID, page, true)
}

func (s *Service) homeTimeline(ctx context.Context, viewerID int64, page Page, onlyMedia bool) (Timeline, error) {
	split := func(r store.PostListHomeRow) (store.Post, store.User) { return r.Post, r.User }
	splitAfter := func(r store.PostListHomeAfterRow) (store.Post, store.User) { return r.Post, r.User }
	return s.timeline(ctx, "home", viewerID, page,
		func(before, after int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListHome(ctx, store.PostListHomeParams{ViewerID: viewerID, Before: before, After: after, RowLimit: limit,
				OnlyMedia: onlyMedia})
			return postRows(rows, err, split)
		},
		func(after, before int64, limit int32) ([]Post, error) {
			rows, err := s.q.PostListHomeAfter(ctx, store.PostListHomeAfterParams{ViewerID: viewerID, After: after, Before: before, RowLimit: limit,
				OnlyMedia: onlyMedia})
			return postRows(rows, err, splitAfter)
		})
}

// PostsByIDs returns the live posts among ids, whoever may see them, with their
// authors, mentions, counters and boosted posts, by id: for the live streams, which decide
// per reader with MaySee.
func (s *Service) PostsByIDs(ctx context.Context, ids []int64) (map[int64]Post, error) {
	rows, err := s.q.PostsByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("posts by ids: %w", err)
	}
	posts := make([]Post, len(rows))
	for i, r := range rows {
		posts[i] = postFrom(r.Post, r.User)
	}
	// The boosted posts are public or unlisted (nothing else can be boosted), so
	// completing as nobody logged in loads them all.
	if posts, err = s.complete(ctx, 0, posts); err != nil {
		return nil, err
	}
	if err := s.resolvePending(ctx, posts); err != nil {
		return nil, err
	}
	out := make(map[int64]Post, len(posts))
	for _, p := range posts {
		out[p.ID] = p
	}
	return out, nil
}

// resolvePending links the @names of new posts whose mention rows the mentions consumer
// has not written yet, with the same rule it applies (an existing account other than the
// author), so that a post pushed to a stream the moment it is written renders as it will
// once reloaded.
func (s *Service) resolvePending(ctx context.Context, posts []Post) error {
	var names []string
	for _, p := range posts {
		for _, n := range text.Mentions(p.Shown().Body) {
			if _, ok := p.Shown().Mentioned[n]; !ok {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	users, err := s.q.UserIDsByUsernames(ctx, names)
	if err != nil {
		return fmt.Errorf("mentioned accounts: %w", err)
	}
	byName := make(map[string]int64, len(users))
	for _, u := range users {
		byName[strings.ToLower(u.Username)] = u.ID
	}
	for i := range posts {
		p := &posts[i]
		if p.ReblogOf != nil {
			p = p.ReblogOf
		}
		for _, n := range text.Mentions(p.Body) {
			if id, ok := byName[n]; ok && id != p.Author.ID {
				if p.Mentioned == nil {
					p.Mentioned = map[string]int64{}
				}
				p.Mentioned[n] = id
			}
		}
	}
	return nil
}
