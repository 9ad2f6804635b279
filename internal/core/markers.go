package core

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/starling-social/starling/internal/store"
)

// The timelines whose reading position a user can save (Mastodon's markers).
const (
	// MarkerHome is the home timeline; its marker holds a status id.
	MarkerHome = "home"
	// MarkerNotifications is the notifications list; its marker holds a notification id.
	MarkerNotifications = "notifications"
)

// MarkerTimelines returns the timelines that have markers.
func MarkerTimelines() []string { return []string{MarkerHome, MarkerNotifications} }

// markerItems names what each timeline's last_read_id points at, for error messages.
var markerItems = map[string]string{MarkerHome: "status", MarkerNotifications: "notification"}

// Marker is where a user stopped reading a timeline, saved so that all their apps resume
// there.
type Marker struct {
	// Timeline is MarkerHome or MarkerNotifications.
	Timeline string
	// LastReadID is the id of the newest status (home) or notification the user has seen.
	// Nothing checks that it exists, as in Mastodon: it is only a position.
	LastReadID int64
	// Version is 1 after the first save and grows by one with every later save.
	Version int
	// UpdatedAt is when the marker was last saved.
	UpdatedAt time.Time
}

func markerFrom(m store.Marker) Marker {
	return Marker{Timeline: m.Timeline, LastReadID: m.LastReadID, Version: int(m.Version), UpdatedAt: m.UpdatedAt}
}

// Markers returns userID's markers for timelines, keyed by timeline. A timeline whose
// marker was never saved is missing from the map, and no timelines at all gives an empty
// map, as in Mastodon. A name that is not a marker timeline is a *ValidationError on the
// field "timeline[]".
func (s *Service) Markers(ctx context.Context, userID int64, timelines []string) (map[string]Marker, error) {
	for _, t := range timelines {
		if _, ok := markerItems[t]; !ok {
			return nil, invalid("timeline[]", fmt.Sprintf("%q is not a timeline with markers: use home or notifications", t))
		}
	}
	out := map[string]Marker{}
	if len(timelines) == 0 {
		return out, nil
	}
	rows, err := s.q.MarkersOfUser(ctx, store.MarkersOfUserParams{UserID: userID, Timelines: timelines})
	if err != nil {
		return nil, fmt.Errorf("markers: %w", err)
	}
	for _, r := range rows {
		out[r.Timeline] = markerFrom(r)
	}
	return out, nil
}

// SaveMarkers saves userID's positions, lastRead mapping a timeline to the id of the
// newest item read in it, and returns the saved markers keyed by timeline. Every save adds
// one to a marker's version, also when saves of the same marker race: they all succeed and
// none of their increments is lost, because one upsert statement saves them all (so
// Mastodon's 409 for a stale marker never happens here). An empty lastRead saves nothing
// and returns an empty map.
//
// A timeline without markers, or an id that is not positive, is a *ValidationError under
// the field name "<timeline>[last_read_id]" (every problem at once), and then nothing is
// saved.
func (s *Service) SaveMarkers(ctx context.Context, userID int64, lastRead map[string]int64) (map[string]Marker, error) {
	verr := &ValidationError{Fields: map[string]string{}}
	timelines := make([]string, 0, len(lastRead))
	for t := range lastRead {
		timelines = append(timelines, t)
	}
	slices.Sort(timelines) // a fixed order, so that concurrent saves lock rows alike
	ids := make([]int64, len(timelines))
	for i, t := range timelines {
		field := t + "[last_read_id]"
		item, ok := markerItems[t]
		switch {
		case !ok:
			verr.Fields[field] = fmt.Sprintf("%q is not a timeline with markers: use home or notifications", t)
		case lastRead[t] <= 0:
			verr.Fields[field] = "must be the id of a " + item
		}
		ids[i] = lastRead[t]
	}
	if len(verr.Fields) > 0 {
		return nil, verr
	}
	out := map[string]Marker{}
	if len(timelines) == 0 {
		return out, nil
	}
	rows, err := s.q.MarkerUpsert(ctx, store.MarkerUpsertParams{UserID: userID, Timelines: timelines, LastReadIds: ids})
	if err != nil {
		return nil, fmt.Errorf("markers save: %w", err)
	}
	for _, r := range rows {
		out[r.Timeline] = markerFrom(r)
	}
	return out, nil
}
