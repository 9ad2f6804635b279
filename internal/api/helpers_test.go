package api_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/api"
	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/config"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/oauth"
	"github.com/starling-social/starling/internal/pgtest"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/web"
)

// server is a whole Starling (website, API, workers, live hub) on a fresh database.
type server struct {
	t     *testing.T
	base  string
	pool  *pgxpool.Pool
	core  *core.Service
	oauth *oauth.Service
	api   *api.Server
	site  *web.Server
	hub   *live.Hub
	// clock shifts the authorization server's time (nanoseconds), for expiry tests.
	clock *atomic.Int64
}

const pw = "correct horse battery"

func newServer(t *testing.T, limit ...*httpx.Limiter) *server {
	t.Helper()
	return newServerWith(t, func(o *api.Options) {
		if len(limit) > 0 {
			o.RateLimit = limit[0]
		}
	})
}

// newServerWith is newServer with the API's options adjusted by configure. The server is
// built by app.Build, as the binary builds one (role all: two River clients, the
// notifier, the hub, load shedding, metrics), with a test's figures: cheap password
// hashes, fast retries and polls, no rate limits unless configure sets them.
func newServerWith(t *testing.T, configure func(*api.Options)) *server {
	t.Helper()
	return newServerApp(t, configure, nil)
}

// newServerApp is newServerWith with the whole process's options adjusted by adjust.
func newServerApp(t *testing.T, configure func(*api.Options), adjust func(*app.Options)) *server {
	t.Helper()
	_, dsn := pgtest.NewDB(t)
	// The application's pool, opened the way the binary opens it (with the query tracer).
	pool, err := store.Open(context.Background(), dsn, 20)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	base := "http://" + ln.Addr().String()
	clock := &atomic.Int64{}
	var apiOpts api.Options
	opts := app.Options{
		Config: config.Config{
			BaseURL: base, SignupsOpen: true, DBMaxConns: 20, SessionLifetime: time.Hour,
			PasswordMemoryKiB: 1024, PasswordIterations: 1, NotifyWindow: 2 * time.Millisecond,
			OAuthPasswordGrant: true,
		},
		Log:          logging.New(os.Stderr, "text", "error"),
		Mail:         mail.NewDir(t.TempDir()),
		JobRetryBase: 50 * time.Millisecond, JobRetryMax: time.Second,
		// Tests read the instance's figures right after writing: no caching of them here.
		InstanceCountsMaxAge: time.Nanosecond,
		HubPoll:              200 * time.Millisecond,
		OAuthNow:             func() time.Time { return time.Now().Add(time.Duration(clock.Load())) },
		API: func(o *api.Options) {
			configure(o)
			apiOpts = *o
		},
		// Login limits given to the API are the website's too, as the binary shares them.
		Site: func(o *web.Options) {
			o.Limits, o.LoginLimits, o.Proxies = apiOpts.LoginLimits != nil, apiOpts.LoginLimits, apiOpts.Proxies
		},
	}
	if adjust != nil {
		adjust(&opts)
	}
	a, err := app.Build(context.Background(), pool, dsn, opts)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(a.Handler)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		stopCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		a.Close(stopCtx)
	})
	return &server{t: t, base: base, pool: pool, core: a.Core, oauth: a.OAuth, api: a.API, site: a.Site, hub: a.Hub, clock: clock}
}

// user creates an account as `starling user create` does, its address verified.
func (s *server) user(name string) core.User {
	u, err := s.core.CreateUser(context.Background(), core.SignUpInput{Username: name, Email: name + "@example.com", Password: pw})
	require.NoError(s.t, err)
	return u
}

// personalToken returns a token for u with scopes.
func (s *server) personalToken(u core.User, scopes string) string {
	tok, err := s.oauth.CreatePersonalToken(context.Background(), u.ID, "test", scopes)
	require.NoError(s.t, err)
	return tok.AccessToken
}

// browser is a person's browser: cookies, no automatic redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (s *server) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, base: s.base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, target string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = b.base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	require.NoError(b.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
	}
	res, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// authorize drives the login and consent pages for authURL as username and returns the
// redirect the server answers with.
func (b *browser) authorize(authURL, username, decision string) *url.URL {
	b.t.Helper()
	u, err := url.Parse(b.authorizeLocation(authURL, username, decision))
	require.NoError(b.t, err)
	return u
}

// authorizeLocation is authorize, returning the redirect's Location as sent.
func (b *browser) authorizeLocation(authURL, username, decision string) string {
	b.t.Helper()
	res, _ := b.do(http.MethodGet, authURL, nil)
	if res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/login") {
		loc, _ := url.Parse(res.Header.Get("Location"))
		res, _ = b.do(http.MethodPost, "/login", url.Values{"login": {username}, "password": {pw}, "next": {loc.Query().Get("next")}})
		require.Equal(b.t, http.StatusSeeOther, res.StatusCode)
		res, _ = b.do(http.MethodGet, res.Header.Get("Location"), nil)
	}
	require.Equal(b.t, http.StatusOK, res.StatusCode, "consent page")
	_, page := b.do(http.MethodGet, authURL, nil)
	form := url.Values{"decision": {decision}}
	for _, m := range hiddenRe.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	res, _ = b.do(http.MethodPost, "/oauth/authorize", form)
	require.Equal(b.t, http.StatusSeeOther, res.StatusCode)
	return res.Header.Get("Location")
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+")
	return r.Replace(s)
}

// waitFor polls a count query until it reaches want.
func (s *server) waitFor(query string, want int) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		require.NoError(s.t, s.pool.QueryRow(context.Background(), query).Scan(&n))
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: %d, want %d", query, n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call makes an API request with an optional bearer token and returns the status and body.
func (s *server) call(method, path, token string, form url.Values, header ...string) (int, string, http.Header) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.base+path, body)
	require.NoError(s.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}
