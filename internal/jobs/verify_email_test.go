package jobs

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
	starlingmail "github.com/starling-social/starling/internal/mail"
)

var linkRe = regexp.MustCompile(`https://starling\.example\.test/verify-email\?token=([A-Za-z0-9_%-]+)`)

// newSMTPEnv is an env whose workers send through a real SMTP server on loopback.
func newSMTPEnv(t *testing.T, bound core.MentionEmailBound) (*env, *smtpServer) {
	srv := newSMTPServer(t)
	sender, err := starlingmail.NewSMTP("smtp://" + srv.addr + "?tls=none")
	require.NoError(t, err)
	e := newEnv(t, Config{Work: true, Mail: sender, MailFrom: "Starling <starling@example.test>",
		BaseURL: "https://starling.example.test", RetryBase: 50 * time.Millisecond, RetryMax: time.Second,
		MentionEmailBound: bound}, 0)
	return e, srv
}

// tokenIn returns the verification token in the link of m.
func tokenIn(t *testing.T, m received) string {
	t.Helper()
	match := linkRe.FindStringSubmatch(decodeQP(t, m))
	require.NotNil(t, match, "no verification link in %q", decodeQP(t, m))
	token, err := url.QueryUnescape(match[1])
	require.NoError(t, err)
	return token
}

func TestSignupSendsOneVerificationEmailWhoseLinkVerifiesOnce(t *testing.T) {
	t.Parallel()
	e, srv := newSMTPEnv(t, core.MentionEmailBound{})
	ctx := context.Background()
	alice := e.signup("alice")
	require.False(t, alice.EmailVerified)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE kind = 'verify_email'`), "enqueued with the signup")
	e.start()
	e.waitIdle(20 * time.Second)

	got := srv.to("alice@example.com")
	require.Len(t, got, 1, "one verification email")
	m := got[0]
	require.Equal(t, "Confirm your email address for Starling", m.msg.Header.Get("Subject"))
	var jobID int64
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT id FROM river_job WHERE kind = 'verify_email'`).Scan(&jobID))
	require.Equal(t, fmt.Sprintf("<verify-%d@starling.example.test>", jobID), m.msg.Header.Get("Message-Id"))
	require.Contains(t, decodeQP(t, m), "@alice")
	token := tokenIn(t, m)

	// Only the token's hash is stored, and the job carries only the account's id.
	sum := sha256.Sum256([]byte(token))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM email_verifications WHERE token_hash = $1 AND email = 'alice@example.com'`, sum[:]))
	require.Zero(t, e.count(`SELECT count(*) FROM river_job WHERE args::text LIKE '%' || $1 || '%'`, token))
	require.Zero(t, e.count(`SELECT count(*) FROM email_verifications WHERE token_hash = convert_to($1, 'UTF8')`, token))

	p, err := e.core.CheckEmailVerification(ctx, token)
	require.NoError(t, err)
	require.Equal(t, core.PendingVerification{Username: "alice", Email: "alice@example.com"}, p)
	u, err := e.core.UserByID(ctx, alice.ID)
	require.NoError(t, err)
	require.False(t, u.EmailVerified, "checking changes nothing")

	u, err = e.core.VerifyEmail(ctx, token)
	require.NoError(t, err)
	require.True(t, u.EmailVerified)
	u, err = e.core.UserByID(ctx, alice.ID)
	require.NoError(t, err)
	require.True(t, u.EmailVerified)

	_, err = e.core.VerifyEmail(ctx, token)
	require.ErrorIs(t, err, core.ErrVerificationInvalid, "a used link is refused")
	_, err = e.core.VerifyEmail(ctx, token[:42]+"A")
	require.ErrorIs(t, err, core.ErrVerificationInvalid)

	// A verified address gets no further link, whoever asks.
	require.ErrorIs(t, e.core.ResendEmailVerification(ctx, alice.ID), core.ErrAlreadyVerified)
	require.Equal(t, 1, e.rerun("verify_email"))
	require.Len(t, srv.to("alice@example.com"), 1)
}

func TestExpiredOrSupersededVerificationLinksAreRefused(t *testing.T) {
	t.Parallel()
	e, srv := newSMTPEnv(t, core.MentionEmailBound{})
	ctx := context.Background()
	bob := e.signup("bob")
	e.start()
	waitCount(t, e, `SELECT count(*) FROM email_verifications`, 1)
	e.waitIdle(20 * time.Second)
	require.Len(t, srv.to("bob@example.com"), 1)
	old := tokenIn(t, srv.to("bob@example.com")[0])

	_, err := e.pool.Exec(ctx, `UPDATE email_verifications SET expires_at = now() - interval '1 second'`)
	require.NoError(t, err)
	_, err = e.core.CheckEmailVerification(ctx, old)
	require.ErrorIs(t, err, core.ErrVerificationExpired)
	_, err = e.core.VerifyEmail(ctx, old)
	require.ErrorIs(t, err, core.ErrVerificationExpired)
	u, _ := e.core.UserByID(ctx, bob.ID)
	require.False(t, u.EmailVerified)

	// A new address makes the account unverified and mails a link to it; a link sent to
	// the old address cannot verify the new one.
	_, err = e.pool.Exec(ctx, `UPDATE email_verifications SET expires_at = now() + interval '1 hour'`)
	require.NoError(t, err)
	_, err = e.core.ChangeEmail(ctx, bob.ID, "wrong password", "robert@example.com")
	var verr *core.ValidationError
	require.ErrorAs(t, err, &verr)
	require.Contains(t, verr.Fields, "email_password")
	changed, err := e.core.ChangeEmail(ctx, bob.ID, "correct horse battery", "robert@example.com")
	require.NoError(t, err)
	require.True(t, changed)
	e.waitIdle(20 * time.Second)
	require.Len(t, srv.to("robert@example.com"), 1)
	_, err = e.core.VerifyEmail(ctx, old)
	require.ErrorIs(t, err, core.ErrVerificationInvalid, "the old address's link")
	u, err = e.core.VerifyEmail(ctx, tokenIn(t, srv.to("robert@example.com")[0]))
	require.NoError(t, err)
	require.Equal(t, "robert@example.com", u.Email)
	require.True(t, u.EmailVerified)
}

func TestVerificationEmailsAreLimitedPerAccount(t *testing.T) {
	t.Parallel()
	e, srv := newSMTPEnv(t, core.MentionEmailBound{})
	ctx := context.Background()
	carol := e.signup("carol")
	e.start()
	e.waitIdle(20 * time.Second)
	require.Len(t, srv.to("carol@example.com"), 1)

	// Asking again within a minute of the last link is refused, and a double click that
	// got past that check (two jobs at once) sends one email.
	var later *core.RetryLaterError
	require.ErrorAs(t, e.core.ResendEmailVerification(ctx, carol.ID), &later)
	require.WithinDuration(t, time.Now().Add(core.VerificationResendGap), later.Until, 5*time.Second)

	backdate := func() {
		_, err := e.pool.Exec(ctx, `UPDATE email_verifications SET created_at = created_at - interval '2 minutes'`)
		require.NoError(t, err)
	}
	backdate()
	_, err := e.runner.Client.InsertMany(ctx, []river.InsertManyParams{
		{Args: jobargs.VerifyEmail{UserID: carol.ID}}, {Args: jobargs.VerifyEmail{UserID: carol.ID}},
	})
	require.NoError(t, err)
	e.waitIdle(20 * time.Second)
	require.Len(t, srv.to("carol@example.com"), 2, "the double click sent one email")

	for len(srv.to("carol@example.com")) < core.VerificationEmailsPerHour {
		backdate()
		require.NoError(t, e.core.ResendEmailVerification(ctx, carol.ID))
		e.waitIdle(20 * time.Second)
	}
	backdate()
	require.ErrorAs(t, e.core.ResendEmailVerification(ctx, carol.ID), &later, "past the hourly allowance")
	// Address changes count against the same allowance: the change is saved, no email goes.
	_, err = e.core.ChangeEmail(ctx, carol.ID, "correct horse battery", "caroline@example.com")
	require.NoError(t, err)
	e.waitIdle(20 * time.Second)
	require.Empty(t, srv.to("caroline@example.com"))
	require.Len(t, srv.to("carol@example.com"), core.VerificationEmailsPerHour)

	// Only the links sent were stored.
	require.Equal(t, core.VerificationEmailsPerHour, e.count(`SELECT count(*) FROM email_verifications WHERE user_id = $1`, carol.ID))
}
