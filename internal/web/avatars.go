package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/starling-social/starling/internal/avatar"
)

// defaultAvatar serves avatar.Path, /avatars/ID-vN.png: the picture depends on nothing but the id, so
// it is immutable, cacheable by anyone and readable from any origin (API clients on other
// sites load it). It tells nothing about the account, not even whether it exists, so it
// is served on a members-only server too.
func defaultAvatar(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	id, err := strconv.ParseInt(v["id"], 10, 64)
	if err != nil || id <= 0 || v["version"] != avatar.Version {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", fmt.Sprintf(`"avatar-%d-v%s"`, id, avatar.Version))
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(avatar.Default(id)))
}
