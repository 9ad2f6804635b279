// Package jobargs defines the arguments of every River job kind. They are small typed
// structs holding ids only, never bodies. The package has no dependencies so that core can
// enqueue jobs and jobs can implement them without an import cycle.
package jobargs

import (
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Queues: each kind of work has its own queue and worker count, so a slow mail server
// never delays notifications or counters.
const (
	QueuePipeline    = "pipeline"
	QueueEmail       = "email"
	QueueMaintenance = "maintenance"
)

// Consume asks for one run of an event-log consumer (core.ConsumeBatch): it applies
// batches after the consumer's position until it is caught up. Enqueued by the workers'
// waker when a consumer is behind.
type Consume struct {
	Consumer string `json:"consumer"`
}

// Kind implements river.JobArgs.
func (Consume) Kind() string { return "consume" }

// InsertOpts implements river.JobArgsWithInsertOpts. Runs are not River-unique: the
// waker enqueues one only when none is waiting to start, and a run that finds another
// going ends at once. (A River unique job would count a dead worker's run, still marked
// running until River rescues it, and hold the next one back.)
func (Consume) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueuePipeline, MaxAttempts: 25}
}

// MentionEmail asks the email worker to send the email for one mention notification.
type MentionEmail struct {
	NotificationID int64 `json:"notification_id"`
}

// Kind implements river.JobArgs.
func (MentionEmail) Kind() string { return "mention_email" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (MentionEmail) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 12}
}

// MentionDigest asks the email worker to send one email listing the mentions of a
// recipient that waited because they had had their share of single mention emails (see
// core.PlanMentionEmail). At most one such job per recipient is unfinished at a time.
type MentionDigest struct {
	RecipientID int64 `json:"recipient_id"`
}

// Kind implements river.JobArgs.
func (MentionDigest) Kind() string { return "mention_digest" }

// InsertOpts implements river.JobArgsWithInsertOpts. A recipient's digest waiting or
// running absorbs any further one enqueued meanwhile.
func (MentionDigest) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 12, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
			rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled},
	}}
}

// VerifyEmail asks the email worker to send a link that verifies the current address of
// an account: enqueued by signup, an address change and "send the link again".
type VerifyEmail struct {
	UserID int64 `json:"user_id"`
}

// Kind implements river.JobArgs.
func (VerifyEmail) Kind() string { return "verify_email" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (VerifyEmail) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEmail, MaxAttempts: 12}
}

// DailyStats asks for the daily statistics of every finished UTC day not computed yet.
type DailyStats struct{}

// Kind implements river.JobArgs.
func (DailyStats) Kind() string { return "daily_stats" }

// InsertOpts implements river.JobArgsWithInsertOpts. Only one such job exists per
// quarter hour.
func (DailyStats) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       QueueMaintenance,
		MaxAttempts: 5,
		UniqueOpts:  river.UniqueOpts{ByPeriod: 15 * time.Minute},
	}
}

// PruneEvents asks for events older than the retention window to be deleted.
type PruneEvents struct{}

// Kind implements river.JobArgs.
func (PruneEvents) Kind() string { return "prune_events" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (PruneEvents) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByPeriod: time.Hour}}
}

// BackfillSearch asks for the posts that existed before the search index (migration
// 00011) to be indexed, a chunk at a time, until none is left.
type BackfillSearch struct{}

// Kind implements river.JobArgs.
func (BackfillSearch) Kind() string { return "backfill_search" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (BackfillSearch) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

// QueueMedia is the queue of media processing: CPU-heavy work kept apart from the rest.
const QueueMedia = "media"

// ProcessMedia asks for an upload made with POST /api/v2/media to be processed
// (core.ProcessMedia).
type ProcessMedia struct {
	MediaID int64 `json:"media_id"`
}

// Kind implements river.JobArgs.
func (ProcessMedia) Kind() string { return "process_media" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ProcessMedia) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMedia, MaxAttempts: 10}
}

// CleanMedia asks for the media nobody uses any more to be removed (core.CleanMedia):
// periodic.
type CleanMedia struct{}

// Kind implements river.JobArgs.
func (CleanMedia) Kind() string { return "clean_media" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (CleanMedia) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3}
}
