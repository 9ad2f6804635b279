package api

import (
	"context"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
)

// Mastodon entities, with every documented field present. Features Starling does not have
// carry their documented empty values (empty lists, null, false, zero).

// Account is Mastodon's Account entity.
type Account struct {
	ID             string    `json:"id"`
	Username       string    `json:"username"`
	Acct           string    `json:"acct"`
	DisplayName    string    `json:"display_name"`
	Locked         bool      `json:"locked"`
	Bot            bool      `json:"bot"`
	Discoverable   bool      `json:"discoverable"`
	Indexable      bool      `json:"indexable"`
	Group          bool      `json:"group"`
	CreatedAt      string    `json:"created_at"`
	Note           string    `json:"note"`
	URL            string    `json:"url"`
	URI            string    `json:"uri"`
	Avatar         string    `json:"avatar"`
	AvatarStatic   string    `json:"avatar_static"`
	Header         string    `json:"header"`
	HeaderStatic   string    `json:"header_static"`
	FollowersCount int64     `json:"followers_count"`
	FollowingCount int64     `json:"following_count"`
	StatusesCount  int64     `json:"statuses_count"`
	LastStatusAt   *string   `json:"last_status_at"`
	HideCollection bool      `json:"hide_collections"`
	Noindex        bool      `json:"noindex"`
	Emojis         []any     `json:"emojis"`
	Roles          []any     `json:"roles"`
	Fields         []Field   `json:"fields"`
	Source         *Source   `json:"source,omitempty"`
	Role           *struct{} `json:"-"`
}

// Source is the extra part of verify_credentials.
type Source struct {
	Privacy             string        `json:"privacy"`
	Sensitive           bool          `json:"sensitive"`
	Language            string        `json:"language"`
	Note                string        `json:"note"`
	Fields              []SourceField `json:"fields"`
	FollowRequestsCount int           `json:"follow_requests_count"`
}

// Mention is a mentioned account inside a Status.
type Mention struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	URL      string `json:"url"`
	Acct     string `json:"acct"`
}

// Application is the app a status was posted with.
type Application struct {
	Name    string  `json:"name"`
	Website *string `json:"website"`
}

// Status is Mastodon's Status entity.
type Status struct {
	ID                 string            `json:"id"`
	URI                string            `json:"uri"`
	URL                string            `json:"url"`
	CreatedAt          string            `json:"created_at"`
	EditedAt           *string           `json:"edited_at"`
	Account            Account           `json:"account"`
	Content            string            `json:"content"`
	Text               *string           `json:"text,omitempty"`
	Visibility         string            `json:"visibility"`
	Sensitive          bool              `json:"sensitive"`
	SpoilerText        string            `json:"spoiler_text"`
	MediaAttachments   []MediaAttachment `json:"media_attachments"`
	Application        *Application      `json:"application"`
	Mentions           []Mention         `json:"mentions"`
	Tags               []StatusTag       `json:"tags"`
	Emojis             []any             `json:"emojis"`
	ReblogsCount       int               `json:"reblogs_count"`
	FavouritesCount    int               `json:"favourites_count"`
	RepliesCount       int               `json:"replies_count"`
	InReplyToID        *string           `json:"in_reply_to_id"`
	InReplyToAccountID *string           `json:"in_reply_to_account_id"`
	Reblog             *Status           `json:"reblog"`
	Poll               any               `json:"poll"`
	Card               any               `json:"card"`
	Language           *string           `json:"language"`
	Favourited         bool              `json:"favourited"`
	Reblogged          bool              `json:"reblogged"`
	Muted              bool              `json:"muted"`
	Bookmarked         bool              `json:"bookmarked"`
	Pinned             bool              `json:"pinned"`
	Filtered           []any             `json:"filtered"`
}

// StatusTag is a hashtag of a status: Mastodon's Status::Tag.
type StatusTag struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Notification is Mastodon's Notification entity.
type Notification struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	CreatedAt string  `json:"created_at"`
	GroupKey  string  `json:"group_key"`
	Account   Account `json:"account"`
	Status    *Status `json:"status"`
}

// Relationship is Mastodon's Relationship entity.
type Relationship struct {
	ID                  string   `json:"id"`
	Following           bool     `json:"following"`
	ShowingReblogs      bool     `json:"showing_reblogs"`
	Notifying           bool     `json:"notifying"`
	Languages           []string `json:"languages"`
	FollowedBy          bool     `json:"followed_by"`
	Blocking            bool     `json:"blocking"`
	BlockedBy           bool     `json:"blocked_by"`
	Muting              bool     `json:"muting"`
	MutingNotifications bool     `json:"muting_notifications"`
	Requested           bool     `json:"requested"`
	RequestedBy         bool     `json:"requested_by"`
	DomainBlocking      bool     `json:"domain_blocking"`
	Endorsed            bool     `json:"endorsed"`
	Note                string   `json:"note"`
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// timestamp formats t as Mastodon does: UTC with milliseconds.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) account(u core.User, c core.AccountCounts) Account {
	profile := s.base + "/@" + u.Username
	avatarPath, headerPath := s.core.PicturePaths(u)
	picture := s.base + avatarPath
	header := s.base + "/static/header.png"
	if headerPath != "" {
		header = s.base + headerPath
	}
	a := Account{
		ID: id(u.ID), Username: u.Username, Acct: u.Username, DisplayName: u.DisplayName,
		Bot: u.Bot, Discoverable: u.Discoverable, Indexable: true, Locked: u.Locked,
		CreatedAt: timestamp(u.CreatedAt.UTC().Truncate(24 * time.Hour)),
		Note:      noteHTML(u.Bio), URL: profile, URI: profile,
		Avatar: picture, AvatarStatic: picture, Header: header, HeaderStatic: header,
		FollowersCount: c.Followers, FollowingCount: c.Following, StatusesCount: c.Posts,
		Emojis: []any{}, Roles: []any{}, Fields: profileFields(u),
	}
	if c.LastPostAt != nil {
		d := c.LastPostAt.UTC().Format("2006-01-02")
		a.LastStatusAt = &d
	}
	return a
}

func noteHTML(bio string) string {
	if bio == "" {
		return ""
	}
	return "<p>" + strings.ReplaceAll(html.EscapeString(bio), "\n", "<br>") + "</p>"
}

// accounts builds accounts for users, with their counts in one query.
func (s *Server) accounts(ctx context.Context, users []core.User) ([]Account, error) {
	ids := make([]int64, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	counts, err := s.core.CountsOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Account, len(users))
	for i, u := range users {
		out[i] = s.account(u, counts[u.ID])
	}
	return out, nil
}

// statuses builds statuses for posts (a boost with its boosted post inside), with all
// their authors' counts in one query.
func (s *Server) statuses(ctx context.Context, posts []core.Post) ([]Status, error) {
	seen := map[int64]bool{}
	var authors []core.User
	addAuthor := func(u core.User) {
		if !seen[u.ID] {
			seen[u.ID] = true
			authors = append(authors, u)
		}
	}
	for _, p := range posts {
		addAuthor(p.Author)
		if p.ReblogOf != nil {
			addAuthor(p.ReblogOf.Author)
		}
	}
	byID := map[int64]Account{}
	if len(posts) == 1 && posts[0].AuthorCounts != nil && posts[0].ReblogOf == nil {
		// A post just written: its author's counts came with it.
		byID[posts[0].Author.ID] = s.account(posts[0].Author, *posts[0].AuthorCounts)
	} else {
		accts, err := s.accounts(ctx, authors)
		if err != nil {
			return nil, err
		}
		for i, u := range authors {
			byID[u.ID] = accts[i]
		}
	}
	out := make([]Status, len(posts))
	for i, p := range posts {
		out[i] = s.status(p, byID)
	}
	return out, nil
}

// status is the Status entity of p, its authors' accounts taken from accounts.
func (s *Server) status(p core.Post, accounts map[int64]Account) Status {
	u := s.base + "/posts/" + id(p.ID)
	st := Status{
		ID: id(p.ID), URI: u, URL: u, CreatedAt: timestamp(p.CreatedAt), Account: accounts[p.Author.ID],
		Visibility: p.Visibility, MediaAttachments: s.attachments(p.Media), Mentions: []Mention{}, Tags: []StatusTag{},
		Emojis: []any{}, Filtered: []any{},
	}
	if p.ReblogOf != nil {
		// A boost: Mastodon leaves the wrapper's content empty and puts the post inside;
		// the wrapper's counts and flags are the boosted post's.
		inner := s.status(*p.ReblogOf, accounts)
		st.Reblog = &inner
		st.Content, st.SpoilerText, st.Sensitive = "", "", false
		st.ReblogsCount, st.FavouritesCount, st.RepliesCount = inner.ReblogsCount, inner.FavouritesCount, inner.RepliesCount
		st.Favourited, st.Reblogged, st.Bookmarked, st.Pinned = inner.Favourited, inner.Reblogged, inner.Bookmarked, false
		if p.App != nil {
			st.Application = &Application{Name: p.App.Name, Website: nullable(p.App.Website)}
		}
		return st
	}
	st.Content = "<p>" + string(p.RenderBody(s.base)) + "</p>"
	st.SpoilerText, st.Sensitive = p.SpoilerText, p.Sensitive
	st.Language = nullable(p.Language)
	if p.EditedAt != nil {
		t := timestamp(*p.EditedAt)
		st.EditedAt = &t
	}
	if p.InReplyToID != 0 {
		r, a := id(p.InReplyToID), id(p.InReplyToAccountID)
		st.InReplyToID, st.InReplyToAccountID = &r, &a
	}
	st.RepliesCount, st.FavouritesCount, st.ReblogsCount = int(p.Counts.Replies), int(p.Counts.Favourites), int(p.Counts.Reblogs)
	st.Favourited, st.Reblogged, st.Bookmarked, st.Pinned = p.Viewer.Favourited, p.Viewer.Reblogged, p.Viewer.Bookmarked, p.Viewer.Pinned
	if p.App != nil {
		st.Application = &Application{Name: p.App.Name, Website: nullable(p.App.Website)}
	}
	for _, name := range p.LinkedMentions() {
		st.Mentions = append(st.Mentions, Mention{ID: id(p.Mentioned[name]), Username: name, Acct: name, URL: s.base + "/@" + name})
	}
	for _, t := range p.PostTags() {
		st.Tags = append(st.Tags, StatusTag{Name: t.Name, URL: s.tagURL(t.Key)})
	}
	return st
}

func (s *Server) notification(ctx context.Context, n core.Notification) (Notification, error) {
	out, err := s.notificationList(ctx, []core.Notification{n})
	if err != nil {
		return Notification{}, err
	}
	return out[0], nil
}

// notificationList builds the entities of ns with one round of queries for all of them
// (their posts' authors, counts, mentions and apps), whatever their number.
func (s *Server) notificationList(ctx context.Context, ns []core.Notification) ([]Notification, error) {
	var posts []core.Post
	var actors []core.User
	for _, n := range ns {
		actors = append(actors, n.Actor)
		if n.Post != nil {
			posts = append(posts, *n.Post)
		}
	}
	sts, err := s.statuses(ctx, posts)
	if err != nil {
		return nil, err
	}
	accts, err := s.accounts(ctx, actors)
	if err != nil {
		return nil, err
	}
	out := make([]Notification, len(ns))
	next := 0
	for i, n := range ns {
		out[i] = Notification{
			ID: id(n.ID), Type: n.Kind, CreatedAt: timestamp(n.CreatedAt), GroupKey: "ungrouped-" + id(n.ID),
			Account: accts[i],
		}
		if n.Post != nil {
			out[i].Status = &sts[next]
			next++
		}
	}
	return out, nil
}
