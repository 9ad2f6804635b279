package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// unbuiltCollection is one collection of a feature not built yet, as Mastodon documents its
// authentication: public, or a user token with scope ("" for any scope).
type unbuiltCollection struct {
	path   string
	scope  string
	public bool
}

var unbuiltCollections = []unbuiltCollection{
	{path: "/api/v1/lists", scope: "read:lists"},
	{path: "/api/v1/accounts/ID/lists", scope: "read:lists"},
	{path: "/api/v1/filters", scope: "read:filters"},
	{path: "/api/v2/filters", scope: "read:filters"},
	{path: "/api/v1/followed_tags", scope: "read:follows"},
	{path: "/api/v1/featured_tags", scope: "read:accounts"},
	{path: "/api/v1/accounts/ID/featured_tags", public: true},
	{path: "/api/v1/trends", public: true},
	{path: "/api/v1/trends/tags", public: true},
	{path: "/api/v1/trends/statuses", public: true},
	{path: "/api/v1/trends/links", public: true},
	{path: "/api/v1/follow_requests", scope: "read:follows"},
	{path: "/api/v1/favourites", scope: "read:favourites"},
	{path: "/api/v1/bookmarks", scope: "read:bookmarks"},
	{path: "/api/v1/conversations", scope: "read:statuses"},
	{path: "/api/v1/scheduled_statuses", scope: "read:statuses"},
	{path: "/api/v1/announcements"},
	{path: "/api/v1/suggestions", scope: "read"},
	{path: "/api/v2/suggestions", scope: "read"},
	{path: "/api/v1/endorsements", scope: "read:accounts"},
	{path: "/api/v1/blocks", scope: "read:blocks"},
	{path: "/api/v1/mutes", scope: "read:mutes"},
	{path: "/api/v1/domain_blocks", scope: "read:blocks"},
}

// TestUnbuiltCollections: every collection of a feature not built yet is 200 [] with the
// token Mastodon asks for, 401 without one, 403 with too little scope, and 404 under an
// unknown account.
func TestUnbuiltCollections(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	u := s.user("alice")
	read := s.personalToken(u, "read")
	write := s.personalToken(u, "write")
	follow := s.personalToken(u, "follow")
	for _, c := range unbuiltCollections {
		path := strings.Replace(c.path, "ID", fmt.Sprint(u.ID), 1)
		t.Run(path, func(t *testing.T) {
			st, body, h := s.call(http.MethodGet, path, read, nil)
			require.Equal(t, http.StatusOK, st, body)
			require.Equal(t, "[]", body)
			require.Contains(t, h.Get("Content-Type"), "application/json")

			st, body, _ = s.call(http.MethodGet, path, "", nil)
			if c.public {
				require.Equal(t, http.StatusOK, st, body)
				require.Equal(t, "[]", body)
			} else {
				require.Equal(t, http.StatusUnauthorized, st, body)
			}

			st, body, _ = s.call(http.MethodGet, path, write, nil)
			switch {
			case c.public, c.scope == "":
				require.Equal(t, http.StatusOK, st, "any token will do: %s", body)
			default:
				require.Equal(t, http.StatusForbidden, st, "a write token is not %s: %s", c.scope, body)
			}

			// The legacy follow scope covers follows, blocks and mutes, as in Mastodon.
			if c.scope == "read:follows" || c.scope == "read:blocks" || c.scope == "read:mutes" {
				st, body, _ = s.call(http.MethodGet, path, follow, nil)
				require.Equal(t, http.StatusOK, st, body)
			}

			if strings.Contains(c.path, "ID") {
				st, _, _ = s.call(http.MethodGet, strings.Replace(c.path, "ID", "999999", 1), read, nil)
				require.Equal(t, http.StatusNotFound, st, "an unknown account")
			}
		})
	}
}

// TestDiscoveryFamiliarFollowers: for each known account asked about, the accounts the
// caller follows that follow it; unknown ids are left out, as Mastodon leaves them out.
func TestDiscoveryFamiliarFollowers(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	alice, bob, carol, dave := s.user("alice"), s.user("bob"), s.user("carol"), s.user("dave")
	s.user("erin")
	follow := func(from, to string) {
		u, err := s.core.UserByUsername(ctx, from)
		require.NoError(t, err)
		_, err = s.core.Follow(ctx, u.ID, to)
		require.NoError(t, err)
	}
	follow("alice", "bob")
	follow("alice", "carol")
	follow("bob", "dave")
	follow("carol", "dave")
	follow("erin", "dave") // alice does not follow erin
	tok := s.personalToken(alice, "read:follows")

	type familiar struct {
		ID       string `json:"id"`
		Accounts []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"accounts"`
	}
	q := fmt.Sprintf("?id[]=%d&id[]=%d&id[]=999999&id[]=nonsense&id[]=%d", dave.ID, bob.ID, dave.ID)
	st, body, _ := s.call(http.MethodGet, "/api/v1/accounts/familiar_followers"+q, tok, nil)
	require.Equal(t, http.StatusOK, st, body)
	got := decode[[]familiar](t, body)
	require.Len(t, got, 2, body)
	require.Equal(t, fmt.Sprint(dave.ID), got[0].ID)
	require.Len(t, got[0].Accounts, 2)
	require.Equal(t, "carol", got[0].Accounts[0].Username, "newest account first")
	require.Equal(t, fmt.Sprint(carol.ID), got[0].Accounts[0].ID)
	require.Equal(t, "bob", got[0].Accounts[1].Username)
	require.Equal(t, fmt.Sprint(bob.ID), got[1].ID)
	require.NotNil(t, got[1].Accounts)
	require.Contains(t, body, `"accounts":[]`, "an empty list, never null")

	// Mastodon.py sends the ids as a JSON body, even on this GET.
	req, err := http.NewRequest(http.MethodGet, s.base+"/api/v1/accounts/familiar_followers",
		strings.NewReader(fmt.Sprintf(`{"id": ["%d"]}`, dave.ID)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var fromJSON []familiar
	require.NoError(t, json.NewDecoder(res.Body).Decode(&fromJSON))
	require.Len(t, fromJSON, 1)
	require.Len(t, fromJSON[0].Accounts, 2)

	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/familiar_followers", tok, nil)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "[]", body, "no ids, no entries")
	st, _, _ = s.call(http.MethodGet, "/api/v1/accounts/familiar_followers"+q, "", nil)
	require.Equal(t, http.StatusUnauthorized, st)
	many := url.Values{}
	for i := range 101 {
		many.Add("id[]", fmt.Sprint(i+1))
	}
	st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/familiar_followers?"+many.Encode(), tok, nil)
	require.Equal(t, http.StatusBadRequest, st, "over the bound of every list")
	require.Contains(t, body, "more than 100")
}

// TestDiscoveryInstanceExtras: rules, peers, activity and the extended description, and no
// api_versions in instance v2 while Version claims 4.2.
func TestDiscoveryInstanceExtras(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, p := range []string{"/api/v1/instance/rules", "/api/v1/instance/peers", "/api/v1/instance/activity"} {
		st, body, _ := s.call(http.MethodGet, p, "", nil)
		require.Equal(t, http.StatusOK, st, p)
		require.Equal(t, "[]", body, p)
	}

	st, body, _ := s.call(http.MethodGet, "/api/v1/instance/extended_description", "", nil)
	require.Equal(t, http.StatusOK, st)
	ext := decode[map[string]string](t, body)
	_, err := time.Parse(time.RFC3339, ext["updated_at"])
	require.NoError(t, err, "updated_at is a timestamp")
	_, body, _ = s.call(http.MethodGet, "/api/v1/instance", "", nil)
	v1 := decode[map[string]any](t, body)
	require.Equal(t, "<p>"+v1["description"].(string)+"</p>", ext["content"], "the instance's description")

	_, body, _ = s.call(http.MethodGet, "/api/v2/instance", "", nil)
	v2 := decode[map[string]any](t, body)
	require.NotContains(t, v2, "api_versions", "Mastodon 4.2 had none; a number would claim later endpoints")
	require.True(t, strings.HasPrefix(v2["version"].(string), "4.2."))
}

// TestWebFinger resolves local accounts by acct: URI, bare user@host and profile URL.
func TestWebFinger(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("Alice")
	u, err := url.Parse(s.base)
	require.NoError(t, err)
	host := u.Host
	finger := func(resource string) (int, string, http.Header) {
		return s.call(http.MethodGet, "/.well-known/webfinger?resource="+url.QueryEscape(resource), "", nil)
	}
	type jrd struct {
		Subject string   `json:"subject"`
		Aliases []string `json:"aliases"`
		Links   []struct {
			Rel, Type, Href string
		} `json:"links"`
	}
	for _, resource := range []string{"acct:Alice@" + host, "acct:alice@" + strings.ToUpper(host), "alice@" + host,
		s.base + "/@Alice", "ACCT:alice@" + host} {
		st, body, h := finger(resource)
		require.Equal(t, http.StatusOK, st, "%s: %s", resource, body)
		require.Equal(t, "application/jrd+json; charset=utf-8", h.Get("Content-Type"))
		require.Equal(t, "*", h.Get("Access-Control-Allow-Origin"), "RFC 7033 asks for CORS")
		got := decode[jrd](t, body)
		require.Equal(t, "acct:Alice@"+host, got.Subject, resource)
		require.Equal(t, []string{s.base + "/@Alice"}, got.Aliases)
		require.Len(t, got.Links, 1)
		require.Equal(t, "http://webfinger.net/rel/profile-page", got.Links[0].Rel)
		require.Equal(t, "text/html", got.Links[0].Type)
		require.Equal(t, s.base+"/@Alice", got.Links[0].Href)
		require.NotContains(t, body, "activity+json", "no ActivityPub actor exists")
	}

	for resource, want := range map[string]int{
		"acct:nobody@" + host:              http.StatusNotFound,
		"acct:alice@elsewhere.example":     http.StatusNotFound,
		"https://elsewhere.example/@alice": http.StatusNotFound,
		s.base + "/@nobody":                http.StatusNotFound,
		s.base + "/posts/1":                http.StatusNotFound,
		"":                                 http.StatusBadRequest,
		"acct:alice":                       http.StatusBadRequest,
		"acct:@" + host:                    http.StatusBadRequest,
		"alice":                            http.StatusBadRequest,
		"mailto:alice@" + host:             http.StatusBadRequest,
		"http://%zz":                       http.StatusBadRequest,
	} {
		st, body, _ := finger(resource)
		require.Equal(t, want, st, "%q: %s", resource, body)
		require.Contains(t, body, `"error"`)
	}
	st, _, _ := s.call(http.MethodGet, "/.well-known/webfinger", "", nil)
	require.Equal(t, http.StatusBadRequest, st, "no resource")
}

// TestHostMeta: the XRD document names the WebFinger template.
func TestHostMeta(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	st, body, h := s.call(http.MethodGet, "/.well-known/host-meta", "", nil)
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, "application/xrd+xml; charset=utf-8", h.Get("Content-Type"))
	var doc struct {
		XMLName xml.Name
		Links   []struct {
			Rel      string `xml:"rel,attr"`
			Template string `xml:"template,attr"`
		} `xml:"Link"`
	}
	require.NoError(t, xml.Unmarshal([]byte(body), &doc), body)
	require.Equal(t, "http://docs.oasis-open.org/ns/xri/xrd-1.0", doc.XMLName.Space)
	require.Equal(t, "XRD", doc.XMLName.Local)
	require.Len(t, doc.Links, 1)
	require.Equal(t, "lrdd", doc.Links[0].Rel)
	require.Equal(t, s.base+"/.well-known/webfinger?resource={uri}", doc.Links[0].Template)
}

// TestNodeInfo: both schema versions are listed and served, and megalodon's detector (as
// its source decides: software.name, then metadata.upstream.name) picks Mastodon.
func TestNodeInfo(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	st, body, _ := s.call(http.MethodGet, "/.well-known/nodeinfo", "", nil)
	require.Equal(t, http.StatusOK, st)
	index := decode[struct {
		Links []struct{ Rel, Href string } `json:"links"`
	}](t, body)
	require.Len(t, index.Links, 2)
	for i, v := range []string{"2.0", "2.1"} {
		link := index.Links[i]
		require.Equal(t, "http://nodeinfo.diaspora.software/ns/schema/"+v, link.Rel)
		require.Equal(t, s.base+"/nodeinfo/"+v, link.Href)
		st, body, _ := s.call(http.MethodGet, strings.TrimPrefix(link.Href, s.base), "", nil)
		require.Equal(t, http.StatusOK, st)
		var doc struct {
			Version  string `json:"version"`
			Software struct {
				Name, Version string
			} `json:"software"`
			Protocols []string `json:"protocols"`
			Usage     struct {
				Users struct {
					Total int `json:"total"`
				} `json:"users"`
			} `json:"usage"`
			Metadata struct {
				NodeName string `json:"nodeName"`
				Upstream *struct {
					Name string `json:"name"`
				} `json:"upstream"`
			} `json:"metadata"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
		require.Equal(t, v, doc.Version)
		require.Equal(t, "starling", doc.Software.Name, "the software's own name")
		require.Empty(t, doc.Protocols, "no federation protocol is spoken")
		require.Equal(t, 1, doc.Usage.Users.Total)
		// megalodon/src/detector.ts: known names first, then metadata.upstream.name.
		detected := "Unknown SNS"
		switch doc.Software.Name {
		case "mastodon", "hometown":
			detected = "mastodon"
		case "pleroma", "akkoma":
			detected = "pleroma"
		default:
			if doc.Metadata.Upstream != nil && strings.ToLower(doc.Metadata.Upstream.Name) == "mastodon" {
				detected = "mastodon"
			}
		}
		require.Equal(t, "mastodon", detected)
	}
}

// sseFrame is one frame of an event stream as Mastodon.py's StreamListener reads it: the
// "key: value" lines up to a blank line; comment lines (":…") are heartbeats.
type sseFrame map[string]string

// readFrame reads the next frame, the way Mastodon.py's parser does, and fails the test
// where that parser would end the stream: a line that is neither a comment nor
// "key: value", or a frame with fields but no event or no data.
func readFrame(t *testing.T, sc *bufio.Scanner) sseFrame {
	t.Helper()
	f := sseFrame{}
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if len(f) > 0 {
				require.Contains(t, f, "event", "Mastodon.py: Missing field 'event' in %v", f)
				require.Contains(t, f, "data", "Mastodon.py: Missing field 'data' in %v", f)
			}
			return f
		case strings.HasPrefix(line, ":"):
		default:
			k, v, ok := strings.Cut(line, ": ")
			require.True(t, ok, "Mastodon.py: Malformed event: %q", line)
			if old, dup := f[k]; dup {
				v = old + "\n" + v
			}
			f[k] = v
		}
	}
	require.NoError(t, sc.Err())
	t.Fatal("the stream ended")
	return nil
}

// TestDiscoverySSEFirstFrame: a stream opens with a frame every Mastodon SSE parser
// accepts, and the retry hint arrives inside a complete event.
func TestDiscoverySSEFirstFrame(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	u := s.user("alice")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/v1/streaming/public", nil)
	require.NoError(t, err)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/event-stream")
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)

	first := readFrame(t, sc)
	require.Empty(t, first, "the first frame is a comment only, as Mastodon's ':)'")

	_, err = s.core.CreatePost(context.Background(), u.ID, "hello stream")
	require.NoError(t, err)
	var ev sseFrame
	for len(ev) == 0 { // heartbeats are empty frames
		ev = readFrame(t, sc)
	}
	require.Equal(t, "update", ev["event"])
	require.Contains(t, ev["data"], "hello stream")
	require.Equal(t, "2000", ev["retry"], "the reconnection hint rides on the first event")
}

// TestStaticCORS: static files are readable by web clients on other origins.
func TestStaticCORS(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	for _, p := range []string{"/static/avatar.png", "/static/header.png", "/static/style.css"} {
		st, _, h := s.call(http.MethodGet, p, "", nil, "Origin", "https://app.example")
		require.Equal(t, http.StatusOK, st, p)
		require.Equal(t, "*", h.Get("Access-Control-Allow-Origin"), p)
		require.Equal(t, "cross-origin", h.Get("Cross-Origin-Resource-Policy"), p)
	}
}
