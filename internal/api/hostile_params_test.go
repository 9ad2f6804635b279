package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
)

// hostileValues are what the parameters of every route get in TestHostileParameters. The
// first two are not text Postgres can store (it answers them with an error, which used to
// become a 500); the others are text no handler expects.
var hostileValues = []string{
	"a\x00b",                  // a NUL character
	"\xff\xfe",                // bytes that are not UTF-8
	strings.Repeat("é", 3000), // 6,000 bytes
	"99999999999999999999999", // past int64
}

// paramNames reads the parameter names the handlers of dir read, from their source: the
// names given to the fields reader, the query and the form. New parameters are fuzzed
// without anyone listing them.
func paramNames(t *testing.T, dir string, extra ...string) []string {
	t.Helper()
	root, err := pgtest.RepoRoot()
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
	require.NoError(t, err)
	call := regexp.MustCompile(`\.(?:String|Bool|Int|ID|Time|Strings|IDs|Len|Object|Has|Get|Ignore|Fail)\("([A-Za-z_]+)(?:\[\])?"`)
	index := regexp.MustCompile(`(?:PostForm|Form|q|query)\["([A-Za-z_]+)(?:\[\])?"\]`)
	list := regexp.MustCompile(`(?m)^var \w+Params = \[\]string\{(.*)\}$`)
	quoted := regexp.MustCompile(`"([A-Za-z_]+)"`)
	seen := map[string]bool{}
	for _, n := range extra {
		seen[n] = true
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, re := range []*regexp.Regexp{call, index} {
			for _, m := range re.FindAllSubmatch(src, -1) {
				seen[string(m[1])] = true
			}
		}
		for _, m := range list.FindAllSubmatch(src, -1) {
			for _, q := range quoted.FindAllSubmatch(m[1], -1) {
				seen[string(q[1])] = true
			}
		}
	}
	delete(seen, "Idempotency-Key") // headers, sent as headers below
	delete(seen, "Last-Event-ID")
	delete(seen, "Authorization")
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	require.Greater(t, len(out), 20, "found too few parameter names: %v", out)
	return out
}

// route is one method and path template of a router.
type route struct{ method, path string }

// walk lists r's routes; a route without methods (a path prefix) is a GET.
func walk(t *testing.T, r *mux.Router) []route {
	t.Helper()
	var out []route
	require.NoError(t, r.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := rt.GetMethods()
		if err != nil {
			methods = []string{http.MethodGet}
		}
		for _, m := range methods {
			if m != http.MethodHead {
				out = append(out, route{m, tpl})
			}
		}
		return nil
	}))
	require.NotEmpty(t, out)
	return out
}

var pathVar = regexp.MustCompile(`\{([a-z_]+)(?::[^}]*)?\}`)

// fill puts v, escaped, in every variable of a path template.
func fill(tpl, v string) string {
	return pathVar.ReplaceAllLiteralString(tpl, url.PathEscape(v))
}

// probe is one request of TestHostileParameters.
type probe struct {
	what        string
	method, url string
	contentType string
	body        []byte
	header      http.Header
}

// bodies encodes names=v as a form, a multipart form and JSON (JSON written by hand, so
// that bytes that are not UTF-8 reach the server as they are).
func bodies(names []string, v string) []probe {
	form := url.Values{}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	var js strings.Builder
	js.WriteString("{")
	for i, n := range names {
		form.Set(n, v)
		mw.WriteField(n, v)
		if i > 0 {
			js.WriteString(",")
		}
		fmt.Fprintf(&js, "%q:\"%s\"", n, strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\x00", `\u0000`).Replace(v))
	}
	mw.Close()
	js.WriteString("}")
	return []probe{
		{what: "form", contentType: "application/x-www-form-urlencoded", body: []byte(form.Encode())},
		{what: "multipart", contentType: mw.FormDataContentType(), body: mp.Bytes()},
		{what: "json", contentType: "application/json", body: []byte(js.String())},
	}
}

// query is names=v as a query string.
func query(names []string, v string) string {
	q := url.Values{}
	for _, n := range names {
		q.Set(n, v)
	}
	return q.Encode()
}

// with returns base with k set to v.
func with(base url.Values, k, v string) url.Values {
	out := url.Values{}
	for bk, bv := range base {
		out[bk] = bv
	}
	out.Set(k, v)
	return out
}

// TestHostileParameters sends every route of the API and the website requests whose path
// variables, query, form, multipart and JSON fields (every name the handlers read, from
// their source) and Idempotency-Key and Last-Event-ID headers hold a NUL, bytes that are
// not UTF-8, a long text or a number past int64, signed in, and checks that none gets a
// 5xx. Each value goes in every field at once, and then in one field at a time of a
// request that is otherwise valid (a fixed corpus for the endpoints that need one, and
// for the API every field the endpoint takes), so that it gets past the other checks to
// the handler. (Before, /oauth/authorize, /oauth/token, /oauth/revoke, /api/v1/apps,
// /login, /settings/tokens and more answered 500.)
func TestHostileParameters(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	alice := s.user("alice")
	s.user("bob")
	tok := s.personalToken(alice, "read write follow push")
	spare := s.personalToken(alice, "read")
	st, body, _ := s.call(http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"hello @bob"}})
	require.Equal(t, http.StatusOK, st, body)
	app := s.app("read write", "https://client.example/cb")

	var sent, refused atomic.Int64
	var mu sync.Mutex
	var failures []string
	check := func(p probe, st int, body string) {
		sent.Add(1)
		if st >= 400 {
			refused.Add(1)
		}
		if st >= 500 {
			mu.Lock()
			failures = append(failures, fmt.Sprintf("%s %s (%s): %d %.200s", p.method, p.url, p.what, st, body))
			mu.Unlock()
		}
	}
	do := func(c *http.Client, p probe) (int, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, p.method, s.base+p.url, bytes.NewReader(p.body))
		require.NoError(t, err)
		for k, vs := range p.header {
			req.Header[k] = vs
		}
		if p.contentType != "" {
			req.Header.Set("Content-Type", p.contentType)
		}
		res, err := c.Do(req)
		if err != nil {
			return 0, err.Error() // the client refused to send it (a NUL in a header): nothing to check
		}
		defer res.Body.Close()
		if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
			return res.StatusCode, "(a stream)"
		}
		b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
		return res.StatusCode, string(b)
	}
	run := func(c *http.Client, probes []probe) {
		work := make(chan probe)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for p := range work {
					if st, body := do(c, p); st != 0 {
						check(p, st, body)
					}
				}
			})
		}
		for _, p := range probes {
			work <- p
		}
		close(work)
		wg.Wait()
	}
	form := func(what, method, path string, v url.Values, h http.Header) probe {
		return probe{what: what, method: method, url: path, header: h,
			contentType: "application/x-www-form-urlencoded", body: []byte(v.Encode())}
	}

	// The API, with a token for every scope.
	apiNames := paramNames(t, "internal/api", "access_token", "stream", "tag", "list")
	auth := http.Header{"Authorization": {"Bearer " + tok}}
	// Valid requests of the endpoints whose fields depend on each other.
	apiCorpus := map[string][]url.Values{
		"POST /api/v1/apps": {{"client_name": {"x"}, "redirect_uris": {"myapp://cb"}, "scopes": {"read"}, "website": {"https://x.example"}}},
		"POST /oauth/token": {
			{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "scope": {"read"}},
			{"grant_type": {"password"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "username": {"alice"}, "password": {pw}, "scope": {"read"}},
			{"grant_type": {"authorization_code"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "code": {"x"}, "redirect_uri": {"https://client.example/cb"}, "code_verifier": {strings.Repeat("v", 43)}},
		},
		"POST /oauth/revoke":    {{"client_id": {app.ClientID}, "client_secret": {app.ClientSecret}, "token": {spare}}},
		"POST /api/v1/statuses": {{"status": {"hi"}, "visibility": {"public"}, "language": {"en"}}},
		"POST /api/v1/markers":  {{"home[last_read_id]": {"1"}}},
	}
	var probes, learn []probe
	for _, rt := range walk(t, s.api.Router()) {
		key, path := rt.method+" "+rt.path, fill(rt.path, "1")
		for _, v := range hostileValues {
			h := auth.Clone()
			if v != hostileValues[0] { // the client will not send a NUL in a header
				h.Set("Idempotency-Key", v)
				h.Set("Last-Event-ID", v)
			}
			probes = append(probes, probe{what: "every query field and headers", method: rt.method, url: path + "?" + query(apiNames, v), header: h})
			if path != rt.path {
				probes = append(probes, probe{what: "path", method: rt.method, url: fill(rt.path, v), header: auth})
			}
			if rt.method != http.MethodGet {
				for _, b := range bodies(apiNames, v) {
					b.what, b.method, b.url, b.header = "every field, "+b.what, rt.method, path, auth
					probes = append(probes, b)
				}
			}
			for _, base := range apiCorpus[key] {
				for k := range base {
					probes = append(probes, form("corpus field "+k, rt.method, path, with(base, k, v), auth))
				}
				if rt.path == "/oauth/token" || rt.path == "/oauth/revoke" { // the client in HTTP Basic
					p := form("basic auth", rt.method, path, url.Values{"grant_type": base["grant_type"], "token": base["token"]}, auth.Clone())
					p.header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(v+":"+v)))
					probes = append(probes, p)
				}
			}
		}
		// Which fields does the endpoint take? Ask it with harmless values.
		p := probe{what: "learn", method: rt.method, url: path + "?" + query(apiNames, "1"), header: auth}
		learn = append(learn, p)
	}
	run(http.DefaultClient, probes)
	// Then each field the endpoint takes, alone, with each value.
	var single []probe
	for _, p := range learn {
		st, body := do(http.DefaultClient, p)
		check(p, st, body)
		if st != http.StatusUnprocessableEntity {
			continue
		}
		path, _, _ := strings.Cut(p.url, "?")
		for _, n := range apiNames {
			if strings.Contains(body, `"`+n+`":[{"description":"is not a field this endpoint takes"`) {
				continue
			}
			for i, v := range hostileValues {
				if p.method == http.MethodGet && i < 2 {
					continue // a query that is not text never reaches a handler: "every query field" covers it
				}
				if p.method == http.MethodGet {
					single = append(single, probe{what: "taken field " + n, method: p.method, url: path + "?" + query([]string{n}, v), header: auth})
				} else {
					single = append(single, form("taken field "+n, p.method, path, url.Values{n: {v}}, auth))
				}
			}
		}
	}
	run(http.DefaultClient, single)

	// The website, signed in (afresh for each route: some routes end the session), with
	// forms sent from the site itself.
	webNames := paramNames(t, "internal/web", "next", "stream", "before")
	origin := http.Header{"Origin": {s.base}}
	webCorpus := map[string][]url.Values{
		"POST /login":  {{"login": {"alice"}, "password": {pw}, "next": {"/home"}}},
		"POST /signup": {{"username": {"carol"}, "email": {"carol@example.com"}, "password": {pw}, "display_name": {"Carol"}}},
		"GET /oauth/authorize": {{"client_id": {app.ClientID}, "redirect_uri": {"https://client.example/cb"}, "response_type": {"code"},
			"scope": {"read"}, "state": {"s"}, "code_challenge": {strings.Repeat("c", 43)}, "code_challenge_method": {"S256"}}},
		"POST /oauth/authorize": {{"client_id": {app.ClientID}, "redirect_uri": {"https://client.example/cb"}, "response_type": {"code"},
			"scope": {"read"}, "state": {"s"}, "decision": {"approve"}}},
		"POST /settings/tokens":   {{"name": {"x"}, "scopes": {"read"}, "current_password": {pw}}},
		"POST /settings":          {{"display_name": {"Alice"}, "bio": {"hi"}, "email_mentions": {"on"}}},
		"POST /settings/password": {{"current_password": {pw}, "new_password": {pw + "!"}}},
		"POST /posts":             {{"body": {"hello"}, "next": {"/"}}},
	}
	for _, rt := range walk(t, s.site.Routes()) {
		b := s.browser()
		res, _ := b.do(http.MethodPost, "/login", url.Values{"login": {"alice"}, "password": {pw}})
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		path := fill(strings.ReplaceAll(rt.path, "{username}", "bob"), "1")
		var probes []probe
		for _, v := range hostileValues {
			probes = append(probes, probe{what: "every query field", method: rt.method, url: path + "?" + query(webNames, v), header: origin})
			if path != rt.path {
				probes = append(probes, probe{what: "path", method: rt.method, url: fill(rt.path, v), header: origin})
			}
			if rt.method == http.MethodPost {
				f := bodies(webNames, v)[0]
				f.what, f.method, f.url, f.header = "every field", rt.method, path, origin
				probes = append(probes, f)
			}
			for _, base := range webCorpus[rt.method+" "+rt.path] {
				for k := range base {
					if rt.method == http.MethodGet {
						probes = append(probes, probe{what: "corpus field " + k, method: rt.method, url: path + "?" + with(base, k, v).Encode(), header: origin})
					} else {
						probes = append(probes, form("corpus field "+k, rt.method, path, with(base, k, v), origin))
					}
				}
			}
		}
		run(b.c, probes)
	}

	require.Empty(t, failures, "5xx answers")
	t.Logf("%d requests, %d refused with 4xx, none 5xx", sent.Load(), refused.Load())
}

// TestNotTextIsRefusedClearly: a NUL or bytes that are not UTF-8 get a 4xx that says what
// is wrong, naming the field where there is one.
func TestNotTextIsRefusedClearly(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.user("alice")
	app := s.app("read", "https://client.example/cb")
	for _, bad := range []string{"a\x00b", "\xff"} {
		st, body, _ := s.call(http.MethodPost, "/api/v1/apps", "", url.Values{"client_name": {bad}, "redirect_uris": {"myapp://"}})
		require.Equal(t, http.StatusUnprocessableEntity, st, body)
		require.Contains(t, body, `client_name: must be text: valid UTF-8 without NUL characters`)

		st, body, _ = s.call(http.MethodGet, "/api/v1/accounts/lookup?acct="+url.QueryEscape(bad), "", nil)
		require.Equal(t, http.StatusBadRequest, st, body)
		require.Contains(t, body, `the query parameter \"acct\" must be text`)

		st, body, _ = s.call(http.MethodPost, "/oauth/token", "", url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}},
			"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(bad+":"+app.ClientSecret)))
		require.Equal(t, http.StatusUnauthorized, st, body)
		require.Contains(t, body, `"error":"invalid_client"`)

		b := s.browser()
		res, page := b.do(http.MethodPost, "/login", url.Values{"login": {bad}, "password": {pw}})
		require.Equal(t, http.StatusUnprocessableEntity, res.StatusCode)
		require.Contains(t, page, "not valid UTF-8")
		res, page = b.do(http.MethodGet, "/oauth/authorize?response_type=code&client_id="+url.QueryEscape(bad), nil)
		require.Equal(t, http.StatusBadRequest, res.StatusCode)
		require.Contains(t, page, "not valid UTF-8")
	}
}
