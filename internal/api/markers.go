package api

import (
	"net/http"

	"github.com/starling-social/starling/internal/core"
)

// Marker is Mastodon's Marker entity: where the user stopped reading a timeline.
type Marker struct {
	LastReadID string `json:"last_read_id"`
	Version    int    `json:"version"`
	UpdatedAt  string `json:"updated_at"`
}

// markerEntities encodes markers as Mastodon's map from timeline to Marker.
func markerEntities(markers map[string]core.Marker) map[string]Marker {
	out := make(map[string]Marker, len(markers))
	for t, m := range markers {
		out[t] = Marker{LastReadID: id(m.LastReadID), Version: m.Version, UpdatedAt: timestamp(m.UpdatedAt)}
	}
	return out
}

// markers answers GET /api/v1/markers?timeline[]=home&timeline[]=notifications with the
// saved markers among those asked for (timeline[] or timeline; none asked gives {}).
func (s *Server) markers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	m, err := s.core.Markers(r.Context(), viewerID(r), append(q["timeline[]"], q["timeline"]...))
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, markerEntities(m))
}

// markersSave answers POST /api/v1/markers: it saves home[last_read_id] and
// notifications[last_read_id] (form fields, or JSON {"home": {"last_read_id": "1"}}) and
// returns the markers it saved.
func (s *Server) markersSave(w http.ResponseWriter, r *http.Request) {
	f, ok := s.readFields(w, r)
	if !ok {
		return
	}
	lastRead := map[string]int64{}
	for _, t := range core.MarkerTimelines() {
		m := f.Object(t)
		switch {
		case m == nil:
		case !m.Has("last_read_id"):
			m.Fail("last_read_id", "is required")
		default:
			lastRead[t] = m.ID("last_read_id")
		}
	}
	if !s.checkFields(w, f) {
		return
	}
	saved, err := s.core.SaveMarkers(r.Context(), viewerID(r), lastRead)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, markerEntities(saved))
}
