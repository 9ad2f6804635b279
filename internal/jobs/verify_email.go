package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/mail"
)

// verifyEmailWorker mails the link that verifies an account's current address.
//
// It is at-least-once like every email: a retry after a crash that followed the send
// mails a second link, with the same Message-ID; both links work.
type verifyEmailWorker struct {
	river.WorkerDefaults[jobargs.VerifyEmail]
	w *workers
}

func (vw *verifyEmailWorker) Work(ctx context.Context, job *river.Job[jobargs.VerifyEmail]) error {
	if job.Args.UserID <= 0 {
		return badArgs("user_id %d", job.Args.UserID)
	}
	if wait := vw.w.breaker.OpenFor(); wait > 0 {
		return river.JobSnooze(wait)
	}
	v, err := vw.w.core.PrepareVerificationEmail(ctx, job.Args.UserID, job.ID)
	if err != nil {
		return err
	}
	if v.Skip != "" {
		vw.w.log.InfoContext(ctx, "verification email not sent", "user_id", job.Args.UserID, "job_id", job.ID, "reason", v.Skip)
		return nil
	}
	msg := vw.w.verificationMessage(v, job.ID)
	if err := vw.w.mail.Send(ctx, msg); err != nil {
		if errors.Is(err, mail.ErrCircuitOpen) {
			return river.JobSnooze(vw.w.breaker.OpenFor())
		}
		return err
	}
	vw.w.log.InfoContext(ctx, "verification email sent", "user_id", job.Args.UserID, "job_id", job.ID, "message_id", msg.MessageID)
	return nil
}

// VerificationLink returns the address of the page that verifies with token on the site
// at baseURL.
func VerificationLink(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/verify-email?token=" + url.QueryEscape(token)
}

func (w *workers) verificationMessage(v core.VerificationEmail, jobID int64) mail.Message {
	var b strings.Builder
	fmt.Fprintf(&b, "Hi @%s,\n\n", v.Username)
	fmt.Fprintf(&b, "Someone, hopefully you, gave this address to the Starling account @%s on %s.\n", v.Username, siteHost(w.baseURL))
	fmt.Fprintf(&b, "To confirm that it is yours, open this link within %d hours and press the button:\n\n", int(core.EmailVerificationLifetime.Hours()))
	fmt.Fprintf(&b, "    %s\n\n", VerificationLink(w.baseURL, v.Token))
	fmt.Fprintf(&b, "Until then, Starling sends no notification emails to this address.\n")
	fmt.Fprintf(&b, "If this was not you, ignore this email: without the link, the address stays unconfirmed.\n")
	return mail.Message{
		From:      w.from,
		To:        v.Email,
		Subject:   "Confirm your email address for Starling",
		Text:      b.String(),
		MessageID: fmt.Sprintf("verify-%d@%s", jobID, siteHost(w.baseURL)),
	}
}
