package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/mail"
)

// digestListed is how many mentions a digest quotes in full; it counts the rest.
const digestListed = 20

// digestWorker sends one email listing the mentions of a recipient that waited because
// the recipient had had their share of single mention emails.
//
// Each notification is emailed once: the digest records a delivery row per notification
// it carried, and the mention_email job of a notification that went to a digest has
// completed. Like every email it is at-least-once: a retry after a crash that followed
// the send sends the same digest again, with the same Message-ID.
type digestWorker struct {
	river.WorkerDefaults[jobargs.MentionDigest]
	w *workers
}

func (dw *digestWorker) Work(ctx context.Context, job *river.Job[jobargs.MentionDigest]) error {
	rid := job.Args.RecipientID
	if rid <= 0 {
		return badArgs("recipient_id %d", rid)
	}
	if wait := dw.w.breaker.OpenFor(); wait > 0 {
		return river.JobSnooze(wait)
	}
	d, err := dw.w.core.MentionDigestFor(ctx, rid, job.ID)
	if err != nil {
		return err
	}
	if d.Skip != "" {
		dw.w.onEmail("skipped")
		dw.w.log.InfoContext(ctx, "mention digest not sent", "recipient_id", rid, "job_id", job.ID, "reason", d.Skip)
		return dw.w.core.RecordMentionDigest(ctx, rid, nil, "", "", dw.w.bound, complete(job))
	}
	msg := dw.w.digestMessage(d, job.ID)
	if err := dw.w.mail.Send(ctx, msg); err != nil {
		dw.w.onEmail("failed")
		if errors.Is(err, mail.ErrCircuitOpen) {
			return river.JobSnooze(dw.w.breaker.OpenFor())
		}
		return err
	}
	ids := make([]int64, len(d.Items))
	for i, it := range d.Items {
		ids[i] = it.NotificationID
	}
	// Sent. Should this transaction fail now, a retry sends again, with the same Message-ID.
	if err := dw.w.core.RecordMentionDigest(ctx, rid, ids, msg.MessageID, d.RecipientEmail, dw.w.bound, complete(job)); err != nil {
		return err
	}
	dw.w.onEmail("sent")
	dw.w.log.InfoContext(ctx, "mention digest sent", "recipient_id", rid, "job_id", job.ID, "mentions", len(ids), "message_id", msg.MessageID)
	return nil
}

// DigestMessageID returns the stable Message-ID (without brackets) of the digest sent by
// job jobID on the site at baseURL.
func DigestMessageID(baseURL string, jobID int64) string {
	return fmt.Sprintf("digest-%d@%s", jobID, siteHost(baseURL))
}

func (w *workers) digestMessage(d core.MentionDigest, jobID int64) mail.Message {
	base := strings.TrimRight(w.baseURL, "/")
	n := len(d.Items)
	var b strings.Builder
	fmt.Fprintf(&b, "Hi @%s,\n\n", d.RecipientUsername)
	fmt.Fprintf(&b, "You were mentioned %s on Starling. So that mentions cannot flood your inbox,\n", times(n))
	fmt.Fprintf(&b, "Starling sends a few mention emails an hour and collects the rest here.\n\n")
	for i, it := range d.Items {
		if i == digestListed {
			fmt.Fprintf(&b, "... and %d more: %s/notifications\n\n", n-digestListed, base)
			break
		}
		fmt.Fprintf(&b, "%s (@%s):\n", oneLine(it.ActorName), it.ActorUsername)
		for _, line := range strings.Split(it.PostBody, "\n") {
			fmt.Fprintf(&b, "    %s\n", line)
		}
		fmt.Fprintf(&b, "  %s/posts/%d\n\n", base, it.PostID)
	}
	fmt.Fprintf(&b, "-- \nYou get this email because mention emails are on for your account.\n")
	fmt.Fprintf(&b, "Turn them off in your settings: %s/settings\n", base)
	return mail.Message{
		From:      w.from,
		To:        d.RecipientEmail,
		Subject:   fmt.Sprintf("You were mentioned %s on Starling", times(n)),
		Text:      b.String(),
		MessageID: DigestMessageID(w.baseURL, jobID),
	}
}

// times says how many more mentions: "once more", "3 more times".
func times(n int) string {
	if n == 1 {
		return "once more"
	}
	return fmt.Sprintf("%d more times", n)
}
