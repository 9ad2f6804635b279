package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/starling-social/starling/internal/core"
)

// SearchResults is Mastodon's Search entity.
type SearchResults struct {
	Accounts []Account `json:"accounts"`
	Statuses []Status  `json:"statuses"`
	Hashtags []Tag     `json:"hashtags"`
}

// The search types of /api/v2/search.
var searchTypes = []string{"accounts", "hashtags", "statuses"}

// search answers GET /api/v2/search: q with type, resolve, following, account_id,
// exclude_unreviewed, max_id, min_id, limit and offset, as Mastodon documents them. A URL
// of this server's account or post is looked up (resolve is otherwise a no-op: Starling
// does not federate); every tag here counts as reviewed, so exclude_unreviewed changes
// nothing.
func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	p, f, ok := s.listQuery(w, r)
	if !ok {
		return
	}
	q := f.String("q")
	kind := f.String("type")
	if kind != "" && !slices.Contains(searchTypes, kind) {
		f.Fail("type", "is one of accounts, hashtags, statuses")
	}
	f.Bool("resolve")
	f.Bool("exclude_unreviewed")
	following := f.Bool("following")
	accountID := f.ID("account_id")
	offset := int(f.Int("offset"))
	if offset < 0 {
		f.Fail("offset", "must not be negative")
	}
	parsed, err := core.ParseSearch("q", q)
	var verr *core.ValidationError
	if errors.As(err, &verr) {
		f.Fail("q", verr.Fields["q"])
	}
	if !s.checkFields(w, f) {
		return
	}
	ctx, viewer := r.Context(), viewerID(r)
	out := SearchResults{Accounts: []Account{}, Statuses: []Status{}, Hashtags: []Tag{}}
	want := func(k string) bool { return kind == "" || kind == k }
	if u, post, found := s.resolveLocal(r, q); found {
		if u != nil && want("accounts") {
			if out.Accounts, err = s.accounts(ctx, []core.User{*u}); err != nil {
				s.answerError(w, r, err)
				return
			}
		}
		if post != nil && want("statuses") {
			if out.Statuses, err = s.statuses(ctx, []core.Post{*post}); err != nil {
				s.answerError(w, r, err)
				return
			}
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if want("accounts") && !parsed.HasOperators() {
		users, err := s.searchAccounts(r, q, following, p.Limit, offset)
		if err == nil {
			out.Accounts, err = s.accounts(ctx, users)
		}
		if err != nil {
			s.answerError(w, r, err)
			return
		}
	}
	if want("hashtags") && !parsed.HasOperators() {
		ts, err := s.core.SearchTags(ctx, viewer, q, p.Limit, offset)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		out.Hashtags = s.tags(r, ts)
	}
	if want("statuses") {
		posts, err := s.core.SearchPosts(ctx, viewer, core.PostSearch{Query: parsed, AccountID: accountID,
			Before: p.Before, After: p.After, Limit: p.Limit, Offset: offset})
		if err == nil {
			out.Statuses, err = s.statuses(ctx, posts)
		}
		if err != nil {
			s.answerError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// searchAccounts searches accounts for q, an account of another server ("name@host")
// finding nothing, since Starling does not federate.
func (s *Server) searchAccounts(r *http.Request, q string, following bool, limit, offset int) ([]core.User, error) {
	name, domain, withDomain := strings.Cut(strings.TrimPrefix(strings.TrimSpace(q), "@"), "@")
	if withDomain && !strings.EqualFold(domain, s.host()) {
		return nil, nil
	}
	return s.core.SearchAccounts(r.Context(), viewerID(r), core.AccountSearch{Query: name, Following: following,
		Limit: limit, Offset: offset})
}

// resolveLocal looks q up when it is the URL of an account (/@name) or a post (/posts/id,
// /@name/id) of this server, as apps search for a pasted link. found is false when q is
// no such URL; a URL of a missing or hidden post finds nothing.
func (s *Server) resolveLocal(r *http.Request, q string) (u *core.User, p *core.Post, found bool) {
	q = strings.TrimSpace(q)
	if !strings.HasPrefix(q, "https://") && !strings.HasPrefix(q, "http://") {
		return nil, nil, false
	}
	parsed, err := url.Parse(q)
	if err != nil || !strings.EqualFold(parsed.Host, s.host()) {
		return nil, nil, false
	}
	parts := strings.Split(strings.Trim(parsed.Path, "/"), "/")
	postID := func(raw string) {
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return
		}
		if post, err := s.core.PostFor(r.Context(), viewerID(r), n); err == nil {
			p = &post
		}
	}
	switch {
	case len(parts) == 2 && parts[0] == "posts":
		postID(parts[1])
	case len(parts) == 1 && strings.HasPrefix(parts[0], "@"):
		if user, err := s.core.UserByUsername(r.Context(), parts[0][1:]); err == nil {
			u = &user
		}
	case len(parts) == 2 && strings.HasPrefix(parts[0], "@"):
		postID(parts[1])
	}
	return u, p, true
}

// accountsSearch answers GET /api/v1/accounts/search: q, limit (default 40, at most 80),
// offset, resolve (a no-op: Starling does not federate) and following.
func (s *Server) accountsSearch(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	q := f.String("q")
	limit, offset := int(f.Int("limit")), int(f.Int("offset"))
	switch {
	case f.Has("limit") && (limit < 1 || limit > 80):
		f.Fail("limit", "is from 1 to 80")
	case limit == 0:
		limit = 40
	}
	if offset < 0 {
		f.Fail("offset", "must not be negative")
	}
	f.Bool("resolve")
	following := f.Bool("following")
	if !s.checkFields(w, f) {
		return
	}
	users, err := s.searchAccounts(r, q, following, limit, offset)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	accts, err := s.accounts(r.Context(), users)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, accts)
}
