package core

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/jobs/jobargs"
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
}

// CreatePost publishes body as a post by authorID. The post and its post.created event are
// written in one transaction: both exist or neither does.
func (s *Service) CreatePost(ctx context.Context, authorID int64, body string) (Post, error) {
	author, err := s.UserByID(ctx, authorID)
	if err != nil {
		return Post{}, err
	}
	p, _, err := s.CreatePostOnce(ctx, author, body, "")
	return p, err
}

// MaxIdempotencyKey is the longest Idempotency-Key accepted.
const MaxIdempotencyKey = 200

// CreatePostOnce publishes body as a post by author (already loaded: the signed-in user),
// with an optional idempotency key: the key is stored in the post's transaction, so a
// retry with the same key (even after the first response was lost, even concurrently)
// returns the original post instead of writing another. It reports whether this call
// created the post. An empty key means no deduplication.
func (s *Service) CreatePostOnce(ctx context.Context, author User, body, key string) (Post, bool, error) {
	if len(key) > MaxIdempotencyKey {
		return Post{}, false, invalid("idempotency_key", "The Idempotency-Key is longer than 200 bytes.")
	}
	if key != "" {
		if p, err := s.postForKey(ctx, author.ID, key); err == nil || !errors.Is(err, ErrNotFound) {
			return p, false, err
		}
	}
	p, err := s.createPost(ctx, author, body, key)
	if c, ok := store.IsUniqueViolation(err); ok && strings.Contains(c, "idempotency") {
		// A concurrent request with the same key won.
		p, err := s.postForKey(ctx, author.ID, key)
		return p, false, err
	}
	return p, err == nil, err
}

func (s *Service) postForKey(ctx context.Context, authorID int64, key string) (Post, error) {
	id, err := s.q.IdempotencyKeyPost(ctx, store.IdempotencyKeyPostParams{UserID: authorID, Key: key})
	if errors.Is(err, pgx.ErrNoRows) {
		return Post{}, ErrNotFound
	}
	if err != nil {
		return Post{}, fmt.Errorf("idempotency key: %w", err)
	}
	return s.PostByID(ctx, id)
}

func (s *Service) createPost(ctx context.Context, author User, body, key string) (Post, error) {
	body, err := text.NormalizePost(body)
	if err != nil {
		return Post{}, invalid("body", postProblem(err))
	}
	authorID := author.ID
	var p store.Post
	var eventID int64
	err = store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		var err error
		p, err = q.PostCreate(ctx, store.PostCreateParams{AuthorID: authorID, Body: body})
		if err != nil {
			return err
		}
		if key != "" {
			if err := q.IdempotencyKeyInsert(ctx, store.IdempotencyKeyInsertParams{UserID: authorID, Key: key, PostID: p.ID}); err != nil {
				return err
			}
		}
		if eventID, err = events.Append(ctx, q, events.PostCreated{PostID: p.ID, AuthorID: authorID}); err != nil {
			return err
		}
		if s.opts.NotifyInTx {
			if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", events.Channel, fmt.Sprint(eventID)); err != nil {
				return err
			}
		}
		jobs := []river.JobArgs{jobargs.Stats{Op: jobargs.StatsPostCreated, PostID: p.ID}}
		if len(text.Mentions(body)) > 0 {
			jobs = append(jobs, jobargs.Mentions{PostID: p.ID})
		}
		return s.enqueue(ctx, tx, jobs...)
	})
	if err != nil {
		return Post{}, fmt.Errorf("create post: %w", err)
	}
	s.woke(events.TopicPostCreated, eventID)
	s.log.InfoContext(ctx, "post created", "post_id", p.ID, "author_id", authorID)
	return Post{ID: p.ID, Body: p.Body, CreatedAt: p.CreatedAt, Author: author}, nil
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
		if row.Post.AuthorID != actor.ID && !actor.IsAdmin {
			return ErrForbidden
		}
		n, err := q.PostSoftDelete(ctx, id)
		if err != nil {
			return err
		}
		if n == 0 { // deleted concurrently
			return ErrNotFound
		}
		if eventID, err = events.Append(ctx, q, events.PostDeleted{PostID: id, AuthorID: row.Post.AuthorID}); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, jobargs.Stats{Op: jobargs.StatsPostDeleted, PostID: id})
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

// PostByID returns the live post id.
func (s *Service) PostByID(ctx context.Context, id int64) (Post, error) {
	row, err := s.q.PostGetByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Post{}, ErrNotFound
	}
	if err != nil {
		return Post{}, fmt.Errorf("post %d: %w", id, err)
	}
	posts := []Post{postFrom(row.Post, row.User)}
	if err := s.resolveMentions(ctx, posts); err != nil {
		return Post{}, err
	}
	return posts[0], nil
}

// resolveMentions fills in Mentioned for posts with one query.
func (s *Service) resolveMentions(ctx context.Context, posts []Post) error {
	if len(posts) == 0 {
		return nil
	}
	ids := make([]int64, len(posts))
	byID := make(map[int64]*Post, len(posts))
	for i := range posts {
		ids[i] = posts[i].ID
		byID[posts[i].ID] = &posts[i]
	}
	rows, err := s.q.MentionedUsernamesForPosts(ctx, ids)
	if err != nil {
		return fmt.Errorf("mentions of posts: %w", err)
	}
	for _, r := range rows {
		p := byID[r.PostID]
		if p.Mentioned == nil {
			p.Mentioned = map[string]int64{}
		}
		p.Mentioned[r.Username] = r.UserID
	}
	return nil
}

func postFrom(p store.Post, u store.User) Post {
	return Post{ID: p.ID, Body: p.Body, CreatedAt: p.CreatedAt, Author: userFrom(u)}
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

func timelineFrom[R any](rows []R, limit int32, split func(R) (store.Post, store.User)) Timeline {
	var t Timeline
	for i, r := range rows {
		if int32(i) == limit {
			t.Next = t.Posts[len(t.Posts)-1].ID
			break
		}
		t.Posts = append(t.Posts, postFrom(split(r)))
	}
	return t
}

// ascendingFrom turns an oldest-first page (min_id) into a newest-first Timeline.
func ascendingFrom[R any](rows []R, limit int32, split func(R) (store.Post, store.User)) Timeline {
	var t Timeline
	for i, r := range rows {
		if int32(i) == limit {
			break
		}
		t.Posts = append(t.Posts, postFrom(split(r)))
	}
	slices.Reverse(t.Posts)
	if len(t.Posts) > 0 {
		t.Next = t.Posts[len(t.Posts)-1].ID
	}
	return t
}

// PublicTimeline returns every live post, newest first.
func (s *Service) PublicTimeline(ctx context.Context, page Page) (Timeline, error) {
	before, limit := page.normalized()
	if page.Ascending {
		rows, err := s.q.PostListPublicAfter(ctx, store.PostListPublicAfterParams{After: page.After, Before: before, RowLimit: limit})
		if err != nil {
			return Timeline{}, fmt.Errorf("public timeline: %w", err)
		}
		return s.withMentions(ctx, ascendingFrom(rows, limit, func(r store.PostListPublicAfterRow) (store.Post, store.User) { return r.Post, r.User }))
	}
	rows, err := s.q.PostListPublic(ctx, store.PostListPublicParams{Before: before, After: page.After, RowLimit: limit + 1})
	if err != nil {
		return Timeline{}, fmt.Errorf("public timeline: %w", err)
	}
	return s.withMentions(ctx, timelineFrom(rows, limit, func(r store.PostListPublicRow) (store.Post, store.User) { return r.Post, r.User }))
}

// UserTimeline returns the live posts of authorID, newest first.
func (s *Service) UserTimeline(ctx context.Context, authorID int64, page Page) (Timeline, error) {
	before, limit := page.normalized()
	if page.Ascending {
		rows, err := s.q.PostListByAuthorAfter(ctx, store.PostListByAuthorAfterParams{AuthorID: authorID, After: page.After, Before: before, RowLimit: limit})
		if err != nil {
			return Timeline{}, fmt.Errorf("user timeline: %w", err)
		}
		return s.withMentions(ctx, ascendingFrom(rows, limit, func(r store.PostListByAuthorAfterRow) (store.Post, store.User) { return r.Post, r.User }))
	}
	rows, err := s.q.PostListByAuthor(ctx, store.PostListByAuthorParams{AuthorID: authorID, Before: before, After: page.After, RowLimit: limit + 1})
	if err != nil {
		return Timeline{}, fmt.Errorf("user timeline: %w", err)
	}
	return s.withMentions(ctx, timelineFrom(rows, limit, func(r store.PostListByAuthorRow) (store.Post, store.User) { return r.Post, r.User }))
}

// HomeTimeline returns the posts of viewerID and of everyone they follow, newest first.
func (s *Service) HomeTimeline(ctx context.Context, viewerID int64, page Page) (Timeline, error) {
	before, limit := page.normalized()
	if page.Ascending {
		rows, err := s.q.PostListHomeAfter(ctx, store.PostListHomeAfterParams{ViewerID: viewerID, After: page.After, Before: before, RowLimit: limit})
		if err != nil {
			return Timeline{}, fmt.Errorf("home timeline: %w", err)
		}
		return s.withMentions(ctx, ascendingFrom(rows, limit, func(r store.PostListHomeAfterRow) (store.Post, store.User) { return r.Post, r.User }))
	}
	rows, err := s.q.PostListHome(ctx, store.PostListHomeParams{ViewerID: viewerID, Before: before, After: page.After, RowLimit: limit + 1})
	if err != nil {
		return Timeline{}, fmt.Errorf("home timeline: %w", err)
	}
	return s.withMentions(ctx, timelineFrom(rows, limit, func(r store.PostListHomeRow) (store.Post, store.User) { return r.Post, r.User }))
}

func (s *Service) withMentions(ctx context.Context, t Timeline) (Timeline, error) {
	if err := s.resolveMentions(ctx, t.Posts); err != nil {
		return Timeline{}, err
	}
	return t, nil
}

// PostsByIDs returns the live posts among ids, with their authors and mentions, by id.
func (s *Service) PostsByIDs(ctx context.Context, ids []int64) (map[int64]Post, error) {
	rows, err := s.q.PostsByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("posts by ids: %w", err)
	}
	posts := make([]Post, len(rows))
	for i, r := range rows {
		posts[i] = postFrom(r.Post, r.User)
	}
	if err := s.resolveMentions(ctx, posts); err != nil {
		return nil, err
	}
	out := make(map[int64]Post, len(posts))
	for _, p := range posts {
		out[p.ID] = p
	}
	return out, nil
}
