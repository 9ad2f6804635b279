package jobs

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

func TestNoMentionEmailToAnUnverifiedAddress(t *testing.T) {
	t.Parallel()
	e, srv := newSMTPEnv(t, core.MentionEmailBound{})
	ctx := context.Background()
	alice, bob, _ := e.user("alice"), e.signup("bob"), e.user("carol")
	e.start()
	_, err := e.core.CreatePost(ctx, alice.ID, "Click here, @bob and @carol: https://phish.example")
	require.NoError(t, err)
	waitCount(t, e, `SELECT count(*) FROM notifications`, 2)
	e.waitIdle(20 * time.Second)

	require.Equal(t, 1, e.count(`SELECT count(*) FROM notifications WHERE recipient_id = $1`, bob.ID), "bob is notified")
	require.Len(t, srv.to("carol@example.com"), 1, "carol's address is verified")
	got := srv.to("bob@example.com")
	require.Len(t, got, 1, "bob gets his verification link and no mention")
	require.Equal(t, "Confirm your email address for Starling", got[0].msg.Header.Get("Subject"))
	require.Zero(t, e.count(`SELECT count(*) FROM email_deliveries d JOIN notifications n ON n.id = d.notification_id
		WHERE n.recipient_id = $1`, bob.ID))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM river_job WHERE kind = 'mention_email' AND state = 'completed'`))

	// Once bob uses his link, his mentions are emailed.
	_, err = e.core.VerifyEmail(ctx, tokenIn(t, got[0]))
	require.NoError(t, err)
	_, err = e.core.CreatePost(ctx, alice.ID, "welcome, @bob")
	require.NoError(t, err)
	waitCount(t, e, `SELECT count(*) FROM email_deliveries`, 2)
	e.waitIdle(20 * time.Second)
	got = srv.to("bob@example.com")
	require.Len(t, got, 2)
	require.Equal(t, "@alice mentioned you on Starling", got[1].msg.Header.Get("Subject"))
}

// TestMentionsPastTheBoundGoIntoOneDigest: with a bound of 2 single emails per window, 6
// quick mentions of bob make 2 single emails and one digest holding the other 4, each
// notification emailed exactly once, even when every email job runs again.
func TestMentionsPastTheBoundGoIntoOneDigest(t *testing.T) {
	t.Parallel()
	// The window must outlast the time the six plans take on a loaded machine, or a
	// third single email is allowed; 5 s is ample.
	const window = 5 * time.Second
	e, srv := newSMTPEnv(t, core.MentionEmailBound{Limit: 2, Window: window})
	ctx := context.Background()
	alice, _ := e.user("alice"), e.user("bob")
	e.start()
	var bodies []string
	for i := range 6 {
		body := fmt.Sprintf("mention number %d, @bob", i)
		bodies = append(bodies, body)
		_, err := e.core.CreatePost(ctx, alice.ID, body)
		require.NoError(t, err)
	}
	waitCount(t, e, `SELECT count(*) FROM mention_email_plans`, 6)
	// One digest (waiting for its window, or already sending it when this machine is slow).
	require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE kind = 'mention_digest'`), "one digest")
	e.waitIdle(window + 20*time.Second)

	got := srv.to("bob@example.com")
	require.Len(t, got, 3, "2 single emails and one digest")
	var digests []received
	for _, m := range got {
		if strings.HasPrefix(m.msg.Header.Get("Message-Id"), "<digest-") {
			digests = append(digests, m)
		}
	}
	require.Len(t, digests, 1)
	d := digests[0]
	require.Equal(t, "You were mentioned 4 more times on Starling", d.msg.Header.Get("Subject"))
	// Every post's text is in exactly one email.
	for _, b := range bodies {
		n := 0
		for _, m := range got {
			n += strings.Count(decodeQP(t, m), b)
		}
		require.Equal(t, 1, n, "%q emailed once", b)
	}
	require.Contains(t, decodeQP(t, d), "alice (@alice):\r\n    mention number", "who wrote what")
	require.Equal(t, 6, e.count(`SELECT count(*) FROM email_deliveries`), "one delivery row per notification")
	require.Equal(t, 4, e.count(`SELECT count(*) FROM email_deliveries WHERE message_id = $1`,
		strings.Trim(d.msg.Header.Get("Message-Id"), "<>")))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM mention_email_plans WHERE NOT digest`))

	// Every email job running again sends nothing more.
	require.Equal(t, 7, e.rerun("mention_email", "mention_digest"))
	require.Equal(t, 3, srv.total())
	require.Equal(t, 6, e.count(`SELECT count(*) FROM email_deliveries`))
}

// TestAMentionPlannedWhileTheDigestIsSentGetsTheNextOne: the digest job takes the waiting
// mentions, then sends; a mention that goes to the digest meanwhile is not in that email,
// so the digest enqueues the next one as it finishes.
func TestAMentionPlannedWhileTheDigestIsSentGetsTheNextOne(t *testing.T) {
	t.Parallel()
	// "three" is a single email because the digest starts a window after "two" was
	// planned, so "one" is out of the window by then; "four" must be planned within a window
	// of "three", which takes a notification and an email job on a loaded machine: 6 s is
	// ample (2 s was not, under the race detector with other packages running).
	const window = 6 * time.Second
	e, srv := newSMTPEnv(t, core.MentionEmailBound{Limit: 1, Window: window})
	ctx := context.Background()
	alice, _ := e.user("alice"), e.user("bob")
	hold := make(chan struct{})
	srv.mu.Lock()
	srv.hold, srv.holdSubject = hold, "more"
	srv.mu.Unlock()
	e.start()

	post := func(body string) {
		t.Helper()
		_, err := e.core.CreatePost(ctx, alice.ID, body)
		require.NoError(t, err)
	}
	post("one @bob")
	waitCount(t, e, `SELECT count(*) FROM email_deliveries`, 1)
	post("two @bob") // over the bound: waits for the digest
	waitCount(t, e, `SELECT count(*) FROM mention_email_plans WHERE digest`, 1)
	// The digest starts after the window and is held in the middle of its send.
	waitCount(t, e, `SELECT count(*) FROM mention_email_plans WHERE digest_job_id IS NOT NULL`, 1)
	waitCount(t, e, `SELECT count(*) FROM river_job WHERE kind = 'mention_digest' AND state = 'running'`, 1)
	// Meanwhile "three" is emailed on its own (the window has passed) and "four" waits,
	// absorbed by the running digest's job, which did not take it.
	post("three @bob")
	waitCount(t, e, `SELECT count(*) FROM email_deliveries`, 2)
	post("four @bob")
	waitCount(t, e, `SELECT count(*) FROM mention_email_plans WHERE digest AND digest_job_id IS NULL`, 1)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE kind = 'mention_digest'`))
	close(hold)

	e.waitIdle(window + 20*time.Second)
	require.Equal(t, 2, e.count(`SELECT count(*) FROM river_job WHERE kind = 'mention_digest' AND state = 'completed'`))
	got := srv.to("bob@example.com")
	require.Len(t, got, 4)
	require.Equal(t, "You were mentioned once more on Starling", got[3].msg.Header.Get("Subject"))
	require.Contains(t, decodeQP(t, got[3]), "four @bob")
	require.Equal(t, 4, e.count(`SELECT count(*) FROM email_deliveries`))
}
