package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/starling-social/starling/internal/events"
	"github.com/starling-social/starling/internal/jobs/jobargs"
	"github.com/starling-social/starling/internal/store"
	"github.com/starling-social/starling/internal/text"
)

// Finish runs inside a worker's transaction just before it commits. Workers pass a function
// that marks their River job complete, so the job's effects and its completion commit
// together or not at all.
type Finish func(ctx context.Context, tx pgx.Tx) error

// MentionsResult says what ApplyMentions did.
type MentionsResult struct {
	// Skipped is true when the post no longer exists or is deleted.
	Skipped bool
	// Notified lists the notifications created by this call; empty on a repeated call.
	Notified []int64
}

// ApplyMentions resolves the @mentions of post postID into mention and notification rows,
// enqueues one email job per new notification (delayed by MentionEmailDelay) and the stats
// job that counts the mentions, then calls finish, all in one transaction. Unknown names
// and self-mentions are ignored. Calling it again for the same post changes nothing: the
// rows have unique keys and only newly created notifications get an email job.
func (s *Service) ApplyMentions(ctx context.Context, postID int64, finish Finish) (MentionsResult, error) {
	var res MentionsResult
	var lastEvent int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		res = MentionsResult{}
		post, err := q.PostLockForJob(ctx, postID)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && post.DeletedAt != nil) {
			res.Skipped = true
			return finish(ctx, tx)
		}
		if err != nil {
			return err
		}
		names := text.Mentions(post.Body)
		var users []store.UserIDsByUsernamesRow
		if len(names) > 0 {
			if users, err = q.UserIDsByUsernames(ctx, names); err != nil {
				return err
			}
		}
		var ids []int64
		for _, u := range users {
			if u.ID != post.AuthorID {
				ids = append(ids, u.ID)
			}
		}
		if len(ids) > 0 {
			if err := q.MentionsInsert(ctx, store.MentionsInsertParams{PostID: postID, UserIds: ids}); err != nil {
				return err
			}
			created, err := q.NotificationsInsertMentions(ctx, store.NotificationsInsertMentionsParams{
				ActorID: post.AuthorID, PostID: postID, RecipientIds: ids,
			})
			if err != nil {
				return err
			}
			optedIn := map[int64]bool{}
			for _, u := range users {
				optedIn[u.ID] = u.EmailMentions
			}
			var params []river.InsertManyParams
			for _, n := range created {
				res.Notified = append(res.Notified, n.ID)
				lastEvent, err = events.Append(ctx, q, events.NotificationCreated{
					NotificationID: n.ID, RecipientID: n.RecipientID, Kind: "mention", PostID: postID,
				})
				if err != nil {
					return err
				}
				if !optedIn[n.RecipientID] {
					continue
				}
				opts := jobargs.MentionEmail{}.InsertOpts()
				if s.opts.MentionEmailDelay > 0 {
					opts.ScheduledAt = time.Now().Add(s.opts.MentionEmailDelay)
				}
				params = append(params, river.InsertManyParams{Args: jobargs.MentionEmail{NotificationID: n.ID}, InsertOpts: &opts})
			}
			if len(created) == 0 {
				return finish(ctx, tx) // a repeated attempt: everything was done before
			}
			params = append(params, river.InsertManyParams{Args: jobargs.Stats{Op: jobargs.StatsMentions, PostID: postID}})
			if _, err := s.opts.Jobs.InsertManyTx(ctx, tx, params); err != nil {
				return fmt.Errorf("enqueue: %w", err)
			}
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return MentionsResult{}, fmt.Errorf("apply mentions of post %d: %w", postID, err)
	}
	s.woke(events.TopicNotificationCreated, lastEvent)
	return res, nil
}

// ErrBadJob marks job arguments that can never succeed; workers cancel such jobs instead
// of retrying them.
var ErrBadJob = errors.New("bad job arguments")

// ApplyStats applies one counter change for post postID and calls finish, in one
// transaction. Each change has a key in the stats ledger, so applying it twice changes the
// counters once. It reports whether the change was applied by this call.
//
// The post row is locked while counting, so the counting of a post's mentions and the
// uncounting at its deletion take turns: a post deleted before its mentions were counted
// never has them counted.
func (s *Service) ApplyStats(ctx context.Context, op string, postID int64, finish Finish) (bool, error) {
	if op != jobargs.StatsPostCreated && op != jobargs.StatsPostDeleted && op != jobargs.StatsMentions {
		return false, fmt.Errorf("%w: unknown stats op %q", ErrBadJob, op)
	}
	var applied bool
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		applied = false
		post, err := q.PostLockForJob(ctx, postID)
		if errors.Is(err, pgx.ErrNoRows) {
			return finish(ctx, tx) // the post is gone for good: nothing to count
		}
		if err != nil {
			return err
		}
		key := fmt.Sprintf("%s:%d", op, postID)
		switch op {
		case jobargs.StatsPostCreated, jobargs.StatsPostDeleted:
			n, err := q.StatsLedgerInsert(ctx, store.StatsLedgerInsertParams{Key: key, Counted: true})
			if err != nil {
				return err
			}
			if n == 0 {
				break // applied before
			}
			applied = true
			delta := int64(1)
			if op == jobargs.StatsPostDeleted {
				delta = -1
			}
			if err = q.UserStatsAddPosts(ctx, store.UserStatsAddPostsParams{UserID: post.AuthorID, Delta: delta}); err != nil {
				return err
			}
			if op == jobargs.StatsPostDeleted {
				counted, err := q.StatsLedgerCounted(ctx, fmt.Sprintf("%s:%d", jobargs.StatsMentions, postID))
				if err != nil {
					return err
				}
				if counted {
					if err := q.UserStatsAddMentions(ctx, store.UserStatsAddMentionsParams{PostID: postID, Delta: -1}); err != nil {
						return err
					}
				}
			}
		case jobargs.StatsMentions:
			live := post.DeletedAt == nil
			n, err := q.StatsLedgerInsert(ctx, store.StatsLedgerInsertParams{Key: key, Counted: live})
			if err != nil {
				return err
			}
			if n == 1 && live {
				applied = true
				if err := q.UserStatsAddMentions(ctx, store.UserStatsAddMentionsParams{PostID: postID, Delta: 1}); err != nil {
					return err
				}
			}
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return false, fmt.Errorf("apply stats %s of post %d: %w", op, postID, err)
	}
	return applied, nil
}

// Counters are a user's maintained counters.
type Counters struct {
	Posts            int64
	MentionsReceived int64
}

// CountersOf returns the counters the stats worker maintains for userID.
func (s *Service) CountersOf(ctx context.Context, userID int64) (Counters, error) {
	st, err := s.q.UserStatsGet(ctx, userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return Counters{}, nil
	}
	if err != nil {
		return Counters{}, fmt.Errorf("counters: %w", err)
	}
	return Counters{Posts: st.Posts, MentionsReceived: st.MentionsReceived}, nil
}

// MentionEmail is what the email worker needs to send one mention email.
type MentionEmail struct {
	NotificationID    int64
	PostID            int64
	RecipientID       int64
	RecipientUsername string
	RecipientEmail    string
	ActorUsername     string
	ActorName         string
	PostBody          string
	// Skip says why nothing should be sent, or is "" when the email should go out.
	Skip string
}

// MentionEmailFor returns the email for notification id, or why none should be sent: the
// post was deleted, the recipient turned mention emails off or has not verified their
// address, it was sent already, or it waits for the recipient's digest.
func (s *Service) MentionEmailFor(ctx context.Context, id int64) (MentionEmail, error) {
	row, err := s.q.NotificationForEmail(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return MentionEmail{NotificationID: id, Skip: "notification no longer exists"}, nil
	}
	if err != nil {
		return MentionEmail{}, fmt.Errorf("mention email %d: %w", id, err)
	}
	m := MentionEmail{
		NotificationID: id, PostID: row.PostID, RecipientID: row.RecipientID, RecipientUsername: row.RecipientUsername,
		RecipientEmail: row.RecipientEmail, ActorUsername: row.ActorUsername,
		ActorName: row.ActorDisplayName, PostBody: row.PostBody,
	}
	if m.ActorName == "" {
		m.ActorName = m.ActorUsername
	}
	switch {
	case row.PostDeletedAt != nil:
		m.Skip = "post deleted"
	case !row.EmailMentions:
		m.Skip = "recipient turned mention emails off"
	case !row.RecipientVerified:
		m.Skip = "recipient's address is not verified"
	case row.Delivered:
		m.Skip = "already delivered"
	case row.InDigest:
		m.Skip = "waits for the recipient's digest"
	}
	return m, nil
}

// RecordEmailDelivery records that the email for notification id was handed to the mail
// server, and calls finish, in one transaction. A second record for the same notification
// is a no-op.
func (s *Service) RecordEmailDelivery(ctx context.Context, id int64, messageID, recipient string, finish Finish) error {
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		if _, err := q.EmailDeliveryRecord(ctx, store.EmailDeliveryRecordParams{
			NotificationID: id, MessageID: messageID, Recipient: recipient,
		}); err != nil {
			return err
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return fmt.Errorf("record delivery of notification %d: %w", id, err)
	}
	return nil
}

// DailyStatsSettle is how long after midnight UTC a day counts as finished, so that
// transactions that started before midnight have committed before the day is computed.
const DailyStatsSettle = 10 * time.Minute

// maxBackfillDays bounds how far back ComputeDailyStats fills in missing days.
const maxBackfillDays = 400

// ComputeDailyStats computes the statistics of every finished UTC day that has none yet,
// from the day of the first account (at most 400 days back), and calls finish, in one
// transaction. It returns how many days it added; running it again adds none.
func (s *Service) ComputeDailyStats(ctx context.Context, now time.Time, finish Finish) (int64, error) {
	lastDay := now.UTC().Add(-DailyStatsSettle).Truncate(24*time.Hour).AddDate(0, 0, -1)
	var added int64
	err := store.WithTx(ctx, s.db, func(tx pgx.Tx, q *store.Queries) error {
		first, err := q.FirstActivityDay(ctx)
		if err != nil {
			return err
		}
		if limit := lastDay.AddDate(0, 0, -maxBackfillDays); first.Before(limit) {
			first = limit
		}
		if !first.After(lastDay) {
			if added, err = q.DailyStatsFill(ctx, store.DailyStatsFillParams{FirstDay: first, LastDay: lastDay}); err != nil {
				return err
			}
		}
		return finish(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("daily stats: %w", err)
	}
	return added, nil
}

// DailyStat is one day's statistics.
type DailyStat = store.DailyStat

// RecentDailyStats returns the statistics of the last days finished UTC days, oldest
// first; days with no row yet are absent.
func (s *Service) RecentDailyStats(ctx context.Context, now time.Time, days int) ([]DailyStat, error) {
	since := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -days)
	rows, err := s.q.DailyStatsRecent(ctx, since)
	if err != nil {
		return nil, fmt.Errorf("daily stats: %w", err)
	}
	return rows, nil
}

// Notification is one entry of a user's notifications.
type Notification struct {
	ID        int64
	Kind      string
	CreatedAt time.Time
	Read      bool
	Actor     User
	Post      Post
}

// NotificationPage is one page of notifications, newest first. Next is the Before of the
// following page, or 0.
type NotificationPage struct {
	Items []Notification
	Next  int64
}

// Notifications returns userID's notifications about live posts, newest first.
func (s *Service) Notifications(ctx context.Context, userID int64, page Page) (NotificationPage, error) {
	return s.NotificationsFrom(ctx, userID, 0, page)
}

// NotificationsFrom is Notifications limited to those caused by actorID (all when 0).
func (s *Service) NotificationsFrom(ctx context.Context, userID, actorID int64, page Page) (NotificationPage, error) {
	before, limit := page.normalized()
	var np NotificationPage
	var raw []notificationRow
	if page.Ascending {
		rows, err := s.q.NotificationsListAfter(ctx, store.NotificationsListAfterParams{RecipientID: userID, After: page.After, Before: before, RowLimit: limit, ActorID: actorID})
		if err != nil {
			return NotificationPage{}, fmt.Errorf("notifications: %w", err)
		}
		for i := len(rows) - 1; i >= 0; i-- {
			r := rows[i]
			raw = append(raw, notificationRow{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.Post, r.User})
		}
		if len(raw) > 0 {
			np.Next = raw[len(raw)-1].id
		}
	} else {
		rows, err := s.q.NotificationsList(ctx, store.NotificationsListParams{RecipientID: userID, Before: before, After: page.After, RowLimit: limit + 1, ActorID: actorID})
		if err != nil {
			return NotificationPage{}, fmt.Errorf("notifications: %w", err)
		}
		for i, r := range rows {
			if int32(i) == limit {
				np.Next = raw[len(raw)-1].id
				break
			}
			raw = append(raw, notificationRow{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.Post, r.User})
		}
	}
	items, err := s.notificationsFrom(ctx, raw)
	np.Items = items
	return np, err
}

type notificationRow struct {
	id        int64
	kind      string
	createdAt time.Time
	readAt    *time.Time
	post      store.Post
	actor     store.User
}

func (s *Service) notificationsFrom(ctx context.Context, raw []notificationRow) ([]Notification, error) {
	items := make([]Notification, len(raw))
	posts := make([]Post, len(raw))
	for i, r := range raw {
		actor := userFrom(r.actor)
		items[i] = Notification{ID: r.id, Kind: r.kind, CreatedAt: r.createdAt, Read: r.readAt != nil, Actor: actor}
		posts[i] = Post{ID: r.post.ID, Body: r.post.Body, CreatedAt: r.post.CreatedAt, Author: actor}
	}
	if err := s.resolveMentions(ctx, posts); err != nil {
		return nil, err
	}
	for i := range items {
		items[i].Post = posts[i]
	}
	return items, nil
}

// NotificationByID returns notification id of userID.
func (s *Service) NotificationByID(ctx context.Context, userID, id int64) (Notification, error) {
	r, err := s.q.NotificationGet(ctx, store.NotificationGetParams{ID: id, RecipientID: userID})
	if errors.Is(err, pgx.ErrNoRows) {
		return Notification{}, ErrNotFound
	}
	if err != nil {
		return Notification{}, fmt.Errorf("notification: %w", err)
	}
	items, err := s.notificationsFrom(ctx, []notificationRow{{r.ID, r.Kind, r.CreatedAt, r.ReadAt, r.Post, r.User}})
	if err != nil {
		return Notification{}, err
	}
	return items[0], nil
}

// DismissNotification deletes notification id of userID.
func (s *Service) DismissNotification(ctx context.Context, userID, id int64) error {
	n, err := s.q.NotificationDismiss(ctx, store.NotificationDismissParams{ID: id, RecipientID: userID})
	if err != nil {
		return fmt.Errorf("dismiss notification: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ClearNotifications deletes all of userID's notifications.
func (s *Service) ClearNotifications(ctx context.Context, userID int64) error {
	if _, err := s.q.NotificationsClear(ctx, userID); err != nil {
		return fmt.Errorf("clear notifications: %w", err)
	}
	return nil
}

// UnreadNotifications counts userID's unread notifications.
func (s *Service) UnreadNotifications(ctx context.Context, userID int64) (int64, error) {
	n, err := s.q.NotificationsUnreadCount(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("unread notifications: %w", err)
	}
	return n, nil
}

// MarkNotificationsRead marks userID's notifications up to id upTo as read (all of them
// when upTo is 0).
func (s *Service) MarkNotificationsRead(ctx context.Context, userID, upTo int64) error {
	if upTo <= 0 {
		upTo = 1<<63 - 1
	}
	if _, err := s.q.NotificationsMarkRead(ctx, store.NotificationsMarkReadParams{RecipientID: userID, UpTo: upTo}); err != nil {
		return fmt.Errorf("mark notifications read: %w", err)
	}
	return nil
}

// Settings are the preferences a user edits on the settings page.
type Settings struct {
	DisplayName   string
	Bio           string
	EmailMentions bool
}

// UpdateSettings saves userID's settings after checking them.
func (s *Service) UpdateSettings(ctx context.Context, userID int64, in Settings) error {
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	bio, err := text.NormalizePost(in.Bio)
	switch {
	case errors.Is(err, text.ErrEmpty):
		bio = ""
	case err != nil:
		return invalid("bio", "Use at most 500 characters of valid text.")
	}
	errs := map[string]string{}
	if msg := displayNameProblem(in.DisplayName); msg != "" {
		errs["display_name"] = msg
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	err = s.q.UserUpdateSettings(ctx, store.UserUpdateSettingsParams{
		ID: userID, DisplayName: in.DisplayName, Bio: bio, EmailMentions: in.EmailMentions,
	})
	if err != nil {
		return fmt.Errorf("update settings: %w", err)
	}
	return nil
}

// PruneEvents deletes events written before cutoff in batches of batch rows, each batch
// its own short transaction, and returns how many it deleted. Streams whose cursor falls
// before the remaining log get a reset.
func (s *Service) PruneEvents(ctx context.Context, cutoff time.Time, batch int) (int64, error) {
	var total int64
	for {
		n, err := s.q.EventsPrune(ctx, store.EventsPruneParams{Before: cutoff, RowLimit: int32(batch)})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
