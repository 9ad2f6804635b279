package api

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
)

// WebFinger (RFC 7033) and host-meta (RFC 6415) for local accounts: apps resolve
// user@host with them, for a mention or before following. The answer names the profile
// page only: Starling does not federate, so there is no ActivityPub actor ("self") to
// point at.

// jrd is WebFinger's JSON Resource Descriptor.
type jrd struct {
	Subject string    `json:"subject"`
	Aliases []string  `json:"aliases"`
	Links   []jrdLink `json:"links"`
}

type jrdLink struct {
	Rel  string `json:"rel"`
	Type string `json:"type,omitempty"`
	Href string `json:"href"`
}

// webfinger answers ?resource=acct:user@host, user@host or the account's profile URL:
// 400 for a missing or malformed resource, 404 for another host or an unknown user.
func (s *Server) webfinger(w http.ResponseWriter, r *http.Request) {
	username, status, msg := s.webfingerUser(r.URL.Query().Get("resource"))
	if status != http.StatusOK {
		writeError(w, status, msg)
		return
	}
	u, err := s.core.UserByUsername(r.Context(), username)
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	profile := s.base + "/@" + u.Username
	b, err := json.Marshal(jrd{
		Subject: "acct:" + u.Username + "@" + s.host(),
		Aliases: []string{profile},
		Links:   []jrdLink{{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: profile}},
	})
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/jrd+json; charset=utf-8")
	w.Write(b)
}

// webfingerUser returns the local username that resource names, or the status and
// message to answer with.
func (s *Server) webfingerUser(resource string) (username string, status int, msg string) {
	const notHere = "Record not found"
	lower := strings.ToLower(resource)
	switch {
	case resource == "":
		return "", http.StatusBadRequest, "resource is required"
	case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
		u, err := url.Parse(resource)
		if err != nil || u.Host == "" {
			return "", http.StatusBadRequest, "resource is not a valid URL"
		}
		if !strings.EqualFold(u.Host, s.host()) {
			return "", http.StatusNotFound, notHere
		}
		name, ok := strings.CutPrefix(strings.TrimSuffix(u.Path, "/"), "/@")
		if !ok || name == "" || strings.Contains(name, "/") {
			return "", http.StatusNotFound, notHere
		}
		return name, http.StatusOK, ""
	}
	acct := resource
	if strings.HasPrefix(lower, "acct:") {
		acct = resource[len("acct:"):]
	} else if i := strings.IndexByte(resource, ':'); i >= 0 && i < strings.IndexByte(resource, '@') {
		return "", http.StatusBadRequest, "resource must be an acct: URI or a profile URL" // mailto:, …
	}
	at := strings.LastIndexByte(acct, '@')
	if at <= 0 || at == len(acct)-1 {
		return "", http.StatusBadRequest, "resource must be acct:user@host"
	}
	if !strings.EqualFold(acct[at+1:], s.host()) {
		return "", http.StatusNotFound, notHere
	}
	return acct[:at], http.StatusOK, ""
}

// xrd is host-meta's XML document.
type xrd struct {
	XMLName xml.Name  `xml:"http://docs.oasis-open.org/ns/xri/xrd-1.0 XRD"`
	Links   []xrdLink `xml:"Link"`
}

type xrdLink struct {
	Rel      string `xml:"rel,attr"`
	Template string `xml:"template,attr"`
}

// hostMeta points at the WebFinger endpoint, as Mastodon's host-meta does.
func (s *Server) hostMeta(w http.ResponseWriter, r *http.Request) {
	b, err := xml.Marshal(xrd{Links: []xrdLink{{Rel: "lrdd", Template: s.base + "/.well-known/webfinger?resource={uri}"}}})
	if err != nil {
		s.answerError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(b)
}
