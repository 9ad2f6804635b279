package web

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/problem"
)

func (s *Server) postCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := newForm()
	for _, k := range []string{"body", "spoiler_text", "visibility", "in_reply_to_id", "sensitive"} {
		f.Values[k] = r.PostForm.Get(k)
	}
	user := *currentUser(r)
	in := core.NewPost{Body: f.Values["body"], SpoilerText: f.Values["spoiler_text"], Visibility: f.Values["visibility"],
		Sensitive: f.Values["sensitive"] == "on"}
	if v := f.Values["in_reply_to_id"]; v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			id = -1 // refused by Publish, naming the field
		}
		in.InReplyTo = id
	}
	media, undescribed, err := s.composeMedia(r, user, f)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	f.Media = media
	for _, m := range media {
		in.MediaIDs = append(in.MediaIDs, m.ID)
	}
	if len(f.Errors) == 0 && undescribed && r.PostForm.Get("without_descriptions") == "" {
		// Ask once for what people who cannot see the pictures will hear instead.
		f.Errors["media"] = "Describe each picture for people who cannot see it, then post. (Or post without descriptions.)"
		f.Values["ask_descriptions"] = "1"
	}
	if len(f.Errors) > 0 {
		s.render(w, r, http.StatusUnprocessableEntity, "compose", view{Title: "New post", Form: f})
		return
	}
	_, _, err = s.core.Publish(r.Context(), user, in)
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

// composeMedia stores the pictures of a compose form (image1 … image4, described by alt1 …
// alt4) and updates the descriptions of those uploaded by an earlier try of the same form
// (media_id, described by alt_ID). It answers them all, in order, and whether one has no
// description. A picture refused is a form error, named "media".
func (s *Server) composeMedia(r *http.Request, user core.User, f form) ([]core.Media, bool, error) {
	var out []core.Media
	undescribed := false
	for _, raw := range r.PostForm["media_id"] {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			f.Errors["media"] = "An earlier picture of this form is gone; attach it again."
			continue
		}
		m, err := s.core.DescribeMedia(r.Context(), user, id, core.MediaInput{Description: strings.TrimSpace(r.PostForm.Get("alt_" + raw))})
		if errors.Is(err, core.ErrNotFound) {
			f.Errors["media"] = "An earlier picture of this form is gone; attach it again."
			continue
		}
		if p := problem.Of(err); p.Kind == problem.Invalid {
			f.Errors["media"] = "Description: " + p.Fields["description"]
			continue
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, m)
		undescribed = undescribed || m.Description == ""
	}
	if r.MultipartForm == nil {
		return out, undescribed, nil
	}
	for i := 1; i <= core.MaxMediaPerPost; i++ {
		hs := r.MultipartForm.File["image"+strconv.Itoa(i)]
		if len(hs) == 0 || hs[0].Size == 0 {
			continue
		}
		if len(out) >= core.MaxMediaPerPost {
			f.Errors["media"] = fmt.Sprintf("A post can have at most %d pictures.", core.MaxMediaPerPost)
			break
		}
		data, err := readUpload(hs[0])
		if err != nil {
			return nil, false, err
		}
		alt := strings.TrimSpace(r.PostForm.Get("alt" + strconv.Itoa(i)))
		m, err := s.core.Upload(r.Context(), user, data, core.MediaInput{Description: alt}, true)
		if p := problem.Of(err); p.Kind == problem.Invalid || p.Kind == problem.TooLarge {
			msg := p.Fields["file"]
			if msg == "" {
				msg = cmp.Or(p.Fields["description"], strings.TrimPrefix(err.Error(), core.ErrTooLarge.Error()+": "))
			}
			f.Errors["media"] = fmt.Sprintf("Picture %d (%s): %s", i, hs[0].Filename, msg)
			continue
		}
		if err != nil {
			return nil, false, err
		}
		out = append(out, m)
		undescribed = undescribed || alt == ""
	}
	return out, undescribed, nil
}

// readUpload reads one uploaded file of a multipart form.
func readUpload(h *multipart.FileHeader) ([]byte, error) {
	file, err := h.Open()
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(file)
}

func postID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

// postShow is a post's page: the thread around it, a reply form, the replies.
func (s *Server) postShow(w http.ResponseWriter, r *http.Request) {
	p, err := s.core.PostFor(r.Context(), viewerOf(r), postID(r))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	t, err := s.core.Context(r.Context(), viewerOf(r), p.ID)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	shown := p.Shown()
	f := newForm()
	f.Values["in_reply_to_id"] = strconv.FormatInt(shown.ID, 10)
	f.Values["visibility"] = replyVisibility(shown.Visibility)
	if u := currentUser(r); u != nil && shown.Author.ID != u.ID {
		f.Values["body"] = "@" + shown.Author.Username + " "
	}
	s.render(w, r, http.StatusOK, "post", view{Post: &p, Thread: &t, Form: f})
}

// replyVisibility is the visibility a reply form starts with: the parent's, so that an
// answer to a followers-only or direct post does not go public by default.
func replyVisibility(parent string) string {
	if parent == core.VisibilityPublic {
		return core.VisibilityPublic
	}
	return parent
}

// postAction serves POST /posts/{id}/ACTION (favourite, boost, bookmark and their
// undoing): without JavaScript it redirects back (303) to the page the form was on; for
// live.js (X-Starling-Fragment: 1) it answers the post's new HTML to put in place.
func (s *Server) postAction(act func(ctx context.Context, u core.User, id int64) (core.Post, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.parseForm(w, r) {
			return
		}
		u := currentUser(r)
		if _, err := act(r.Context(), *u, postID(r)); err != nil {
			s.answerError(w, r, err)
			return
		}
		if r.Header.Get("X-Starling-Fragment") != "1" {
			http.Redirect(w, r, backTo(r, "/posts/"+mux.Vars(r)["id"]), http.StatusSeeOther)
			return
		}
		p, err := s.core.PostFor(r.Context(), u.ID, postID(r))
		if err != nil {
			s.answerError(w, r, err)
			return
		}
		var buf bytes.Buffer
		if err := s.pages.byName["timeline"].ExecuteTemplate(&buf, "post", newPostView(u, p)); err != nil {
			s.answerError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(buf.Bytes())
	}
}

// backTo is where a form sends the browser back to: its next field, else the page it was
// sent from (same site only), else fallback.
func backTo(r *http.Request, fallback string) string {
	if next := r.PostForm.Get("next"); next != "" {
		return localPath(next)
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path != "" {
		return localPath(ref.RequestURI())
	}
	return fallback
}

func (s *Server) postReblog(w http.ResponseWriter, r *http.Request) {
	s.postAction(func(ctx context.Context, u core.User, id int64) (core.Post, error) {
		return s.core.Reblog(ctx, u, id, "", 0)
	})(w, r)
}

// postDeleteForm asks whether to delete the post (an admin is told whose post it is), and
// remembers the page the Delete button was on to return there.
func (s *Server) postDeleteForm(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	p, err := s.core.PostFor(r.Context(), u.ID, postID(r))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if !core.CanDelete(u, p) || p.IsReblog() {
		s.answerError(w, r, core.ErrForbidden)
		return
	}
	f := newForm()
	f.Values["next"] = afterDelete(p, backTo(r, ""))
	s.render(w, r, http.StatusOK, "delete", view{Title: "Delete post", Post: &p, Form: f})
}

// postDelete deletes the post and goes back to where the person was, saying what was done.
func (s *Server) postDelete(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	// Whose post it is, for the message and the way back; core decides whether it may go
	// (an admin may delete a post the admin cannot read).
	p, seen := s.core.PostFor(r.Context(), u.ID, postID(r))
	if err := s.core.DeletePost(r.Context(), *u, postID(r)); err != nil {
		s.answerError(w, r, err)
		return
	}
	msg, next := "Post deleted.", cmp.Or(backTo(r, ""), "/@"+u.Username)
	if seen == nil {
		next = afterDelete(p, backTo(r, ""))
		if p.Author.ID != u.ID {
			msg = "You deleted @" + p.Author.Username + "'s post, as an admin."
		}
	}
	s.sessions.Put(r.Context(), "flash", msg)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// afterDelete is the page to show once p is deleted: back, unless back is empty or the
// post's own page (gone by then), when it is the author's profile.
func afterDelete(p core.Post, back string) string {
	if u, err := url.Parse(back); back == "" || err != nil || u.Path == "/posts/"+strconv.FormatInt(p.ID, 10) ||
		strings.HasPrefix(u.Path, "/posts/"+strconv.FormatInt(p.ID, 10)+"/") {
		return "/@" + p.Author.Username
	}
	return back
}

// postEditForm shows the author the form to edit their post.
func (s *Server) postEditForm(w http.ResponseWriter, r *http.Request) {
	u := currentUser(r)
	p, err := s.core.PostFor(r.Context(), u.ID, postID(r))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if p.Author.ID != u.ID || p.IsReblog() {
		s.answerError(w, r, core.ErrForbidden)
		return
	}
	f := newForm()
	f.Values["body"], f.Values["spoiler_text"] = p.Body, p.SpoilerText
	s.render(w, r, http.StatusOK, "edit", view{Title: "Edit post", Post: &p, Form: f})
}

// postEdit saves an edit and goes back to the post.
func (s *Server) postEdit(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u := currentUser(r)
	f := newForm()
	f.Values["body"], f.Values["spoiler_text"] = r.PostForm.Get("body"), r.PostForm.Get("spoiler_text")
	p, err := s.core.EditPost(r.Context(), *u, postID(r), core.PostEdit{Body: f.Values["body"], SpoilerText: f.Values["spoiler_text"]})
	if pr := problem.Of(err); pr.Kind == problem.Invalid {
		f.Errors = pr.Fields
		current, cerr := s.core.PostFor(r.Context(), u.ID, postID(r))
		if cerr != nil {
			s.answerError(w, r, cerr)
			return
		}
		s.render(w, r, pr.Status, "edit", view{Title: "Edit post", Post: &current, Form: f})
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	s.sessions.Put(r.Context(), "flash", "Post edited.")
	http.Redirect(w, r, "/posts/"+strconv.FormatInt(p.ID, 10), http.StatusSeeOther)
}
