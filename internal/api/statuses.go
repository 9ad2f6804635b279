package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
)

func (s *Server) statusCreate(w http.ResponseWriter, r *http.Request) {
	c := callerOf(r)
	if s.posts != nil {
		now := time.Now()
		if ok, _, reset := s.posts.Allow(strconv.FormatInt(c.user.ID, 10), now); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(reset.Sub(now).Seconds())+1))
			writeError(w, http.StatusTooManyRequests, "Too many posts; wait a little and try again")
			return
		}
	}
	v, err := params(r)
	if err != nil {
		writeError(w, paramsStatus(err), err.Error())
		return
	}
	if v.Get("in_reply_to_id") != "" || len(list(v, "media_ids")) > 0 || v.Get("poll[options]") != "" {
		writeError(w, http.StatusUnprocessableEntity, "Replies, media and polls are not supported by this server")
		return
	}
	p, _, err := s.core.CreatePostOnce(r.Context(), *c.user, v.Get("status"), r.Header.Get("Idempotency-Key"))
	if err != nil {
		s.coreError(w, r, err)
		return
	}
	s.writeStatus(w, r, p, false)
}

func (s *Server) writeStatus(w http.ResponseWriter, r *http.Request, p core.Post, withText bool) {
	sts, err := s.statuses(r.Context(), []core.Post{p})
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	st := sts[0]
	if g := callerOf(r); g != nil && g.grant.AppName != "" {
		st.Application = &Application{Name: g.grant.AppName, Website: nullable(g.grant.AppWebsite)}
	}
	if withText {
		st.Text = &p.Body
	}
	writeJSON(w, http.StatusOK, st)
}

// pathPost loads the post named by the path's id. It answers 404 itself and returns
// ok=false when there is none.
func (s *Server) pathPost(w http.ResponseWriter, r *http.Request) (core.Post, bool) {
	n, ok := pathID(r, mux.Vars(r)["id"])
	if !ok {
		writeError(w, http.StatusNotFound, "Record not found")
		return core.Post{}, false
	}
	p, err := s.core.PostByID(r.Context(), n)
	if err != nil {
		s.coreError(w, r, err)
		return core.Post{}, false
	}
	return p, true
}

func (s *Server) statusGet(w http.ResponseWriter, r *http.Request) {
	if p, ok := s.pathPost(w, r); ok {
		s.writeStatus(w, r, p, false)
	}
}

func (s *Server) statusDelete(w http.ResponseWriter, r *http.Request) {
	p, ok := s.pathPost(w, r)
	if !ok {
		return
	}
	if err := s.core.DeletePost(r.Context(), *callerOf(r).user, p.ID); err != nil {
		s.coreError(w, r, err)
		return
	}
	s.writeStatus(w, r, p, true) // Mastodon returns the deleted status with its source text
}

func (s *Server) writeTimeline(w http.ResponseWriter, r *http.Request, t core.Timeline, err error) {
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	sts, err := s.statuses(r.Context(), t.Posts)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if len(t.Posts) > 0 {
		s.setLink(w, r, t.Posts[0].ID, t.Posts[len(t.Posts)-1].ID)
	}
	writeJSON(w, http.StatusOK, sts)
}

func (s *Server) timelineHome(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r)
	if !ok {
		return
	}
	t, err := s.core.HomeTimeline(r.Context(), viewerID(r), p)
	s.writeTimeline(w, r, t, err)
}

func (s *Server) timelinePublic(w http.ResponseWriter, r *http.Request) {
	p, ok := pageParams(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("remote") == "true" || r.URL.Query().Get("only_media") == "true" {
		writeJSON(w, http.StatusOK, []Status{}) // a single server has no remote posts, and no media
		return
	}
	t, err := s.core.PublicTimeline(r.Context(), p)
	s.writeTimeline(w, r, t, err)
}
