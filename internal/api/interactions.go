package api

import (
	"context"
	"net/http"

	"github.com/starling-social/starling/internal/core"
)

// Favourites, boosts, bookmarks, pins, edits and threads of a status (Mastodon's
// /api/v1/statuses/:id/… actions and the lists that go with them).

// statusAction answers POST /api/v1/statuses/:id/ACTION: no fields, then act on the post
// the path names, answering the status as the caller now sees it.
func (s *Server) statusAction(act func(ctx context.Context, u core.User, id int64) (core.Post, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.noFields(w, r) {
			return
		}
		n, ok := s.pathRecord(w, r)
		if !ok {
			return
		}
		p, err := act(r.Context(), *callerOf(r).user, n)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		s.writeStatus(w, r, p, false)
	}
}

func (s *Server) statusFavourite(w http.ResponseWriter, r *http.Request) {
	s.statusAction(s.core.Favourite)(w, r)
}

func (s *Server) statusUnfavourite(w http.ResponseWriter, r *http.Request) {
	s.statusAction(s.core.Unfavourite)(w, r)
}

func (s *Server) statusUnreblog(w http.ResponseWriter, r *http.Request) {
	s.statusAction(s.core.Unreblog)(w, r)
}

func (s *Server) statusBookmark(w http.ResponseWriter, r *http.Request) {
	s.statusAction(s.core.Bookmark)(w, r)
}

func (s *Server) statusUnbookmark(w http.ResponseWriter, r *http.Request) {
	s.statusAction(s.core.Unbookmark)(w, r)
}

func (s *Server) statusPin(w http.ResponseWriter, r *http.Request) { s.statusAction(s.core.Pin)(w, r) }

func (s *Server) statusUnpin(w http.ResponseWriter, r *http.Request) {
	s.statusAction(s.core.Unpin)(w, r)
}

// statusReblog boosts a status, with the visibility the request may carry, and answers
// the boost (its reblog holds the boosted status).
func (s *Server) statusReblog(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	visibility := f.String("visibility")
	if !s.checkFields(w, f) {
		return
	}
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	p, err := s.core.Reblog(r.Context(), *c.user, n, visibility, c.grant.AppID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.writeStatus(w, r, p, false)
}

// statusEdit answers PUT /api/v1/statuses/:id: the new text, content warning, sensitive
// flag, language, attachments (media_ids) and their descriptions (media_attributes).
// Polls do not exist here, so asking for one is refused.
func (s *Server) statusEdit(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	e := core.PostEdit{Body: f.String("status"), SpoilerText: f.String("spoiler_text"), Sensitive: f.Bool("sensitive"),
		Language: f.String("language"), Visibility: f.String("visibility")}
	plainText(f)
	if f.Time("scheduled_at") != nil {
		f.Fail("scheduled_at", "a post that exists cannot be scheduled")
	}
	if f.Has("media_ids") {
		e.MediaIDs = f.IDs("media_ids", maxListItems)
		if e.MediaIDs == nil {
			e.MediaIDs = []int64{} // an empty list takes every attachment off
		}
	}
	for _, a := range f.Objects("media_attributes", core.MaxMediaPerPost) {
		if e.MediaAttributes == nil {
			e.MediaAttributes = map[int64]core.MediaInput{}
		}
		mid := a.ID("id")
		if mid == 0 {
			a.Fail("id", "is required: the id of one of the post's attachments")
		}
		e.MediaAttributes[mid] = mediaInput(a)
	}
	if f.Object("poll") != nil {
		f.Fail("poll", "polls are not supported by this server yet")
	}
	if !s.checkFields(w, f) {
		return
	}
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	p, err := s.core.EditPost(r.Context(), *callerOf(r).user, n, e)
	if err != nil {
		s.answerError(w, r, renameFields(err, map[string]string{"body": "status"}))
		return
	}
	s.writeStatus(w, r, p, false)
}

// StatusSource is Mastodon's StatusSource entity: what an edit form starts from.
type StatusSource struct {
	ID          string `json:"id"`
	Text        string `json:"text"`
	SpoilerText string `json:"spoiler_text"`
}

func (s *Server) statusSource(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pathPost(w, r)
	if !ok {
		return
	}
	p = p.Shown()
	writeJSON(w, http.StatusOK, StatusSource{ID: id(p.ID), Text: p.Body, SpoilerText: p.SpoilerText})
}

// StatusEdit is Mastodon's StatusEdit entity: one version of a status.
type StatusEdit struct {
	Content          string  `json:"content"`
	SpoilerText      string  `json:"spoiler_text"`
	Sensitive        bool    `json:"sensitive"`
	CreatedAt        string  `json:"created_at"`
	Account          Account `json:"account"`
	Poll             any     `json:"poll"`
	MediaAttachments []any   `json:"media_attachments"`
	Emojis           []any   `json:"emojis"`
}

func (s *Server) statusHistory(w http.ResponseWriter, r *http.Request) {
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	p, versions, err := s.core.PostHistory(r.Context(), viewerID(r), n)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	accts, err := s.accounts(r.Context(), []core.User{p.Author})
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out := make([]StatusEdit, len(versions))
	for i, v := range versions {
		version := p // each version is rendered as the post was, with today's mentions
		version.Body = v.Body
		out[i] = StatusEdit{Content: "<p>" + string(version.RenderBody(s.base)) + "</p>", SpoilerText: v.SpoilerText,
			Sensitive: v.Sensitive, CreatedAt: timestamp(v.CreatedAt), Account: accts[0], MediaAttachments: []any{}, Emojis: []any{}}
	}
	writeJSON(w, http.StatusOK, out)
}

// statusContext answers the thread around a status: its ancestors and descendants that
// the caller may see, bounded (core.MaxAncestors, core.MaxDescendants).
func (s *Server) statusContext(w http.ResponseWriter, r *http.Request) {
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	t, err := s.core.Context(r.Context(), viewerID(r), n)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	up, err := s.statuses(r.Context(), t.Ancestors)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	down, err := s.statuses(r.Context(), t.Descendants)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string][]Status{"ancestors": up, "descendants": down})
}

// statusAccounts answers who favourited or boosted a status, paged by Link headers.
func (s *Server) statusAccounts(list func(ctx context.Context, viewerID, id int64, p core.Page) (core.AccountPage, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, f, ok := s.listQuery(w, r)
		if !ok || !s.checkFields(w, f) {
			return
		}
		n, ok := s.pathRecord(w, r)
		if !ok {
			return
		}
		page, err := list(r.Context(), viewerID(r), n, p)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		accts, err := s.accounts(r.Context(), page.Users)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		if len(page.IDs) > 0 {
			s.setLink(w, r, page.IDs[0], page.IDs[len(page.IDs)-1])
		}
		writeJSON(w, http.StatusOK, accts)
	}
}

func (s *Server) statusFavouritedBy(w http.ResponseWriter, r *http.Request) {
	s.statusAccounts(s.core.FavouritedBy)(w, r)
}

func (s *Server) statusRebloggedBy(w http.ResponseWriter, r *http.Request) {
	s.statusAccounts(s.core.RebloggedBy)(w, r)
}

// markedList answers the caller's favourites or bookmarks, newest first, paged by the
// ids of the favourites or bookmarks (Link headers), as Mastodon pages them.
func (s *Server) markedList(list func(ctx context.Context, viewerID int64, p core.Page) (core.Timeline, []int64, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, f, ok := s.listQuery(w, r)
		if !ok || !s.checkFields(w, f) {
			return
		}
		t, marks, err := list(r.Context(), viewerID(r), p)
		s.writePosts(w, r, t.Posts, marks, err)
	}
}

func (s *Server) favourites(w http.ResponseWriter, r *http.Request) {
	s.markedList(s.core.Favourites)(w, r)
}

func (s *Server) bookmarks(w http.ResponseWriter, r *http.Request) {
	s.markedList(s.core.Bookmarks)(w, r)
}

// Conversation is Mastodon's Conversation entity: a direct conversation of the caller.
type Conversation struct {
	ID         string    `json:"id"`
	Unread     bool      `json:"unread"`
	Accounts   []Account `json:"accounts"`
	LastStatus *Status   `json:"last_status"`
}

// conversations builds the entities of cs with one round of queries.
func (s *Server) conversations(ctx context.Context, cs []core.Conversation) ([]Conversation, error) {
	posts := make([]core.Post, len(cs))
	for i, c := range cs {
		posts[i] = c.LastPost
	}
	sts, err := s.statuses(ctx, posts)
	if err != nil {
		return nil, err
	}
	out := make([]Conversation, len(cs))
	for i, c := range cs {
		accts, err := s.accounts(ctx, c.Participants)
		if err != nil {
			return nil, err
		}
		if accts == nil {
			accts = []Account{}
		}
		out[i] = Conversation{ID: id(c.ID), Unread: c.Unread, Accounts: accts, LastStatus: &sts[i]}
	}
	return out, nil
}

func (s *Server) conversationList(w http.ResponseWriter, r *http.Request) {
	p, f, ok := s.listQuery(w, r)
	if !ok || !s.checkFields(w, f) {
		return
	}
	page, err := s.core.Conversations(r.Context(), viewerID(r), p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out, err := s.conversations(r.Context(), page.Items)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if n := len(page.Items); n > 0 {
		s.setLink(w, r, page.Items[0].LastPost.ID, page.Items[n-1].LastPost.ID)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) conversationRead(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	c, err := s.core.MarkConversationRead(r.Context(), viewerID(r), n)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out, err := s.conversations(r.Context(), []core.Conversation{c})
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out[0])
}

func (s *Server) conversationDelete(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	if err := s.core.DeleteConversation(r.Context(), viewerID(r), n); err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
