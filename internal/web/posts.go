package web

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/problem"
)

func (s *Server) postCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := newForm()
	f.Values["body"] = r.PostForm.Get("body")
	_, _, err := s.core.CreatePostOnce(r.Context(), *currentUser(r), f.Values["body"], "")
	if p := problem.Of(err); p.Kind == problem.Invalid {
		f.Errors = p.Fields
		s.render(w, r, p.Status, "compose", view{Title: "New post", Form: f})
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Posted.")
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func postID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

func (s *Server) postShow(w http.ResponseWriter, r *http.Request) {
	p, err := s.core.PostFor(r.Context(), viewerOf(r), postID(r))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "post", view{Post: &p})
}

func (s *Server) postDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.core.DeletePost(r.Context(), *currentUser(r), postID(r)); err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Post deleted.")
	http.Redirect(w, r, "/@"+currentUser(r).Username, http.StatusSeeOther)
}
