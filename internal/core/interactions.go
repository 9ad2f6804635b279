package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/store"
)

// MaySee reports whether viewerID (0: nobody logged in) may see p, given whether viewerID
// follows p's author: anyone may see public and unlisted posts; private ones their author,
// the author's followers and the accounts they mention; direct ones their author and the
// accounts they mention. It is the rule of the SQL function may_see (migration 00009),
// which every query that lists posts applies; the live streams, which decide per reader
// in Go, call this one. The visibility matrix test holds both to the same answers.
func MaySee(viewerID int64, p Post, followsAuthor bool) bool {
	switch p.Visibility {
	case VisibilityPublic, VisibilityUnlisted:
		return true
	}
	if viewerID == 0 {
		return false
	}
	if viewerID == p.Author.ID || (p.Visibility == VisibilityPrivate && followsAuthor) {
		return true
	}
	for _, id := range p.Mentioned {
		if id == viewerID {
			return true
		}
	}
	return false
}

// Listed reports whether p belongs on the public timelines (and, later, tag pages): public
// posts that are not boosts.
func Listed(p Post) bool { return p.Visibility == VisibilityPublic && !p.IsReblog() }

// Boostable reports whether p may be boosted: public and unlisted posts may; private and
// direct ones may not, since a boost would show them to readers their author did not choose.
func Boostable(p Post) bool {
	return (p.Visibility == VisibilityPublic || p.Visibility == VisibilityUnlisted) && !p.IsReblog()
}

// seen loads post id for viewer inside a transaction, resolving a boost to the boosted
// post (favouriting or bookmarking a boost acts on the post it boosts). ErrNotFound when
// viewer may not see it.
func seen(ctx context.Context, q *store.Queries, viewer, id int64) (store.Post, error) {
	p, err := q.PostSeenBy(ctx, store.PostSeenByParams{ID: id, ViewerID: viewer})
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Post{}, ErrNotFound
	}
	if err != nil || p.ReblogOfID == nil {
		return p, err
	}
	return seen(ctx, q, viewer, *p.ReblogOfID)
}

// act runs change in a transaction on the post id that viewer may see (a boost stands for
// the post it boosts), wakes the streams for the event change wrote (0 for none), and
// returns the post as viewer now sees it.
func (s *Service) act(ctx context.Context, what string, viewer User, id int64,
	change func(q *store.Queries, p store.Post) (eventID int64, topic string, err error)) (Post, error) {
	var eventID int64
	var topic string
	var target int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		p, err := seen(ctx, q, viewer.ID, id)
		if err != nil {
			return err
		}
		target = p.ID
		eventID, topic, err = change(q, p)
		return err
	})
	if err != nil {
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) {
			return Post{}, err
		}
		var v *ValidationError
		if errors.As(err, &v) {
			return Post{}, err
		}
		return Post{}, fmt.Errorf("%s post %d: %w", what, id, err)
	}
	if eventID != 0 {
		s.woke(topic, eventID)
		s.log.InfoContext(ctx, what, "post_id", target, "user_id", viewer.ID)
	}
	return s.PostFor(ctx, viewer.ID, target)
}

// Favourite favourites post id as viewer. Favouriting twice is not an error. The post's
// count and its author's notification are the consumers' (counters, interactions).
func (s *Service) Favourite(ctx context.Context, viewer User, id int64) (Post, error) {
	return s.act(ctx, "post favourited", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		favs, err := q.FavouriteCreate(ctx, store.FavouriteCreateParams{UserID: viewer.ID, PostID: p.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, "", nil // favourited already
		}
		if err != nil {
			return 0, "", err
		}
		ev, err := events.Append(ctx, q, events.FavouriteCreated{FavouriteID: favs, PostID: p.ID, UserID: viewer.ID, AuthorID: p.AuthorID})
		return ev, events.TopicFavouriteCreated, err
	})
}

// Unfavourite takes viewer's favourite of post id back; its notification goes with it.
// Taking back a favourite that was not given is not an error.
func (s *Service) Unfavourite(ctx context.Context, viewer User, id int64) (Post, error) {
	return s.act(ctx, "post unfavourited", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		n, err := q.FavouriteDelete(ctx, store.FavouriteDeleteParams{UserID: viewer.ID, PostID: p.ID})
		if err != nil || n == 0 {
			return 0, "", err
		}
		ev, err := events.Append(ctx, q, events.FavouriteDeleted{PostID: p.ID, UserID: viewer.ID, AuthorID: p.AuthorID})
		return ev, events.TopicFavouriteDeleted, err
	})
}

// Reblog boosts post id as viewer with visibility (public, unlisted or private; "" is
// public) and returns the boost, whose ReblogOf is the boosted post. Boosting twice
// returns the first boost. Private and direct posts cannot be boosted.
func (s *Service) Reblog(ctx context.Context, viewer User, id int64, visibility string, appID int64) (Post, error) {
	switch visibility {
	case "":
		visibility = VisibilityPublic
	case VisibilityPublic, VisibilityUnlisted, VisibilityPrivate:
	default:
		return Post{}, invalid("visibility", "must be one of public, unlisted, private")
	}
	var boostID int64
	_, err := s.act(ctx, "post boosted", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		if p.Visibility != VisibilityPublic && p.Visibility != VisibilityUnlisted {
			return 0, "", invalid("id", "Only public and unlisted posts can be boosted.")
		}
		r, err := q.ReblogCreate(ctx, store.ReblogCreateParams{AuthorID: viewer.ID, Visibility: visibility, ReblogOfID: &p.ID, AppID: nonZero(appID)})
		if errors.Is(err, pgx.ErrNoRows) { // boosted already
			existing, err := q.ReblogOf(ctx, store.ReblogOfParams{AuthorID: viewer.ID, ReblogOfID: &p.ID})
			boostID = existing
			return 0, "", err
		}
		if err != nil {
			return 0, "", err
		}
		boostID = r.ID
		ev, err := events.Append(ctx, q, createdEvent(r))
		return ev, events.TopicPostCreated, err
	})
	if err != nil {
		return Post{}, err
	}
	return s.PostFor(ctx, viewer.ID, boostID)
}

// Unreblog undoes viewer's boost of post id (id may be the boost itself) and returns the
// boosted post; its notification goes with it. Undoing a boost that was not made is not
// an error.
func (s *Service) Unreblog(ctx context.Context, viewer User, id int64) (Post, error) {
	return s.act(ctx, "post unboosted", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		gone, err := q.ReblogDelete(ctx, store.ReblogDeleteParams{AuthorID: viewer.ID, ReblogOfID: &p.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, "", nil
		}
		if err != nil {
			return 0, "", err
		}
		ev, err := events.Append(ctx, q, deletedEvent(gone))
		return ev, events.TopicPostDeleted, err
	})
}

// Bookmark bookmarks post id for viewer (private to them: no event, no notification).
func (s *Service) Bookmark(ctx context.Context, viewer User, id int64) (Post, error) {
	return s.act(ctx, "post bookmarked", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		return 0, "", q.BookmarkCreate(ctx, store.BookmarkCreateParams{UserID: viewer.ID, PostID: p.ID})
	})
}

// Unbookmark removes viewer's bookmark of post id.
func (s *Service) Unbookmark(ctx context.Context, viewer User, id int64) (Post, error) {
	return s.act(ctx, "post unbookmarked", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		return 0, "", q.BookmarkDelete(ctx, store.BookmarkDeleteParams{UserID: viewer.ID, PostID: p.ID})
	})
}

// MaxPins is how many posts an account may pin, as on Mastodon.
const MaxPins = 5

// Pin pins viewer's own post id to their profile. Only one's own public, unlisted or
// private posts can be pinned (not boosts, not direct posts), at most MaxPins.
func (s *Service) Pin(ctx context.Context, viewer User, id int64) (Post, error) {
	return s.act(ctx, "post pinned", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		switch {
		case p.AuthorID != viewer.ID:
			return 0, "", invalid("id", "You can only pin your own posts.")
		case p.Visibility == VisibilityDirect:
			return 0, "", invalid("id", "Direct posts cannot be pinned.")
		}
		if _, err := q.UserGetForUpdate(ctx, viewer.ID); err != nil { // counts and inserts one at a time
			return 0, "", err
		}
		added, err := q.PinCreate(ctx, store.PinCreateParams{UserID: viewer.ID, PostID: p.ID})
		if err != nil || added == 0 { // pinned already: not an error
			return 0, "", err
		}
		n, err := q.PinsCount(ctx, viewer.ID)
		if err != nil {
			return 0, "", err
		}
		if n > MaxPins { // the transaction, and so this pin, is undone
			return 0, "", invalid("id", fmt.Sprintf("You can pin at most %d posts: unpin one first.", MaxPins))
		}
		ev, err := events.Append(ctx, q, events.AccountUpdated{UserID: viewer.ID}) // the profile shows its pins
		return ev, events.TopicAccountUpdated, err
	})
}

// Unpin unpins post id from viewer's profile.
func (s *Service) Unpin(ctx context.Context, viewer User, id int64) (Post, error) {
	return s.act(ctx, "post unpinned", viewer, id, func(q *store.Queries, p store.Post) (int64, string, error) {
		if err := q.PinDelete(ctx, store.PinDeleteParams{UserID: viewer.ID, PostID: p.ID}); err != nil {
			return 0, "", err
		}
		ev, err := events.Append(ctx, q, events.AccountUpdated{UserID: viewer.ID})
		return ev, events.TopicAccountUpdated, err
	})
}

// PinnedPosts returns the posts authorID pinned that viewerID may see, newest pin first.
func (s *Service) PinnedPosts(ctx context.Context, viewerID, authorID int64) ([]Post, error) {
	rows, err := s.q.PinnedOf(ctx, store.PinnedOfParams{AuthorID: authorID, ViewerID: viewerID})
	posts, err := postRows(rows, err, func(r store.PinnedOfRow) (store.Post, store.User) { return r.Post, r.User })
	if err != nil {
		return nil, fmt.Errorf("pinned posts: %w", err)
	}
	return s.complete(ctx, viewerID, posts)
}

// Thread limits: how far up a context walks, and how many replies it shows below.
const (
	MaxAncestors       = 40
	MaxDescendants     = 60
	MaxDescendantDepth = 20
)

// Thread is a post in its conversation: the posts above it, nearest last (oldest first,
// as Mastodon orders them), and the replies below it in thread order (each reply
// followed by its own replies).
type Thread struct {
	Ancestors   []Post
	Descendants []Post
}

// Context returns the thread around post id as viewerID sees it: at most MaxAncestors
// posts above and MaxDescendants replies below, down to MaxDescendantDepth levels. A post
// viewerID may not see is left out, with the replies below it.
func (s *Service) Context(ctx context.Context, viewerID, id int64) (Thread, error) {
	p, err := s.PostFor(ctx, viewerID, id)
	if err != nil {
		return Thread{}, err
	}
	p = p.Shown()
	up, err := s.q.PostAncestors(ctx, store.PostAncestorsParams{ID: p.ID, ViewerID: viewerID, RowLimit: MaxAncestors})
	ancestors, err := postRows(up, err, func(r store.PostAncestorsRow) (store.Post, store.User) { return r.Post, r.User })
	if err != nil {
		return Thread{}, fmt.Errorf("ancestors of %d: %w", id, err)
	}
	down, err := s.q.PostDescendants(ctx, store.PostDescendantsParams{ID: p.ID, ViewerID: viewerID,
		MaxDepth: MaxDescendantDepth, RowLimit: MaxDescendants})
	descendants, err := postRows(down, err, func(r store.PostDescendantsRow) (store.Post, store.User) { return r.Post, r.User })
	if err != nil {
		return Thread{}, fmt.Errorf("descendants of %d: %w", id, err)
	}
	for i, j := 0, len(ancestors)-1; i < j; i, j = i+1, j-1 {
		ancestors[i], ancestors[j] = ancestors[j], ancestors[i]
	}
	t := Thread{}
	if t.Ancestors, err = s.complete(ctx, viewerID, ancestors); err != nil {
		return Thread{}, err
	}
	if t.Descendants, err = s.complete(ctx, viewerID, threadOrder(p.ID, descendants)); err != nil {
		return Thread{}, err
	}
	return t, nil
}

// threadOrder puts replies (found level by level) in thread order below root: each reply
// followed by the replies to it, oldest first at each level.
func threadOrder(root int64, replies []Post) []Post {
	children := map[int64][]Post{}
	for _, r := range replies {
		children[r.InReplyToID] = append(children[r.InReplyToID], r)
	}
	out := make([]Post, 0, len(replies))
	var walk func(id int64)
	walk = func(id int64) { // depth is bounded by MaxDescendantDepth
		for _, c := range children[id] {
			out = append(out, c)
			walk(c.ID)
		}
	}
	walk(root)
	return out
}

// Account lists: who favourited or boosted a post.

// AccountPage is one page of accounts, newest first; Next is the Before of the following
// page (0 for none). Ids are those of the rows listed (favourites, boosts), for paging.
type AccountPage struct {
	Users []User
	IDs   []int64
	Next  int64
}

type accountRow struct {
	id   int64
	user store.User
}

func accountPage(rows []accountRow, next int64) AccountPage {
	p := AccountPage{Next: next}
	for _, r := range rows {
		p.Users = append(p.Users, userFrom(r.user))
		p.IDs = append(p.IDs, r.id)
	}
	return p
}

// FavouritedBy lists who favourited post id, which viewerID must be able to see.
func (s *Service) FavouritedBy(ctx context.Context, viewerID, id int64, page Page) (AccountPage, error) {
	p, err := s.PostFor(ctx, viewerID, id)
	if err != nil {
		return AccountPage{}, err
	}
	p = p.Shown()
	rows, next, err := keysetPage(page, func(r accountRow) int64 { return r.id },
		func(before, after int64, limit int32) ([]accountRow, error) {
			rows, err := s.q.FavouritedBy(ctx, store.FavouritedByParams{PostID: p.ID, Before: before, After: after, RowLimit: limit})
			return mapRows(rows, err, func(r store.FavouritedByRow) accountRow { return accountRow{r.FavouriteID, r.User} })
		},
		func(after, before int64, limit int32) ([]accountRow, error) {
			rows, err := s.q.FavouritedByAfter(ctx, store.FavouritedByAfterParams{PostID: p.ID, After: after, Before: before, RowLimit: limit})
			return mapRows(rows, err, func(r store.FavouritedByAfterRow) accountRow { return accountRow{r.FavouriteID, r.User} })
		})
	if err != nil {
		return AccountPage{}, fmt.Errorf("favourited by: %w", err)
	}
	return accountPage(rows, next), nil
}

// RebloggedBy lists who boosted post id (the boosts viewerID may see).
func (s *Service) RebloggedBy(ctx context.Context, viewerID, id int64, page Page) (AccountPage, error) {
	p, err := s.PostFor(ctx, viewerID, id)
	if err != nil {
		return AccountPage{}, err
	}
	p = p.Shown()
	rows, next, err := keysetPage(page, func(r accountRow) int64 { return r.id },
		func(before, after int64, limit int32) ([]accountRow, error) {
			rows, err := s.q.RebloggedBy(ctx, store.RebloggedByParams{PostID: &p.ID, ViewerID: viewerID, Before: before, After: after, RowLimit: limit})
			return mapRows(rows, err, func(r store.RebloggedByRow) accountRow { return accountRow{r.ReblogID, r.User} })
		},
		func(after, before int64, limit int32) ([]accountRow, error) {
			rows, err := s.q.RebloggedByAfter(ctx, store.RebloggedByAfterParams{PostID: &p.ID, ViewerID: viewerID, After: after, Before: before, RowLimit: limit})
			return mapRows(rows, err, func(r store.RebloggedByAfterRow) accountRow { return accountRow{r.ReblogID, r.User} })
		})
	if err != nil {
		return AccountPage{}, fmt.Errorf("reblogged by: %w", err)
	}
	return accountPage(rows, next), nil
}

// markedRow is a post listed by the id of the row that marks it (a favourite, a bookmark).
type markedRow struct {
	id   int64
	post Post
}

// markedPage pages posts listed by their marks' ids; Timeline.Next is a mark id.
func (s *Service) markedPage(ctx context.Context, what string, viewerID int64, page Page,
	older func(before, after int64, limit int32) ([]markedRow, error),
	newer func(after, before int64, limit int32) ([]markedRow, error)) (Timeline, []int64, error) {
	rows, next, err := keysetPage(page, func(r markedRow) int64 { return r.id }, older, newer)
	if err != nil {
		return Timeline{}, nil, fmt.Errorf("%s: %w", what, err)
	}
	posts := make([]Post, len(rows))
	marks := make([]int64, len(rows))
	for i, r := range rows {
		posts[i], marks[i] = r.post, r.id
	}
	if posts, err = s.complete(ctx, viewerID, posts); err != nil {
		return Timeline{}, nil, err
	}
	return Timeline{Posts: posts, Next: next}, marks, nil
}

// Favourites returns the posts viewerID favourited, newest favourite first. The page is
// keyed by favourite ids (marks holds each post's), as Mastodon's Link header is.
func (s *Service) Favourites(ctx context.Context, viewerID int64, page Page) (t Timeline, marks []int64, err error) {
	return s.markedPage(ctx, "favourites", viewerID, page,
		func(before, after int64, limit int32) ([]markedRow, error) {
			rows, err := s.q.FavouritesOf(ctx, store.FavouritesOfParams{UserID: viewerID, Before: before, After: after, RowLimit: limit})
			return mapRows(rows, err, func(r store.FavouritesOfRow) markedRow { return markedRow{r.FavouriteID, postFrom(r.Post, r.User)} })
		},
		func(after, before int64, limit int32) ([]markedRow, error) {
			rows, err := s.q.FavouritesOfAfter(ctx, store.FavouritesOfAfterParams{UserID: viewerID, After: after, Before: before, RowLimit: limit})
			return mapRows(rows, err, func(r store.FavouritesOfAfterRow) markedRow {
				return markedRow{r.FavouriteID, postFrom(r.Post, r.User)}
			})
		})
}

// Bookmarks returns the posts viewerID bookmarked, newest bookmark first, keyed by
// bookmark ids like Favourites.
func (s *Service) Bookmarks(ctx context.Context, viewerID int64, page Page) (t Timeline, marks []int64, err error) {
	return s.markedPage(ctx, "bookmarks", viewerID, page,
		func(before, after int64, limit int32) ([]markedRow, error) {
			rows, err := s.q.BookmarksOf(ctx, store.BookmarksOfParams{UserID: viewerID, Before: before, After: after, RowLimit: limit})
			return mapRows(rows, err, func(r store.BookmarksOfRow) markedRow { return markedRow{r.BookmarkID, postFrom(r.Post, r.User)} })
		},
		func(after, before int64, limit int32) ([]markedRow, error) {
			rows, err := s.q.BookmarksOfAfter(ctx, store.BookmarksOfAfterParams{UserID: viewerID, After: after, Before: before, RowLimit: limit})
			return mapRows(rows, err, func(r store.BookmarksOfAfterRow) markedRow { return markedRow{r.BookmarkID, postFrom(r.Post, r.User)} })
		})
}

// PostEdit is what an edit may change: the text, the content warning, the sensitive flag
// and the language. Visibility and the post replied to stay as they were, as on Mastodon.
type PostEdit struct {
	Body        string
	SpoilerText string
	Sensitive   bool
	Language    string
	// Visibility, when set, must be the post's own (apps send it back with every edit).
	Visibility string
	// MediaIDs, when not nil, is the post's new list of attachments: ids it has already,
	// and the author's unattached uploads. Nil keeps the attachments as they are.
	MediaIDs []int64
	// MediaAttributes change the description and focus of attachments the edited post
	// has, by media id (Mastodon's media_attributes).
	MediaAttributes map[int64]MediaInput
}

// EditPost changes post id, which must be editor's own, keeping the version it replaces
// for PostHistory. Accounts an edit newly mentions are notified once (the mentions
// consumer); accounts it no longer mentions keep seeing the post.
func (s *Service) EditPost(ctx context.Context, editor User, id int64, e PostEdit) (Post, error) {
	in := NewPost{Body: e.Body, SpoilerText: e.SpoilerText, Sensitive: e.Sensitive, Language: e.Language}
	var eventID int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		p, err := q.PostForUpdate(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if p.AuthorID != editor.ID {
			if _, err := q.PostSeenBy(ctx, store.PostSeenByParams{ID: id, ViewerID: editor.ID}); err != nil {
				return ErrNotFound
			}
			return ErrForbidden
		}
		if p.ReblogOfID != nil {
			return invalid("id", "A boost has no text to edit.")
		}
		if e.Visibility != "" && e.Visibility != p.Visibility {
			return invalid("visibility", fmt.Sprintf("An edit cannot change who may see a post (it is %s).", p.Visibility))
		}
		// The edit is checked once the editor is known to be the author: nobody else learns
		// anything from the answer.
		if err := in.check(); err != nil {
			return err
		}
		mediaIDs, err := s.editMedia(ctx, q, editor.ID, id, e)
		if err != nil {
			return err
		}
		body, err := postBody(in.Body, in.SpoilerText, len(mediaIDs) > 0)
		if err != nil {
			return err
		}
		if err := q.PostEditSave(ctx, id); err != nil {
			return err
		}
		edited, err := q.PostEdit(ctx, store.PostEditParams{ID: id, Body: body, SpoilerText: in.SpoilerText,
			Sensitive: in.Sensitive, Language: nonEmpty(in.Language)})
		if err != nil {
			return err
		}
		if hasAudience(edited.Visibility) {
			if err := s.mentionAudience(ctx, q, edited); err != nil {
				return err
			}
		}
		eventID, err = events.Append(ctx, q, events.PostUpdated{PostID: id, AuthorID: editor.ID})
		return err
	})
	if err != nil {
		var v *ValidationError
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) || errors.As(err, &v) {
			return Post{}, err
		}
		return Post{}, fmt.Errorf("edit post %d: %w", id, err)
	}
	s.woke(events.TopicPostUpdated, eventID)
	s.log.InfoContext(ctx, "post edited", "post_id", id)
	return s.PostFor(ctx, editor.ID, id)
}

// editMedia applies e's attachments to post id in the edit's transaction and answers
// the post's attachments after it.
func (s *Service) editMedia(ctx context.Context, q *store.Queries, authorID, id int64, e PostEdit) ([]int64, error) {
	ids, err := q.MediaIDsOfPost(ctx, &id)
	if err != nil {
		return nil, err
	}
	if e.MediaIDs != nil {
		problems := map[string]string{}
		if checkMediaIDs(e.MediaIDs, problems); len(problems) > 0 {
			return nil, &ValidationError{Fields: problems}
		}
		if err := q.MediaDetach(ctx, &id); err != nil {
			return nil, err
		}
		if err := attachMedia(ctx, q, authorID, id, e.MediaIDs); err != nil {
			return nil, err
		}
		ids = e.MediaIDs
	}
	for mid, in := range e.MediaAttributes {
		fx, fy, err := in.check()
		if err != nil {
			return nil, renameAll(err, "media_attributes")
		}
		n, err := q.MediaDescribeAttached(ctx, store.MediaDescribeAttachedParams{ID: mid, PostID: &id,
			Description: in.Description, FocusX: float32(fx), FocusY: float32(fy),
			KeepDescription: in.KeepDescription, KeepFocus: in.KeepFocus})
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, invalid("media_attributes", fmt.Sprintf("Media %d is not an attachment of this post.", mid))
		}
	}
	return ids, nil
}

// renameAll reports a ValidationError's problems under one field, keeping the messages.
func renameAll(err error, field string) error {
	var v *ValidationError
	if !errors.As(err, &v) {
		return err
	}
	msgs := make([]string, 0, len(v.Fields))
	for k, m := range v.Fields {
		msgs = append(msgs, k+" "+m)
	}
	return invalid(field, strings.Join(msgs, "; "))
}

// PostVersion is one version of a post, for its history.
type PostVersion struct {
	Body        string
	SpoilerText string
	Sensitive   bool
	Language    string
	CreatedAt   time.Time
}

// PostHistory returns every version of post id that viewerID may see, oldest first, the
// current one last. A post never edited has one version.
func (s *Service) PostHistory(ctx context.Context, viewerID, id int64) (Post, []PostVersion, error) {
	p, err := s.PostFor(ctx, viewerID, id)
	if err != nil {
		return Post{}, nil, err
	}
	rows, err := s.q.PostEdits(ctx, p.ID)
	if err != nil {
		return Post{}, nil, fmt.Errorf("history of post %d: %w", id, err)
	}
	out := make([]PostVersion, 0, len(rows)+1)
	for _, r := range rows {
		v := PostVersion{Body: r.Body, SpoilerText: r.SpoilerText, Sensitive: r.Sensitive, CreatedAt: r.CreatedAt}
		if r.Language != nil {
			v.Language = *r.Language
		}
		out = append(out, v)
	}
	current := PostVersion{Body: p.Body, SpoilerText: p.SpoilerText, Sensitive: p.Sensitive, Language: p.Language, CreatedAt: p.CreatedAt}
	if p.EditedAt != nil {
		current.CreatedAt = *p.EditedAt
	}
	return p, append(out, current), nil
}
