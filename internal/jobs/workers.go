package jobs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/jobargs"
	"github.com/starling-social/starling/internal/mail"
)

// badArgs cancels a job whose arguments can never work, instead of retrying it.
func badArgs(format string, a ...any) error {
	return river.JobCancel(fmt.Errorf("%w: "+format, append([]any{core.ErrBadJob}, a...)...))
}

type emailWorker struct {
	river.WorkerDefaults[jobargs.MentionEmail]
	w *workers
}

func (ew *emailWorker) Work(ctx context.Context, job *river.Job[jobargs.MentionEmail]) error {
	id := job.Args.NotificationID
	if id <= 0 {
		return badArgs("notification_id %d", id)
	}
	if wait := ew.w.breaker.OpenFor(); wait > 0 {
		return river.JobSnooze(wait)
	}
	m, err := ew.w.core.MentionEmailFor(ctx, id)
	if err != nil {
		return err
	}
	if m.Skip != "" {
		ew.w.onEmail("skipped")
		ew.w.log.InfoContext(ctx, "mention email not sent", "notification_id", id, "job_id", job.ID, "reason", m.Skip)
		return nil
	}
	digest, err := ew.w.core.PlanMentionEmail(ctx, id, m.RecipientID, ew.w.bound, complete(job))
	if err != nil {
		return err
	}
	if digest {
		ew.w.log.InfoContext(ctx, "mention email waits for the digest", "notification_id", id, "job_id", job.ID,
			"recipient_id", m.RecipientID)
		return nil
	}
	msg := ew.w.mentionMessage(m)
	if err := ew.w.mail.Send(ctx, msg); err != nil {
		ew.w.onEmail("failed")
		if errors.Is(err, mail.ErrCircuitOpen) {
			return river.JobSnooze(ew.w.breaker.OpenFor())
		}
		return err
	}
	// Sent. Should this transaction fail now, a retry sends again, with the same Message-ID.
	if err := ew.w.core.RecordEmailDelivery(ctx, id, msg.MessageID, m.RecipientEmail, complete(job)); err != nil {
		return err
	}
	ew.w.onEmail("sent")
	ew.w.log.InfoContext(ctx, "mention email sent", "notification_id", id, "job_id", job.ID, "message_id", msg.MessageID)
	return nil
}

// MessageID returns the stable Message-ID (without brackets) of the email for
// notification id on the site at baseURL.
func MessageID(baseURL string, id int64) string {
	return fmt.Sprintf("mention-%d@%s", id, siteHost(baseURL))
}

// siteHost is the host name of baseURL, or starling.invalid when it has none.
func siteHost(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" && !strings.Contains(u.Hostname(), ":") {
		return u.Hostname()
	}
	return "starling.invalid"
}

func (w *workers) mentionMessage(m core.MentionEmail) mail.Message {
	base := strings.TrimRight(w.baseURL, "/")
	var b strings.Builder
	fmt.Fprintf(&b, "Hi @%s,\n\n", m.RecipientUsername)
	fmt.Fprintf(&b, "%s (@%s) mentioned you on Starling:\n\n", oneLine(m.ActorName), m.ActorUsername)
	for _, line := range strings.Split(m.PostBody, "\n") {
		fmt.Fprintf(&b, "    %s\n", line)
	}
	fmt.Fprintf(&b, "\nSee the post: %s/posts/%d\n\n", base, m.PostID)
	fmt.Fprintf(&b, "-- \nYou get this email because mention emails are on for your account.\n")
	fmt.Fprintf(&b, "Turn them off in your settings: %s/settings\n", base)
	return mail.Message{
		From:      w.from,
		To:        m.RecipientEmail,
		Subject:   fmt.Sprintf("@%s mentioned you on Starling", m.ActorUsername),
		Text:      b.String(),
		MessageID: MessageID(w.baseURL, m.NotificationID),
	}
}

// oneLine strips line breaks from a display name used inside a sentence.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

type dailyStatsWorker struct {
	river.WorkerDefaults[jobargs.DailyStats]
	w *workers
}

func (dw *dailyStatsWorker) Work(ctx context.Context, job *river.Job[jobargs.DailyStats]) error {
	added, err := dw.w.core.ComputeDailyStats(ctx, time.Now(), complete(job))
	if err != nil {
		return err
	}
	dw.w.log.InfoContext(ctx, "daily stats computed", "days_added", added, "job_id", job.ID)
	return nil
}

type pruneEventsWorker struct {
	river.WorkerDefaults[jobargs.PruneEvents]
	w         *workers
	retention time.Duration
}

func (pw *pruneEventsWorker) Work(ctx context.Context, job *river.Job[jobargs.PruneEvents]) error {
	n, err := pw.w.core.PruneEvents(ctx, time.Now().Add(-pw.retention), 1000)
	if err != nil {
		return err
	}
	pw.w.log.InfoContext(ctx, "old events pruned", "deleted", n, "retention", pw.retention.String(), "job_id", job.ID)
	return nil
}

// backfillSearchWorker indexes the posts written before the search index existed, chunk
// after chunk for up to backfillRunFor, so that the maintenance queue's other jobs wait at
// most that long; then it snoozes a second (which costs no attempt) and goes on.
type backfillSearchWorker struct {
	river.WorkerDefaults[jobargs.BackfillSearch]
	w *workers
}

// backfillRunFor bounds one run of the search backfill.
const backfillRunFor = 40 * time.Second

func (bw *backfillSearchWorker) Work(ctx context.Context, job *river.Job[jobargs.BackfillSearch]) error {
	end := time.Now().Add(backfillRunFor)
	chunks := 0
	for time.Now().Before(end) {
		done, busy, err := bw.w.core.BackfillSearch(ctx, core.BackfillChunk)
		if err != nil {
			return err
		}
		if done {
			if chunks > 0 {
				bw.w.log.InfoContext(ctx, "search backfill done", "chunks", chunks, "job_id", job.ID)
			}
			return nil
		}
		if busy { // the search consumer holds its row: let it finish its batch
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		chunks++
	}
	bw.w.log.InfoContext(ctx, "search backfill goes on in a second", "chunks", chunks, "job_id", job.ID)
	return river.JobSnooze(time.Second)
}

// processMediaWorker processes an upload of POST /api/v2/media.
type processMediaWorker struct {
	river.WorkerDefaults[jobargs.ProcessMedia]
	w *workers
}

func (pw *processMediaWorker) Work(ctx context.Context, job *river.Job[jobargs.ProcessMedia]) error {
	if job.Args.MediaID <= 0 {
		return badArgs("process_media: media_id %d", job.Args.MediaID)
	}
	return pw.w.core.ProcessMedia(ctx, job.Args.MediaID, complete(job))
}

// cleanMediaWorker removes the media nobody uses any more.
type cleanMediaWorker struct {
	river.WorkerDefaults[jobargs.CleanMedia]
	w *workers
}

func (cw *cleanMediaWorker) Work(ctx context.Context, job *river.Job[jobargs.CleanMedia]) error {
	n, err := cw.w.core.CleanMedia(ctx, time.Now(), 100)
	if err != nil {
		return err
	}
	if n > 0 {
		cw.w.log.InfoContext(ctx, "unused media removed", "removed", n, "job_id", job.ID)
	}
	return nil
}
