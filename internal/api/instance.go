package api

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/text"
)

// Version is what Starling reports as its Mastodon API level, the way compatible servers
// do, so that clients enable the features they find.
const Version = "4.2.0 (compatible; Starling 0.1)"

// The server's name and description, as the instance endpoints and nodeinfo report them.
// The configuration has no setting for them yet. descriptionUpdated is when
// siteDescription last changed (extended_description's updated_at): change both together.
const (
	siteTitle          = "Starling"
	siteDescription    = "A microblog for small teams, powered by PostgreSQL."
	descriptionUpdated = "2026-11-23T00:00:00.000Z"
)

func (s *Server) host() string {
	u, err := url.Parse(s.base)
	if err != nil {
		return "localhost"
	}
	return u.Host
}

// streamingURL is the WebSocket/streaming base clients are told to use.
func (s *Server) streamingURL() string {
	u, err := url.Parse(s.base)
	if err != nil {
		return s.base
	}
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	return u.String()
}

func statusConfig() map[string]any {
	return map[string]any{
		"max_characters": text.MaxPostChars, "max_media_attachments": core.MaxMediaPerPost, "characters_reserved_per_url": 23,
	}
}

// mediaConfig is what the instance endpoints say about uploads: pictures only (no video
// or audio), with the server's real limits.
func (s *Server) mediaConfig() map[string]any {
	l := s.core.MediaLimits()
	return map[string]any{"supported_mime_types": []string{"image/jpeg", "image/png", "image/gif", "image/webp"},
		"image_size_limit": l.MaxBytes, "image_matrix_limit": l.MaxPixels, "description_limit": core.MaxMediaDescription,
		"video_size_limit": 0, "video_frame_rate_limit": 0, "video_matrix_limit": 0}
}

func (s *Server) instanceV1(w http.ResponseWriter, r *http.Request) {
	users, posts, err := s.core.InstanceCounts(r.Context())
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"uri": s.host(), "title": siteTitle, "short_description": "A microblog for small teams.",
		"description": siteDescription, "email": "",
		"version": Version, "urls": map[string]string{"streaming_api": s.streamingURL()},
		"stats":     map[string]int64{"user_count": users, "status_count": posts, "domain_count": 0},
		"thumbnail": nil, "languages": []string{"en"}, "registrations": s.open,
		"approval_required": false, "invites_enabled": false,
		"configuration": map[string]any{
			"accounts":          map[string]int{"max_featured_tags": 0},
			"statuses":          statusConfig(),
			"media_attachments": s.mediaConfig(),
			"polls":             map[string]int{"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
		},
		"contact_account": nil, "rules": []any{},
	})
}

// instanceV2 has no api_versions: Mastodon added it in 4.3, after the 4.2 that Version
// claims, and clients (Phanpy, Mastodon.py) turn features on by its number, so any value
// would claim endpoints Starling does not have.
func (s *Server) instanceV2(w http.ResponseWriter, r *http.Request) {
	active, err := s.core.ActiveMonth(r.Context())
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"domain": s.host(), "title": siteTitle, "version": Version, "source_url": "",
		"description": siteDescription,
		"usage":       map[string]any{"users": map[string]int64{"active_month": active}},
		"thumbnail":   map[string]any{"url": s.base + "/static/header.png"},
		"languages":   []string{"en"},
		"configuration": map[string]any{
			"urls":              map[string]string{"streaming": s.streamingURL()},
			"accounts":          map[string]int{"max_featured_tags": 0, "max_pinned_statuses": core.MaxPins},
			"statuses":          statusConfig(),
			"media_attachments": s.mediaConfig(),
			"polls":             map[string]int{"max_options": 0},
			"translation":       map[string]bool{"enabled": false},
		},
		"registrations": map[string]any{"enabled": s.open, "approval_required": false, "message": nil},
		"contact":       map[string]any{"email": "", "account": nil},
		"rules":         []any{},
	})
}

func (s *Server) customEmojis(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []any{})
}

// instanceRules: the server has no rules to list.
func (s *Server) instanceRules(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []any{})
}

// instancePeers: without federation the server knows no other domains.
func (s *Server) instancePeers(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []any{})
}

// instanceActivity has no weeks: Mastodon's figures include logins, which Starling does
// not count. The daily statistics it does keep are at /api/v1/starling/stats/daily.
func (s *Server) instanceActivity(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, []any{})
}

// instanceExtendedDescription serves the server's description as the about page's HTML.
func (s *Server) instanceExtendedDescription(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{
		"updated_at": descriptionUpdated, "content": "<p>" + html.EscapeString(siteDescription) + "</p>",
	})
}

// nodeinfoVersions are the NodeInfo schema versions served, at /nodeinfo/2.0 and
// /nodeinfo/2.1; the two schemas differ only in optional fields Starling leaves out.
var nodeinfoVersions = []string{"2.0", "2.1"}

func (s *Server) nodeinfoIndex(w http.ResponseWriter, r *http.Request) {
	links := make([]map[string]string, len(nodeinfoVersions))
	for i, v := range nodeinfoVersions {
		links[i] = map[string]string{"rel": "http://nodeinfo.diaspora.software/ns/schema/" + v, "href": s.base + "/nodeinfo/" + v}
	}
	writeJSON(w, http.StatusOK, map[string]any{"links": links})
}

// nodeinfo names the software truthfully, starling, and says in metadata.upstream that it
// speaks Mastodon's client API: client libraries that pick their dialect from nodeinfo
// (megalodon's detector) know only names such as mastodon and pleroma, and fall back to
// metadata.upstream.name for the servers they do not know. Clients that gate features on
// software.name == "mastodon" (Phanpy) then leave Mastodon-only extras off, which is right:
// Starling is not Mastodon and has few of them.
func (s *Server) nodeinfo(w http.ResponseWriter, r *http.Request) {
	version := strings.TrimPrefix(r.URL.Path, "/nodeinfo/")
	users, posts, err := s.core.InstanceCounts(r.Context())
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version":           version,
		"software":          map[string]string{"name": "starling", "version": "0.1.0"},
		"protocols":         []string{},
		"services":          map[string][]string{"inbound": {}, "outbound": {}},
		"openRegistrations": s.open,
		"usage":             map[string]any{"users": map[string]int64{"total": users}, "localPosts": posts},
		"metadata": map[string]any{
			"nodeName": siteTitle, "nodeDescription": siteDescription,
			"upstream": map[string]string{"name": "mastodon"},
		},
	})
}

// dailyStats serves Starling's daily statistics (not a Mastodon endpoint).
func (s *Server) dailyStats(w http.ResponseWriter, r *http.Request) {
	rows, err := s.core.RecentDailyStats(r.Context(), time.Now(), 30)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	out := make([]map[string]any, len(rows))
	for i, d := range rows {
		out[i] = map[string]any{
			"day": d.Day.Format("2006-01-02"), "posts": d.Posts, "active_authors": d.ActiveAuthors,
			"new_users": d.NewUsers, "mentions": d.Mentions, "notifications_emailed": d.NotificationsEmailed,
		}
	}
	writeJSON(w, http.StatusOK, out)
}
