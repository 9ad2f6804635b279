package web

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/core"
)

// serveMedia serves /media/ID/VARIANT[.EXT]: one stored file of an upload, to whoever
// core.ServeMedia says may see it (the session's user, or anyone with the signed address
// the API gave). Its bytes never change, so it is immutable; Range and conditional
// requests are answered (http.ServeContent). Media that may not be seen is 404, like
// media that does not exist.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	id, err := strconv.ParseInt(v["id"], 10, 64)
	variant, ext, _ := strings.Cut(v["file"], ".")
	if err != nil || id <= 0 {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	var ticket *core.MediaTicket
	if q := r.URL.Query(); q.Has("s") || q.Has("e") {
		exp, err := strconv.ParseInt(q.Get("e"), 10, 64)
		if err != nil {
			http.Error(w, "Not found", http.StatusNotFound)
			return
		}
		ticket = &core.MediaTicket{Expires: exp, Sig: q.Get("s")}
	}
	blob, err := s.core.ServeMedia(r.Context(), viewerOf(r), id, variant, ticket)
	if errors.Is(err, core.ErrNotFound) {
		// Plain text: an image's address has no page around it (and mediaFastPath serves
		// it without the session a page needs).
		w.Header().Set("X-Content-Type-Options", "nosniff")
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if ext != "" && (core.MediaFile{ContentType: blob.ContentType}).Ext() != "."+ext {
		http.Error(w, "Not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", blob.ContentType)
	h.Set("ETag", blob.ETag)
	switch {
	case blob.Public:
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	case ticket != nil:
		h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(0, ticket.Expires-time.Now().Unix()), 10)+", immutable")
	default: // served by the session: ask again, so that a viewer who lost access is refused
		h.Set("Cache-Control", "private, no-cache")
		h.Set("Vary", "Cookie")
	}
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	// Opened on its own, the file is a picture and nothing else: no script, no form.
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(blob.Data))
}
