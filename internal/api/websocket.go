package api

import (
	"net/http"

	"github.com/starling-social/starling/internal/live"
)

// streamWebSocket serves /api/v1/streaming: subscribe and unsubscribe to streams over one
// WebSocket (see live.Hub.ServeWebSocket), with ?stream= for the first subscription. The
// token may come in the Authorization header, the access_token query parameter or
// Sec-WebSocket-Protocol (which is then echoed back, as browsers require).
func (s *Server) streamWebSocket(w http.ResponseWriter, r *http.Request) {
	if s.hub == nil {
		writeError(w, http.StatusServiceUnavailable, "Streaming is not available on this process")
		return
	}
	c := callerOf(r)
	client := live.WebSocketClient{
		UserID:  viewerID(r),
		IP:      s.proxies.ClientIP(r),
		Cred:    credentialOf(r),
		Streams: func(name, tag string) (live.Filter, string) { return streamFilter(c, name, tag) },
		Format:  s.mastodonEvent,
		Ping:    s.wsPing,
	}
	if p := r.Header.Get("Sec-WebSocket-Protocol"); p != "" && r.Header.Get("Authorization") == "" && r.URL.Query().Get("access_token") == "" {
		client.Subprotocol = p
	}
	s.hub.ServeWebSocket(w, r, client, writeError)
}

// streamFilter maps one of Mastodon's stream names (with its tag, for the hashtag
// streams) onto a hub filter for caller c (nil when anonymous), or returns the problem the
// client is told.
func streamFilter(c *caller, stream, tag string) (live.Filter, string) {
	uid := int64(0)
	if c != nil && c.user != nil {
		uid = c.user.ID
	}
	switch stream {
	case "public", "public:local":
		return live.Filter{Public: true}, ""
	case "hashtag", "hashtag:local":
		key, ok := tagFilterKey(tag)
		if !ok {
			return live.Filter{}, "No such hashtag"
		}
		return live.Filter{Tag: key}, ""
	case "user", "user:notification", "direct":
		if uid == 0 {
			return live.Filter{}, "Missing access token"
		}
		need := "read:statuses"
		if stream == "user:notification" {
			need = "read:notifications"
		}
		if !c.grant.Scopes.Allows(need) {
			return live.Filter{}, "This action is outside the authorized scopes"
		}
		switch stream {
		case "user":
			return live.Filter{HomeOf: uid, NotificationsOf: uid}, ""
		case "direct":
			return live.Filter{ConversationsOf: uid}, ""
		}
		return live.Filter{NotificationsOf: uid}, ""
	}
	return live.Filter{}, "Unknown stream type"
}
