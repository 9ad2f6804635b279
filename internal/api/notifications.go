package api

import (
	"net/http"
	"slices"

	"github.com/starling-social/starling/internal/core"
)

// notificationKinds is the kinds of notification a list shows: those in types (every
// kind when empty) that are not in exclude. Kinds Starling does not have (poll, status,
// update, …) match nothing: no notification of theirs exists.
func notificationKinds(types, exclude []string) []string {
	var kinds []string
	for _, k := range core.NotificationKinds {
		if (len(types) == 0 || slices.Contains(types, k)) && !slices.Contains(exclude, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

func (s *Server) notifications(w http.ResponseWriter, r *http.Request) {
	p, f, ok := s.listQuery(w, r)
	if !ok {
		return
	}
	types := f.Strings("types", maxListItems)
	exclude := f.Strings("exclude_types", maxListItems)
	from := f.ID("account_id")
	f.Strings("supported_types", maxListItems) // what the client can show: every kind here is one it knows
	f.Bool("include_filtered")                 // there are no filters, so nothing is filtered
	if !s.checkFields(w, f) {
		return
	}
	kinds := notificationKinds(types, exclude)
	if len(kinds) == 0 {
		writeJSON(w, http.StatusOK, []Notification{}) // the kinds asked for are none Starling has
		return
	}
	if len(kinds) == len(core.NotificationKinds) {
		kinds = nil // all of them
	}
	np, err := s.core.NotificationsFiltered(r.Context(), viewerID(r), core.NotificationFilter{ActorID: from, Kinds: kinds}, p)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out, err := s.notificationList(r.Context(), np.Items)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	if len(np.Items) > 0 {
		s.setLink(w, r, np.Items[0].ID, np.Items[len(np.Items)-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) notificationGet(w http.ResponseWriter, r *http.Request) {
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	item, err := s.core.NotificationByID(r.Context(), viewerID(r), n)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	e, err := s.notification(r.Context(), item)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

func (s *Server) notificationDismiss(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	n, ok := s.pathRecord(w, r)
	if !ok {
		return
	}
	if err := s.core.DismissNotification(r.Context(), viewerID(r), n); err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) notificationsClear(w http.ResponseWriter, r *http.Request) {
	if !s.noFields(w, r) {
		return
	}
	if err := s.core.ClearNotifications(r.Context(), viewerID(r)); err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
