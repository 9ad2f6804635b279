package web_test

import (
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sentEmail is one email the site wrote into its mail directory.
type sentEmail struct {
	to, subject, messageID, body string
	at                           time.Time
}

// emailsTo returns the emails sent to addr, oldest first.
func (s *site) emailsTo(addr string) []sentEmail {
	s.t.Helper()
	require.NotEmpty(s.t, s.mailDir, "the site has no mail directory")
	files, err := filepath.Glob(filepath.Join(s.mailDir, "*.eml"))
	require.NoError(s.t, err)
	var out []sentEmail
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(s.t, err)
		m, err := mail.ReadMessage(strings.NewReader(string(raw)))
		require.NoError(s.t, err)
		to, err := mail.ParseAddress(m.Header.Get("To"))
		require.NoError(s.t, err)
		if to.Address != addr {
			continue
		}
		var body io.Reader = m.Body
		if m.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(m.Body)
		}
		b, err := io.ReadAll(body)
		require.NoError(s.t, err)
		info, err := os.Stat(f)
		require.NoError(s.t, err)
		out = append(out, sentEmail{to: to.Address, subject: m.Header.Get("Subject"),
			messageID: m.Header.Get("Message-Id"), body: string(b), at: info.ModTime()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].at.Before(out[j].at) })
	return out
}

// waitEmails waits until n emails were sent to addr and returns them.
func (s *site) waitEmails(addr string, n int) []sentEmail {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := s.emailsTo(addr)
		if len(got) >= n {
			require.Len(s.t, got, n, "emails to %s", addr)
			return got
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %d emails to %s: %d", n, addr, len(got))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var verifyLinkRe = regexp.MustCompile(`http://starling\.example\.test(/verify-email\?token=[A-Za-z0-9_%-]+)`)

// verifyLink returns the path of the verification link in m.
func verifyLink(t *testing.T, m sentEmail) string {
	t.Helper()
	match := verifyLinkRe.FindStringSubmatch(m.body)
	require.NotNil(t, match, "no verification link in %q", m.body)
	return match[1]
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	return u.Query().Get("token")
}

// verifyEmail uses the newest verification link sent to addr, as c.
func (c *client) verifyEmail(addr string) {
	c.s.t.Helper()
	var got []sentEmail
	require.Eventually(c.s.t, func() bool { got = c.s.emailsTo(addr); return len(got) > 0 }, 20*time.Second, 20*time.Millisecond)
	res := c.post("/verify-email", url.Values{"token": {tokenOf(c.s.t, verifyLink(c.s.t, got[len(got)-1]))}})
	require.Equal(c.s.t, http.StatusSeeOther, res.status, res.body)
}

func TestSignupSendsOneVerificationEmailWhoseLinkVerifies(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.signup("alice")
	home := c.get("/home")
	require.Contains(t, home.body, "We sent a link to alice@example.com")
	page := c.get("/settings")
	require.Contains(t, page.body, "alice@example.com · <strong class=\"unverified\">not verified</strong>")
	require.Contains(t, page.body, `action="/settings/email/verify"`)

	got := s.waitEmails("alice@example.com", 1)
	require.Equal(t, "Confirm your email address for Starling", got[0].subject)
	link := verifyLink(t, got[0])

	// Opening the link (as a mail scanner would) verifies nothing; it asks.
	form := s.client().get(link)
	require.Equal(t, http.StatusOK, form.status)
	require.Contains(t, form.body, "Confirm that <strong>alice@example.com</strong> is the email address of <bdi>@alice</bdi>.")
	require.Contains(t, form.body, `<form method="post" action="/verify-email">`)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM users WHERE email_verified_at IS NULL`))

	res := c.post("/verify-email", url.Values{"token": {tokenOf(t, link)}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/settings", res.location)
	page = c.get("/settings")
	require.Contains(t, page.body, "Your email address alice@example.com is verified.")
	require.Contains(t, page.body, `alice@example.com · <span class="verified">verified</span>`)
	require.NotContains(t, page.body, `action="/settings/email/verify"`)
	require.Zero(t, s.count(`SELECT count(*) FROM users WHERE email_verified_at IS NULL`))

	// The link works once.
	res = c.post("/verify-email", url.Values{"token": {tokenOf(t, link)}})
	require.Equal(t, http.StatusNotFound, res.status)
	require.Contains(t, res.body, "This link is not valid")
	require.Equal(t, http.StatusNotFound, s.client().get(link).status)
	require.Equal(t, http.StatusNotFound, c.get("/verify-email?token=nonsense").status)

	s.waitFor(`SELECT count(*) FROM river_job WHERE kind = 'verify_email' AND state = 'completed'`, 1)
	require.Len(t, s.emailsTo("alice@example.com"), 1, "one verification email")
}

// TestVerificationLinkOpenedLoggedOut: the link works on a device where nobody is logged
// in, and makes no session there.
func TestVerificationLinkOpenedLoggedOut(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	s.client().signup("erin")
	link := verifyLink(t, s.waitEmails("erin@example.com", 1)[0])
	sessions := s.count(`SELECT count(*) FROM sessions`)

	phone := s.client()
	require.Equal(t, http.StatusOK, phone.get(link).status)
	res := phone.post("/verify-email", url.Values{"token": {tokenOf(t, link)}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	require.Equal(t, "/login?next=%2Fsettings", res.location)
	require.Contains(t, phone.get(res.location).body, "Your email address is verified.")
	require.Zero(t, s.count(`SELECT count(*) FROM users WHERE email_verified_at IS NULL`))
	require.Equal(t, sessions, s.count(`SELECT count(*) FROM sessions`), "no session for the logged-out visitor")
}

func TestExpiredVerificationLinkIsRefused(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.signup("bob")
	link := verifyLink(t, s.waitEmails("bob@example.com", 1)[0])
	_, err := s.pool.Exec(t.Context(), `UPDATE email_verifications SET expires_at = now() - interval '1 second'`)
	require.NoError(t, err)

	res := c.get(link)
	require.Equal(t, http.StatusGone, res.status)
	require.Contains(t, res.body, "This link has expired.")
	res = c.post("/verify-email", url.Values{"token": {tokenOf(t, link)}})
	require.Equal(t, http.StatusGone, res.status)
	require.Contains(t, c.get("/settings").body, "not verified")
}

func TestChangingTheEmailUnverifiesItAndSendsANewLink(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	other := s.client()
	other.signup("taken")
	c := s.client()
	c.signup("carol")
	c.verifyEmail("carol@example.com")
	require.Contains(t, c.get("/settings").body, `carol@example.com · <span class="verified">verified</span>`)

	res := c.post("/settings/email", url.Values{"email": {"carol@new.example"}, "email_password": {"not my password"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "That is not your current password.")
	res = c.post("/settings/email", url.Values{"email": {"Taken@example.com"}, "email_password": {testPassword}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "An account with this email address exists already.")
	res = c.post("/settings/email", url.Values{"email": {"not an address"}, "email_password": {testPassword}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, c.get("/settings").body, `carol@example.com · <span class="verified">verified</span>`, "nothing changed")

	res = c.post("/settings/email", url.Values{"email": {"carol@new.example"}, "email_password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, res.status, res.body)
	page := c.get("/settings")
	require.Contains(t, page.body, "We sent a link to carol@new.example")
	require.Contains(t, page.body, `carol@new.example · <strong class="unverified">not verified</strong>`)
	s.waitEmails("carol@new.example", 1)
	require.Len(t, s.emailsTo("carol@example.com"), 1, "the old address got only its own link")

	c.verifyEmail("carol@new.example")
	require.Contains(t, c.get("/settings").body, `carol@new.example · <span class="verified">verified</span>`)
}

func TestVerificationLinkAskedAgainIsRateLimited(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.signup("dave")
	s.waitEmails("dave@example.com", 1)

	res := c.post("/settings/email/verify", nil)
	require.Equal(t, http.StatusTooManyRequests, res.status, "the first link went out less than a minute ago")
	require.NotEmpty(t, res.header.Get("Retry-After"))

	_, err := s.pool.Exec(t.Context(), `UPDATE email_verifications SET created_at = created_at - interval '2 minutes'`)
	require.NoError(t, err)
	res = c.post("/settings/email/verify", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Contains(t, c.get("/settings").body, "We sent a new link to dave@example.com.")
	got := s.waitEmails("dave@example.com", 2)

	// Using one link ends the others.
	c.verifyEmail("dave@example.com")
	require.Equal(t, http.StatusNotFound, c.get(verifyLink(t, got[0])).status)
	res = c.post("/settings/email/verify", nil)
	require.Equal(t, http.StatusSeeOther, res.status)
	require.Contains(t, c.get("/settings").body, "Your email address is verified already.")
}
