package jobs

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	starlingmail "github.com/starling-social/starling/internal/mail"
)

// received is one message as the SMTP server got it.
type received struct {
	from, to string
	at       time.Time
	msg      *mail.Message
	body     string
}

// smtpServer is a real SMTP server (go-smtp) on a loopback port that keeps what it
// receives and can refuse the next messages with a temporary error.
type smtpServer struct {
	mu       sync.Mutex
	msgs     []received
	failNext int
	addr     string
	// hold, when set, is waited on before a message whose subject contains holdSubject
	// is accepted: a send that takes as long as the test wants.
	hold        chan struct{}
	holdSubject string
}

func newSMTPServer(t *testing.T) *smtpServer {
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) to(addr string) []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []received
	for _, m := range s.msgs {
		if m.to == addr {
			out = append(out, m)
		}
	}
	return out
}

func (s *smtpServer) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

type smtpSession struct {
	srv      *smtpServer
	from, to string
}

func (ss *smtpSession) Reset()        {}
func (ss *smtpSession) Logout() error { return nil }
func (ss *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	ss.from = from
	return nil
}
func (ss *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = to
	return nil
}
func (ss *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.srv.mu.Lock()
	hold, subject := ss.srv.hold, ss.srv.holdSubject
	ss.srv.mu.Unlock()
	if m, err := mail.ReadMessage(strings.NewReader(string(raw))); err == nil && hold != nil &&
		strings.Contains(m.Header.Get("Subject"), subject) {
		<-hold
	}
	ss.srv.mu.Lock()
	defer ss.srv.mu.Unlock()
	if ss.srv.failNext > 0 {
		ss.srv.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	msg, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(msg.Body)
	ss.srv.msgs = append(ss.srv.msgs, received{from: ss.from, to: ss.to, at: time.Now(), msg: msg, body: string(body)})
	return nil
}

func TestMentionEmailsOverSMTP(t *testing.T) {
	t.Parallel()
	srv := newSMTPServer(t)
	sender, err := starlingmail.NewSMTP("smtp://" + srv.addr + "?tls=none")
	require.NoError(t, err)
	const delay = 1500 * time.Millisecond
	e := newEnv(t, Config{Work: true, Mail: sender, MailFrom: "Starling <starling@example.test>",
		BaseURL: "https://starling.example.test", RetryBase: 50 * time.Millisecond, RetryMax: time.Second}, delay)
	ctx := context.Background()
	alice, _, carol, _ := e.user("alice"), e.user("bob"), e.user("carol"), e.user("dave")
	require.NoError(t, e.core.UpdateSettings(ctx, carol.ID, core.Settings{EmailMentions: false}))
	e.start()

	// A mention of bob (opted in) and carol (opted out).
	posted := time.Now()
	p, err := e.core.CreatePost(ctx, alice.ID, "Lunch? @bob @carol <b>now</b> & later")
	require.NoError(t, err)
	// A mention of dave, deleted before the delay is over.
	quick, err := e.core.CreatePost(ctx, alice.ID, "oops @dave")
	require.NoError(t, err)
	waitCount(t, e, `SELECT count(*) FROM notifications`, 3)
	// Every state: on a loaded machine the consumer may reach the posts after the delay
	// has passed, and the jobs are available at once (that they wait is checked below:
	// nothing sent yet, and bob's sent after the delay).
	require.Equal(t, 2, e.count(`SELECT count(*) FROM river_job WHERE kind = 'mention_email'`),
		"bob's and dave's emails; carol gets none")
	// The delay counts from when the consumer scheduled each email, so the checks that
	// depend on "before the delay" compare the clock with each job's scheduled time: on a
	// loaded machine this goroutine may only get here after it has passed.
	bobDue, daveDue := emailDue(t, e, "bob"), emailDue(t, e, "dave")
	require.NoError(t, e.core.DeletePost(ctx, alice, quick.ID))
	deletedInTime := time.Now().Before(daveDue)
	if now := time.Now(); now.Before(bobDue) && now.Before(daveDue) {
		require.Zero(t, srv.total(), "nothing is sent before the delay")
	} else {
		t.Logf("the delay had passed before the first check (%s late); the send times are checked below", now.Sub(bobDue))
	}
	e.waitIdle(30 * time.Second)

	got := srv.to("bob@example.com")
	require.Len(t, got, 1, "exactly one email to bob")
	m := got[0]
	require.GreaterOrEqual(t, m.at.Sub(posted), delay, "sent after the delay")
	require.False(t, m.at.Before(bobDue), "sent no earlier than scheduled")
	require.Equal(t, "starling@example.test", m.from)
	require.Equal(t, "@alice mentioned you on Starling", m.msg.Header.Get("Subject"))
	require.Equal(t, fmt.Sprintf("<mention-%d@starling.example.test>", notificationID(t, e, p.ID)), m.msg.Header.Get("Message-Id"))
	require.Equal(t, "auto-generated", m.msg.Header.Get("Auto-Submitted"))
	require.Contains(t, m.msg.Header.Get("Content-Type"), "text/plain")
	body := decodeQP(t, m)
	require.Contains(t, body, "Hi @bob,")
	require.Contains(t, body, "Lunch? @bob @carol <b>now</b> & later", "plain text, as written")
	require.Contains(t, body, fmt.Sprintf("https://starling.example.test/posts/%d", p.ID))
	require.Contains(t, body, "https://starling.example.test/settings")
	require.Empty(t, srv.to("carol@example.com"), "opted out")
	if deletedInTime {
		require.Empty(t, srv.to("dave@example.com"), "post deleted before the delay")
	} else {
		t.Logf("dave's post was deleted after its email was due; not checked")
	}

	// The mail server refuses once: the job retries and exactly one email arrives.
	srv.mu.Lock()
	srv.failNext = 1
	srv.mu.Unlock()
	p2, err := e.core.CreatePost(ctx, alice.ID, "again, @bob")
	require.NoError(t, err)
	waitCount(t, e, `SELECT count(*) FROM email_deliveries`, 2)
	e.waitIdle(30 * time.Second)
	require.Len(t, srv.to("bob@example.com"), 2)
	var attempts int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT attempt FROM river_job WHERE kind = 'mention_email'
		AND (args->>'notification_id')::bigint = $1`, notificationID(t, e, p2.ID)).Scan(&attempts))
	require.Equal(t, 2, attempts, "the refused attempt was retried")

	// Running the email jobs again once their deliveries are recorded sends nothing.
	e.rerun("mention_email")
	require.Len(t, srv.to("bob@example.com"), 2, "no second send after a recorded delivery")
}

// emailDue is when the mention email to username was scheduled to be sent.
func emailDue(t *testing.T, e *env, username string) time.Time {
	t.Helper()
	var due time.Time
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT j.scheduled_at FROM river_job j
		JOIN notifications n ON n.id = (j.args->>'notification_id')::bigint
		JOIN users u ON u.id = n.recipient_id
		WHERE j.kind = 'mention_email' AND u.username = $1`, username).Scan(&due))
	return due
}

func notificationID(t *testing.T, e *env, postID int64) int64 {
	var id int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT id FROM notifications WHERE post_id = $1`, postID).Scan(&id))
	return id
}

func waitCount(t *testing.T, e *env, query string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for e.count(query) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: want %d, have %d", query, want, e.count(query))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// decodeQP undoes the quoted-printable transfer encoding of a received body.
func decodeQP(t *testing.T, m received) string {
	t.Helper()
	if m.msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
		return m.body
	}
	b, err := io.ReadAll(qpReader(m.body))
	require.NoError(t, err)
	return string(b)
}
