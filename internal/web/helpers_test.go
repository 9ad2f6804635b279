package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/app"
	"github.com/starling-social/starling/internal/config"
	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/httpx"
	"github.com/starling-social/starling/internal/live"
	"github.com/starling-social/starling/internal/logging"
	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/pgtest"
)

// syncBuffer is a log sink that tests can read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// site is a running website on a fresh database.
type site struct {
	hub  *live.Hub
	t    *testing.T
	srv  *httptest.Server
	pool *pgxpool.Pool
	core *core.Service
	logs *syncBuffer
	// mailDir holds the emails the site sent, as .eml files, unless a test gave its own
	// sender.
	mailDir string
}

// siteOptions adjust a test site.
type siteOptions struct {
	mail       mail.Sender
	emailDelay time.Duration
	limits     bool
	proxies    httpx.Proxies
}

// newSite builds the site with app.Build, as the binary builds one (role all), with a
// test's figures: cheap password hashes, fast retries, no limits unless opt turns them
// on.
func newSite(t *testing.T, opt ...func(*siteOptions)) *site {
	t.Helper()
	o := siteOptions{}
	for _, f := range opt {
		f(&o)
	}
	var mailDir string
	if o.mail == nil {
		mailDir = t.TempDir()
		o.mail = mail.NewDir(mailDir)
	}
	pool, dsn := pgtest.NewDB(t)
	logs := &syncBuffer{}
	cfg := config.Config{
		BaseURL: "http://starling.example.test", MailFrom: "Starling <starling@example.test>", SignupsOpen: true,
		DBMaxConns: 20, SessionLifetime: time.Hour, PasswordMemoryKiB: 1024, PasswordIterations: 1,
		NotifyWindow: 2 * time.Millisecond, MentionEmailDelay: o.emailDelay, OAuthPasswordGrant: true,
		TrustedProxies: o.proxies,
	}
	if o.limits {
		cfg.RateLimit = config.Rate{N: 300, Per: 5 * time.Minute}
	}
	a, err := app.Build(context.Background(), pool, dsn, app.Options{
		Config: cfg, Log: logging.New(logs, "json", "debug"), Mail: o.mail,
		JobRetryBase: 50 * time.Millisecond, JobRetryMax: time.Second,
	})
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler)
	t.Cleanup(func() {
		srv.CloseClientConnections() // live streams
		srv.Close()
		stopCtx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		a.Close(stopCtx)
	})
	return &site{t: t, srv: srv, pool: pool, core: a.Core, logs: logs, hub: a.Hub, mailDir: mailDir}
}

// client is one browser: a cookie jar that does not follow redirects on its own.
type client struct {
	s    *site
	http *http.Client
}

func (s *site) client() *client {
	jar, err := cookiejar.New(nil)
	require.NoError(s.t, err)
	return &client{s: s, http: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is what a test looks at.
type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (c *client) do(req *http.Request) response {
	c.s.t.Helper()
	res, err := c.http.Do(req)
	require.NoError(c.s.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.s.t, err)
	return response{status: res.StatusCode, body: string(b), location: res.Header.Get("Location"), header: res.Header}
}

func (c *client) get(path string) response {
	req, err := http.NewRequest(http.MethodGet, c.s.srv.URL+path, nil)
	require.NoError(c.s.t, err)
	return c.do(req)
}

// post sends a form the way a browser does from a page of the same site.
func (c *client) post(path string, form url.Values, header ...string) response {
	req, err := http.NewRequest(http.MethodPost, c.s.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(c.s.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.s.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return c.do(req)
}

const testPassword = "correct horse battery"

// signup creates an account through the form and leaves the client logged in.
func (c *client) signup(username string) {
	c.s.t.Helper()
	res := c.post("/signup", url.Values{
		"username": {username}, "email": {strings.ToLower(username) + "@example.com"}, "password": {testPassword},
	})
	require.Equal(c.s.t, http.StatusSeeOther, res.status, res.body)
	require.Equal(c.s.t, "/home", res.location)
}

func (s *site) count(query string, args ...any) int {
	s.t.Helper()
	var n int
	require.NoError(s.t, s.pool.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// waitFor polls query (a count) until it returns want, for work done by the workers.
func (s *site) waitFor(query string, want int, args ...any) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := s.count(query, args...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %q to be %d: still %d", query, want, got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *site) hubSubscribers() int { return s.hub.Subscribers() }
