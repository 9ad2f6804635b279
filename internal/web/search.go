package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/problem"
)

// searchView is what the search page shows: the query, its problem if it has one, and
// the accounts, tags and posts found, with each post's matching passage.
type searchView struct {
	Query      string
	Problem    string
	Accounts   []core.User
	Tags       []core.Tag
	Posts      []core.Post
	Highlights map[int64]template.HTML
	// Searched is false before anything was asked.
	Searched bool
}

// searchPage serves /search?q=…: accounts and tags (when the query has no operators) and
// posts, the posts with their matching passages highlighted.
func (s *Server) searchPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	v := view{Title: "Search", Search: &searchView{Query: q}}
	if q == "" {
		trending, err := s.core.TrendingTags(r.Context(), viewerOf(r), 10, 0)
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		v.Search.Tags = trending
		s.render(w, r, http.StatusOK, "search", v)
		return
	}
	v.Search.Searched = true
	refuse := func(err error) bool {
		if p := problem.Of(err); p.Kind == problem.Invalid {
			for _, msg := range p.Fields {
				v.Search.Problem = msg
			}
			s.render(w, r, http.StatusUnprocessableEntity, "search", v)
			return true
		}
		if err != nil {
			s.answerError(w, r, err)
			return true
		}
		return false
	}
	parsed, err := core.ParseSearch("q", q)
	if refuse(err) {
		return
	}
	ctx, viewer := r.Context(), viewerOf(r)
	if !parsed.HasOperators() {
		if v.Search.Accounts, err = s.core.SearchAccounts(ctx, viewer, core.AccountSearch{Query: q, Limit: 5}); refuse(err) {
			return
		}
		if v.Search.Tags, err = s.core.SearchTags(ctx, viewer, q, 5, 0); refuse(err) {
			return
		}
	}
	if v.Search.Posts, err = s.core.SearchPosts(ctx, viewer, core.PostSearch{Query: parsed, Limit: core.MaxPageSize}); refuse(err) {
		return
	}
	ids := make([]int64, len(v.Search.Posts))
	for i, p := range v.Search.Posts {
		ids[i] = p.ID
	}
	if v.Search.Highlights, err = s.core.Highlights(ctx, parsed.Words, ids); refuse(err) {
		return
	}
	v.Title = "Search: " + q
	s.render(w, r, http.StatusOK, "search", v)
}

// tagPage serves /tags/NAME: the tag's listed posts, newest first, live on its first
// page, with follow and feature buttons for a logged-in reader.
func (s *Server) tagPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	ctx, viewer := r.Context(), viewerOf(r)
	tag, err := s.core.TagNamed(ctx, viewer, mux.Vars(r)["tag"])
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	t, err := s.core.TagTimeline(ctx, viewer, core.TagFilter{Tag: tag.Key}, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	path := "/tags/" + url.PathEscape(tag.Key)
	s.render(w, r, http.StatusOK, "tag", view{Title: "#" + tag.Name, Tag: &tag, Timeline: t,
		Next: nextURL(path, t), Stream: s.liveStream(p, "tag:"+tag.Key)})
}

// tagAction is a form on a tag page (follow, unfollow, feature, unfeature): it acts and
// returns to the tag's page.
func (s *Server) tagAction(act func(s *Server, r *http.Request, u core.User, name string) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := mux.Vars(r)["tag"]
		msg, err := act(s, r, *currentUser(r), name)
		if p := problem.Of(err); p.Kind == problem.Invalid {
			for _, m := range p.Fields {
				s.clientError(w, r, p.Status, "Cannot do that", m)
			}
			return
		}
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		s.sessions.Put(r.Context(), "flash", msg)
		http.Redirect(w, r, "/tags/"+url.PathEscape(name), http.StatusSeeOther)
	}
}

func followTag(s *Server, r *http.Request, u core.User, name string) (string, error) {
	t, err := s.core.FollowTag(r.Context(), u, name)
	return fmt.Sprintf("You follow #%s now: its posts join your home timeline.", t.Name), err
}

func unfollowTag(s *Server, r *http.Request, u core.User, name string) (string, error) {
	t, err := s.core.UnfollowTag(r.Context(), u, name)
	return fmt.Sprintf("You no longer follow #%s.", t.Name), err
}

func featureTag(s *Server, r *http.Request, u core.User, name string) (string, error) {
	f, err := s.core.FeatureTag(r.Context(), u, name)
	return fmt.Sprintf("#%s is on your profile now.", f.Tag.Name), err
}

func unfeatureTag(s *Server, r *http.Request, u core.User, name string) (string, error) {
	fs, err := s.core.FeaturedTags(r.Context(), u.ID)
	if err != nil {
		return "", err
	}
	t, err := s.core.TagNamed(r.Context(), u.ID, name)
	if err != nil {
		return "", err
	}
	for _, f := range fs {
		if f.Tag.ID == t.ID {
			return fmt.Sprintf("#%s is off your profile.", t.Name), s.core.UnfeatureTag(r.Context(), u, f.ID)
		}
	}
	return fmt.Sprintf("#%s was not on your profile.", t.Name), nil
}

// directory serves /directory: every account, the newest first.
func (s *Server) directory(w http.ResponseWriter, r *http.Request) {
	p, ok := s.page(w, r)
	if !ok {
		return
	}
	p.Limit = core.MaxPageSize
	users, next, err := s.core.Directory(r.Context(), p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	v := view{Title: "People", Accounts: users}
	if next != 0 {
		v.Next = fmt.Sprintf("/directory?before=%d", next)
	}
	s.render(w, r, http.StatusOK, "directory", v)
}
