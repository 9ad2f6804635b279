package main

import (
	"bufio"
	"context"
	"io"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
)

// slowSMTP is a real SMTP server whose DATA takes a while, to have a job running.
type slowSMTP struct {
	mu      sync.Mutex
	started chan struct{}
	bodies  []string
	delay   time.Duration
}

type slowSession struct{ s *slowSMTP }

func (ss slowSession) Reset()                               {}
func (ss slowSession) Logout() error                        { return nil }
func (ss slowSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss slowSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss slowSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	select {
	case ss.s.started <- struct{}{}:
	default:
	}
	time.Sleep(ss.s.delay)
	ss.s.mu.Lock()
	ss.s.bodies = append(ss.s.bodies, string(b))
	ss.s.mu.Unlock()
	return nil
}

func newSlowSMTP(t *testing.T, delay time.Duration) (*slowSMTP, string) {
	s := &slowSMTP{started: make(chan struct{}, 1), delay: delay}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return slowSession{s}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s, "smtp://" + ln.Addr().String() + "?tls=none"
}

// setupUsers creates alice and bob and returns a token for alice.
func setupUsers(t *testing.T, dsn string) string {
	e := env("DATABASE_URL", dsn, "STARLING_PASSWORD_MEMORY_KIB", "1024", "STARLING_PASSWORD_ITERATIONS", "1")
	for _, u := range []string{"alice", "bob"} {
		_, _, err := runCmd(t, e, "correct horse battery\n", "user", "create", "--username", u, "--email", u+"@example.com", "--password-stdin")
		require.NoError(t, err)
	}
	out, _, err := runCmd(t, e, "", "token", "create", "--username", "alice", "--scopes", "read write")
	require.NoError(t, err)
	return strings.TrimSpace(out)
}

func apiPost(t *testing.T, base, token, status string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/statuses", strings.NewReader(url.Values{"status": {status}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
}

// sseLines follows an SSE URL and sends every line.
func sseLines(t *testing.T, ctx context.Context, u string) chan string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	lines := make(chan string, 1000)
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

func waitLine(t *testing.T, lines chan string, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q on the stream", want)
		}
	}
}

// TestGracefulShutdown: SIGTERM while a stream is open and a job is running. The stream
// gets its final event, the job finishes, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	mailer, smtpURL := newSlowSMTP(t, 2*time.Second)
	token := setupUsers(t, dsn)
	p := startProc(t, dsn, []string{"SMTP_URL=" + smtpURL, "STARLING_MENTION_EMAIL_DELAY=0s"}, "all")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lines := sseLines(t, ctx, p.base+"/api/v1/streaming/public")
	waitLine(t, lines, ":)", 10*time.Second) // the opening comment: the stream is live

	apiPost(t, p.base, token, "Shutting down soon, @bob")
	waitLine(t, lines, "event: update", 10*time.Second)
	select {
	case <-mailer.started: // the email job is now running, inside a 2 s SMTP DATA
	case <-time.After(20 * time.Second):
		t.Fatal("the email job did not start")
	}
	code := p.stop(t)
	waitLine(t, lines, "event: reconnect", 5*time.Second)
	require.Equal(t, 0, code, "exit code")

	mailer.mu.Lock()
	sent := len(mailer.bodies)
	mailer.mu.Unlock()
	require.Equal(t, 1, sent, "the running job finished its email")
	var deliveries, unfinished int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM email_deliveries`).Scan(&deliveries))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'running'`).Scan(&unfinished))
	require.Equal(t, 1, deliveries, "and recorded it")
	require.Zero(t, unfinished, "no job left running")
	require.Contains(t, p.logs.String(), `"msg":"stopped"`)
}

var (
	tokenRe  = regexp.MustCompile(`verify-email\?token=([A-Za-z0-9_-]{43})`)
	labelRe  = regexp.MustCompile(`\{([^}]*)\}`)
	sampleRe = regexp.MustCompile(`^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$`)
)

// qpDecode returns the body of a raw message, its quoted-printable encoding undone.
func qpDecode(raw string) string {
	_, body, _ := strings.Cut(raw, "\r\n\r\n")
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(body)))
	if err != nil {
		return body
	}
	return string(b)
}

// TestMetricsAndLogsAfterAWorkload scrapes /metrics after a scripted workload: every
// family has a non-zero value, no label carries a user id or a raw path, and the logs hold
// no password, token, session id or email body.
func TestMetricsAndLogsAfterAWorkload(t *testing.T) {
	t.Parallel()
	pool, dsn := pgtest.NewDB(t)
	mailer, smtpURL := newSlowSMTP(t, 0)
	token := setupUsers(t, dsn)
	p := startProc(t, dsn, []string{"SMTP_URL=" + smtpURL, "STARLING_MENTION_EMAIL_DELAY=0s", "STARLING_LOG_LEVEL=debug"}, "all")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// A web session: sign up with a password, post, read pages.
	const password, secretBody = "unguessable passphrase 42", "BODY-MARKER-7f3a"
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	res, err := browser.PostForm(p.base+"/signup", url.Values{"username": {"carol"}, "email": {"carol@example.com"}, "password": {password}})
	require.NoError(t, err)
	res.Body.Close()
	base, _ := url.Parse(p.base)
	var session string
	for _, c := range jar.Cookies(base) {
		if c.Name == "starling_session" {
			session = c.Value
		}
	}
	require.NotEmpty(t, session)
	lines := sseLines(t, ctx, p.base+"/events?stream=public")
	waitLine(t, lines, ":)", 10*time.Second) // the opening comment: the stream is live
	for i := range 3 {
		apiPost(t, p.base, token, secretBody+" number "+string(rune('a'+i))+" for @bob and @carol")
	}
	waitLine(t, lines, "event: post", 10*time.Second)
	for _, path := range []string{"/", "/@alice", "/posts/1", "/stats", "/nope"} {
		res, err := browser.Get(p.base + path)
		require.NoError(t, err)
		res.Body.Close()
	}
	// bob's three mention emails; carol signed up and has not verified her address, so
	// she gets her verification link and no mention email.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM email_deliveries`).Scan(&n))
		if n == 3 {
			break
		}
		require.True(t, time.Now().Before(deadline), "emails not delivered: %d", n)
		time.Sleep(50 * time.Millisecond)
	}
	var verifyToken string
	for verifyToken == "" {
		mailer.mu.Lock()
		for _, b := range mailer.bodies {
			if m := tokenRe.FindStringSubmatch(qpDecode(b)); m != nil {
				verifyToken = m[1]
			}
		}
		mailer.mu.Unlock()
		require.True(t, time.Now().Before(deadline), "no verification email")
		time.Sleep(50 * time.Millisecond)
	}

	families := []string{
		"starling_http_requests_total", "starling_http_request_duration_seconds_count", "starling_events_written_total",
		"starling_live_delivery_lag_seconds_count", "starling_live_events_read_total", "starling_stream_clients",
		"starling_jobs_total", "starling_job_run_seconds_count", "starling_email_deliveries_total",
		"starling_db_pool_connections", "starling_db_pool_acquires_total", "starling_events_head_id", "starling_events_delivered_id",
		"starling_consumer_events_total", "starling_consumer_lag_seconds_count", "starling_pipeline_status_up",
	}
	// Job metrics come from River's event stream, which may trail the jobs' commits a
	// little: scrape until every family has a value (or 10 s pass).
	var body []byte
	var values map[string]float64
	// /metrics on the main address is for administrators: scrape with an admin's token.
	_, _, err = runCmd(t, env("DATABASE_URL", dsn), "", "user", "grant-admin", "alice")
	require.NoError(t, err)
	for scrapeUntil := time.Now().Add(10 * time.Second); ; {
		req, _ := http.NewRequest(http.MethodGet, p.base+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ = io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		values = map[string]float64{}
		for _, line := range strings.Split(string(body), "\n") {
			m := sampleRe.FindStringSubmatch(line)
			if m == nil || !strings.HasPrefix(m[1], "starling_") {
				continue
			}
			var v float64
			_, err := fmtSscan(m[3], &v)
			require.NoError(t, err)
			values[m[1]] += v
			for _, l := range labelRe.FindAllStringSubmatch(line, -1) {
				require.NotRegexp(t, `/posts/\d|/@[a-z]|alice|bob|carol|user_id`, l[1], "label with a user or a raw path: %s", line)
			}
		}
		missing := false
		for _, family := range families {
			missing = missing || values[family] <= 0
		}
		if !missing || time.Now().After(scrapeUntil) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, family := range families {
		require.Positive(t, values[family], "%s should be non-zero", family)
	}
	for _, c := range []string{"counters", "mentions"} {
		require.Regexp(t, `starling_consumer_behind_events\{consumer="`+c+`"\} \d+`, string(body))
		require.Regexp(t, `starling_consumer_oldest_unapplied_seconds\{consumer="`+c+`"\} [0-9.e+-]+`, string(body))
	}
	require.Contains(t, string(body), `route="/posts/{id:[0-9]+}"`)
	require.Contains(t, string(body), `route="/@{username}"`)
	require.Contains(t, string(body), `route="unmatched"`)

	// The logs mention none of the secrets.
	logs := p.logs.String()
	require.Contains(t, logs, `"msg":"mention email sent"`)
	for name, secret := range map[string]string{"password": password, "token": token, "session id": session, "email body": secretBody,
		"email verification token": verifyToken} {
		require.NotContains(t, logs, secret, "the %s appears in the logs", name)
	}
}

// TestWaitsForTheDatabase: with Postgres unreachable, a process logs and retries instead
// of crash-looping, and still stops cleanly on SIGTERM.
func TestWaitsForTheDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "STARLING_LISTEN=127.0.0.1:0", "STARLING_LOG_FORMAT=json",
		"DATABASE_URL=postgres://postgres@/starling?host="+dir+"&port=5999&connect_timeout=1")
	var logs syncBuf
	cmd.Stderr = &logs
	require.NoError(t, cmd.Start())
	require.Eventually(t, func() bool { return strings.Count(logs.String(), "database unavailable; retrying") >= 2 },
		20*time.Second, 50*time.Millisecond, "retries with a clear log line")
	require.Nil(t, cmd.ProcessState, "still running")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		require.NoError(t, err, "exit code 0")
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("did not stop")
	}
}

// TestPrivateAddress: with STARLING_METRICS_LISTEN, /metrics and the profiler are served
// there only, never on the public address.
func TestPrivateAddress(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	private := ln.Addr().String()
	ln.Close()
	p := startProc(t, dsn, []string{"STARLING_METRICS_LISTEN=" + private}, "serve")
	get := func(u string) int {
		res, err := http.Get(u)
		require.NoError(t, err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	require.Equal(t, http.StatusOK, get("http://"+private+"/metrics"))
	require.Equal(t, http.StatusOK, get("http://"+private+"/debug/pprof/"))
	require.Equal(t, http.StatusOK, get("http://"+private+"/debug/pprof/heap"))
	require.Equal(t, http.StatusNotFound, get(p.base+"/debug/pprof/"))
	require.Equal(t, http.StatusNotFound, get(p.base+"/debug/pprof/heap"))
	require.Equal(t, http.StatusNotFound, get(p.base+"/metrics"))
	require.Equal(t, http.StatusOK, get(p.base+"/healthz"))
}
