package soak

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/starling-social/starling/internal/mail"
	"github.com/starling-social/starling/internal/text"
)

// Report is what a soak run did and found. Every field named as a loss in Failures must
// be zero for the run to pass.
type Report struct {
	// LoadDuration is how long load and faults lasted.
	LoadDuration time.Duration
	// Faults counts the faults performed, by kind.
	Faults map[string]int
	// ProcessStarts counts every start of a starling process (the first four included);
	// UnexpectedExits the exits the soak did not cause; Panics the panic or data race
	// reports in the processes' logs.
	ProcessStarts, UnexpectedExits, Panics int

	// PostsAcked is the posts answered with 200; PostsMissing those not in the database
	// afterwards. DeletesAcked and DeletesMissing likewise for deletions.
	PostsAcked, PostsMissing, DeletesAcked, DeletesMissing int
	// Duplicates is the posts beyond the first written for one Idempotency-Key.
	Duplicates int
	// Retries is the write attempts repeated after a failure; WriteFailures counts the
	// failures by kind (network errors, HTTP statuses).
	Retries       int
	WriteFailures map[string]int
	// Rejected lists writes refused for good or never acknowledged.
	Rejected []string
	// Reads counts timeline and page reads by outcome.
	Reads map[string]int

	// LivePosts and Mentions are the ground truth the workers' effects are checked against.
	LivePosts, Mentions int
	// Mismatches of the workers' effects with the ground truth.
	MentionMismatches, NotificationMismatches, EmailMismatches, CounterMismatches int
	// EmailsSent is the mention emails written; EmailsUnrecorded those among them whose
	// delivery record a crash undid and whose post was deleted before the retry, so the
	// retry sent nothing more (at-least-once, as email is; not a loss).
	EmailsSent, EmailsUnrecorded int
	// JobsFailed is the jobs discarded or cancelled; DrainTime how long the workers took
	// to finish every job once the load stopped.
	JobsFailed int
	DrainTime  time.Duration

	// Stream figures over all followers: connections made, events received, and the
	// losses: events missing, received twice or out of order, and resets (a cursor the
	// server no longer knew).
	StreamClients, StreamConnects, StreamEvents                     int
	StreamMissing, StreamDuplicates, StreamOutOfOrder, StreamResets int

	// Details names individual mismatches (at most a few of each kind).
	Details []string
}

// Failures lists the losses the report shows; empty means the run passed.
func (rep *Report) Failures() []string {
	var f []string
	add := func(n int, what string) {
		if n != 0 {
			f = append(f, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(rep.PostsMissing, "acknowledged posts missing")
	add(rep.DeletesMissing, "acknowledged deletions not applied")
	add(rep.Duplicates, "duplicate posts")
	add(len(rep.Rejected), "writes rejected or never acknowledged")
	add(rep.MentionMismatches, "mention mismatches")
	add(rep.NotificationMismatches, "notification mismatches")
	add(rep.EmailMismatches, "email mismatches")
	add(rep.CounterMismatches, "counter mismatches")
	add(rep.JobsFailed, "jobs discarded or cancelled")
	add(rep.StreamMissing, "stream events missing")
	add(rep.StreamDuplicates, "stream events duplicated")
	add(rep.StreamOutOfOrder, "stream events out of order")
	add(rep.StreamResets, "stream resets")
	add(rep.UnexpectedExits, "unexpected process exits")
	add(rep.Panics, "panics or data races in logs")
	return f
}

func (r *run) countRetry() {
	r.mu.Lock()
	r.report.Retries++
	r.mu.Unlock()
}

func (r *run) countWriteFailure(kind string) {
	r.mu.Lock()
	r.report.WriteFailures[kind]++
	r.mu.Unlock()
}

func (r *run) countRejected(what string) {
	r.mu.Lock()
	r.report.Rejected = append(r.report.Rejected, what)
	r.mu.Unlock()
}

func (r *run) detail(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.report.Details) < 80 {
		r.report.Details = append(r.report.Details, fmt.Sprintf(format, a...))
	}
}

// drain waits until no job is left to do and every stream follower has received every
// event of the public stream (or a minute has passed).
func (r *run) drain(ctx context.Context, l *load) error {
	pool, err := pgxpool.New(ctx, r.dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	begin := time.Now()
	var last time.Time
	for {
		var pending int
		var states string
		// Consumer runs wait a moment for more once caught up: what they owe is the events
		// after their positions, counted with the jobs left.
		err := pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')
			   AND kind NOT IN ('daily_stats', 'prune_events', 'consume'))
			+ (SELECT count(*) FROM consumers c WHERE EXISTS (SELECT 1 FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id))),
			coalesce((SELECT string_agg(DISTINCT state::text, ',') FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')
			   AND kind NOT IN ('daily_stats', 'prune_events', 'consume')), '')
			|| coalesce((SELECT ' consumers behind: ' || string_agg(c.name, ',') FROM consumers c
			   WHERE EXISTS (SELECT 1 FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id))), '')`).Scan(&pending, &states)
		if err != nil {
			return fmt.Errorf("soak: counting jobs: %w", err)
		}
		if pending == 0 {
			break
		}
		if time.Since(begin) > 5*time.Minute {
			return fmt.Errorf("soak: %d jobs (%s) still unfinished after 5 minutes", pending, states)
		}
		if time.Since(last) > 10*time.Second {
			r.progress("draining: %d jobs left (%s)", pending, states)
			last = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	r.report.DrainTime = time.Since(begin)
	r.progress("workers finished every job in %s", r.report.DrainTime.Round(time.Millisecond))

	want, err := r.expectedStream(ctx, pool)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Minute)
	for _, f := range l.streams {
		for {
			f.mu.Lock()
			missing := 0
			for k, must := range want {
				if must && f.seen[k] == 0 {
					missing++
				}
			}
			f.mu.Unlock()
			if missing == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

// expectedStream lists the public stream's events: "update:ID" for every post created
// and "delete:ID" for every deletion. Must-haves map to true; the update of a post deleted
// since may be skipped (the server does not send what it can no longer show), and so may
// a warm-up post (see warmUp): those map to false.
func (r *run) expectedStream(ctx context.Context, pool *pgxpool.Pool) (map[string]bool, error) {
	rows, err := pool.Query(ctx, `SELECT e.topic, (e.payload->>'post_id')::bigint, p.deleted_at IS NOT NULL
		FROM events e LEFT JOIN posts p ON p.id = (e.payload->>'post_id')::bigint
		WHERE e.topic IN ('post.created', 'post.deleted')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	want := map[string]bool{}
	for rows.Next() {
		var topic string
		var id int64
		var deleted bool
		if err := rows.Scan(&topic, &id, &deleted); err != nil {
			return nil, err
		}
		if topic == "post.created" {
			want[fmt.Sprintf("update:%d", id)] = !deleted && !r.load.warmup[id]
		} else {
			want[fmt.Sprintf("delete:%d", id)] = true
		}
	}
	return want, rows.Err()
}

// check compares what the clients were told with what the database holds.
func (r *run) check(ctx context.Context) error {
	pool, err := pgxpool.New(ctx, r.dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	rep := r.report
	for _, p := range append(r.web, r.workers...) {
		p.mu.Lock()
		rep.ProcessStarts += p.starts
		rep.UnexpectedExits += len(p.unexpected)
		rep.Panics += p.panics
		lines := p.panicLines
		p.mu.Unlock()
		for _, l := range lines {
			r.detail("%s", l)
		}
	}
	if err := r.checkPosts(ctx, pool); err != nil {
		return err
	}
	if err := r.checkEffects(ctx, pool); err != nil {
		return err
	}
	return r.checkStreams(ctx, pool)
}

func (r *run) checkPosts(ctx context.Context, pool *pgxpool.Pool) error {
	rep := r.report
	l := r.load
	var acked, deleted []int64
	for id := range l.acked {
		acked = append(acked, id)
	}
	for id := range l.deleted {
		deleted = append(deleted, id)
	}
	rep.PostsAcked, rep.DeletesAcked = len(acked), len(deleted)
	var present, gone int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM posts WHERE id = ANY($1)`, acked).Scan(&present); err != nil {
		return err
	}
	rep.PostsMissing = len(acked) - present
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM posts WHERE id = ANY($1) AND deleted_at IS NOT NULL`, deleted).Scan(&gone); err != nil {
		return err
	}
	rep.DeletesMissing = len(deleted) - gone
	// The body starts with the Idempotency-Key: two posts with one key are a duplicate.
	if err := pool.QueryRow(ctx, `SELECT coalesce(sum(n - 1), 0) FROM (
		SELECT count(*) n FROM posts WHERE body LIKE 'soak-%' GROUP BY split_part(body, ' ', 1)) k`).Scan(&rep.Duplicates); err != nil {
		return err
	}
	// A post acknowledged for one key under another id would show as a duplicate above;
	// a post that exists without ever being acknowledged is worth knowing about.
	var unacked int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM posts WHERE NOT (id = ANY($1))`, acked).Scan(&unacked); err != nil {
		return err
	}
	if unacked > 0 {
		r.detail("%d posts exist that no client saw acknowledged", unacked)
	}
	return nil
}

// checkEffects compares mentions, notifications, emails and counters with the posts.
func (r *run) checkEffects(ctx context.Context, pool *pgxpool.Pool) error {
	rep := r.report
	ids := map[string]int64{}
	rows, err := pool.Query(ctx, `SELECT lower(username), id FROM users`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name string
		var id int64
		if err := rows.Scan(&name, &id); err != nil {
			return err
		}
		ids[name] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	type key struct{ post, user int64 }
	want := map[key]bool{}
	live := map[int64]bool{}
	postsBy, mentionsOf := map[int64]int64{}, map[int64]int64{}
	rows, err = pool.Query(ctx, `SELECT id, author_id, body FROM posts WHERE deleted_at IS NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, author int64
		var body string
		if err := rows.Scan(&id, &author, &body); err != nil {
			return err
		}
		live[id] = true
		postsBy[author]++
		for _, name := range text.Mentions(body) {
			if uid, ok := ids[name]; ok && uid != author && !want[key{id, uid}] {
				want[key{id, uid}] = true
				mentionsOf[uid]++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rep.LivePosts, rep.Mentions = len(live), len(want)

	got := map[key]bool{}
	rows, err = pool.Query(ctx, `SELECT post_id, user_id FROM mentions`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.post, &k.user); err != nil {
			return err
		}
		if live[k.post] {
			got[k] = true
			if !want[k] {
				rep.MentionMismatches++
				r.detail("mention of user %d in post %d should not exist", k.user, k.post)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for k := range want {
		if !got[k] {
			rep.MentionMismatches++
			r.detail("mention of user %d in post %d is missing", k.user, k.post)
		}
	}

	count := func(q string) (int, error) {
		var n int
		err := pool.QueryRow(ctx, q).Scan(&n)
		return n, err
	}
	checks := []struct {
		sql  string
		into *int
		what string
	}{
		{`SELECT count(*) FROM notifications n WHERE NOT EXISTS (
			SELECT 1 FROM mentions m WHERE m.post_id = n.post_id AND m.user_id = n.recipient_id)`,
			&rep.NotificationMismatches, "notifications without a mention"},
		{`SELECT count(*) FROM mentions m WHERE NOT EXISTS (
			SELECT 1 FROM notifications n WHERE n.post_id = m.post_id AND n.recipient_id = m.user_id)`,
			&rep.NotificationMismatches, "mentions without a notification"},
		{`SELECT count(*) FROM notifications n JOIN posts p ON p.id = n.post_id JOIN users u ON u.id = n.recipient_id
			WHERE p.deleted_at IS NULL AND u.email_mentions
			  AND NOT EXISTS (SELECT 1 FROM email_deliveries d WHERE d.notification_id = n.id)`,
			&rep.EmailMismatches, "opted-in mentions of live posts never emailed"},
		{`SELECT count(*) FROM email_deliveries d JOIN notifications n ON n.id = d.notification_id
			JOIN users u ON u.id = n.recipient_id WHERE NOT u.email_mentions`,
			&rep.EmailMismatches, "emails to users who opted out"},
		{`SELECT count(*) FROM river_job WHERE state IN ('discarded', 'cancelled')`,
			&rep.JobsFailed, "jobs discarded or cancelled"},
	}
	for _, c := range checks {
		n, err := count(c.sql)
		if err != nil {
			return err
		}
		if n > 0 {
			*c.into += n
			r.detail("%d %s", n, c.what)
		}
	}
	// Every delivery wrote one .eml file, named after its Message-ID (a resend after a
	// crash overwrites the same file). A file without a delivery is an email that left
	// before a crash undid its record, whose retry then found the post deleted: the
	// at-least-once that email has. For a live post it would be a lost record.
	mailDir := mail.NewDir(filepath.Join(r.dataDir, "mail"))
	files, _ := filepath.Glob(filepath.Join(r.dataDir, "mail", "*.eml"))
	rep.EmailsSent = len(files)
	onDisk := map[string]bool{}
	for _, f := range files {
		onDisk[f] = true
	}
	rows, err = pool.Query(ctx, `SELECT d.message_id FROM email_deliveries d`)
	if err != nil {
		return err
	}
	recorded := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		name := mailDir.Path(strings.Trim(id, "<>"))
		recorded[name] = true
		if !onDisk[name] {
			rep.EmailMismatches++
			r.detail("delivery %s recorded but no email written", id)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for name := range onDisk {
		if recorded[name] {
			continue
		}
		var nid int64
		var deleted bool
		if _, err := fmt.Sscanf(filepath.Base(name), "mention-%d_", &nid); err == nil {
			err = pool.QueryRow(ctx, `SELECT p.deleted_at IS NOT NULL FROM notifications n JOIN posts p ON p.id = n.post_id
				WHERE n.id = $1`, nid).Scan(&deleted)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if deleted {
			rep.EmailsUnrecorded++
			continue
		}
		rep.EmailMismatches++
		r.detail("email %s written but its delivery not recorded, and its post is live", filepath.Base(name))
	}

	rows, err = pool.Query(ctx, `SELECT u.id, u.username, coalesce(s.posts, 0), coalesce(s.mentions_received, 0)
		FROM users u LEFT JOIN user_stats s ON s.user_id = u.id`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id, posts, mentions int64
		var name string
		if err := rows.Scan(&id, &name, &posts, &mentions); err != nil {
			return err
		}
		if posts != postsBy[id] || mentions != mentionsOf[id] {
			rep.CounterMismatches++
			r.detail("@%s counters: posts %d (want %d), mentions %d (want %d)", name, posts, postsBy[id], mentions, mentionsOf[id])
		}
	}
	return rows.Err()
}

// checkStreams compares each follower's events with the event log.
func (r *run) checkStreams(ctx context.Context, pool *pgxpool.Pool) error {
	want, err := r.expectedStream(ctx, pool)
	if err != nil {
		return err
	}
	rep := r.report
	rep.StreamClients = len(r.load.streams)
	for _, f := range r.load.streams {
		f.mu.Lock()
		rep.StreamConnects += f.connects
		rep.StreamOutOfOrder += f.order
		rep.StreamResets += f.resets
		var missing []string
		for k, must := range want {
			if must && f.seen[k] == 0 {
				missing = append(missing, k)
			}
		}
		for k, n := range f.seen {
			rep.StreamEvents += n
			if n > 1 {
				rep.StreamDuplicates += n - 1
				r.detail("%s received %s %d times", f.name, k, n)
			}
			if _, ok := want[k]; !ok {
				rep.StreamMissing++ // counted as a mismatch: an event the log does not have
				r.detail("%s received %s, which is not in the event log", f.name, k)
			}
		}
		f.mu.Unlock()
		sort.Strings(missing)
		rep.StreamMissing += len(missing)
		if len(missing) > 0 {
			r.detail("%s missed %d events, e.g. %s", f.name, len(missing), strings.Join(missing[:min(5, len(missing))], ", "))
		}
	}
	return nil
}

// Markdown renders the report as a table for docs and closing notes.
func (rep *Report) Markdown() string {
	var b strings.Builder
	row := func(k string, v any) { fmt.Fprintf(&b, "| %s | %v |\n", k, v) }
	b.WriteString("| | |\n| --- | ---: |\n")
	row("load with faults", rep.LoadDuration)
	for _, k := range faultKinds {
		row(k, rep.Faults[k])
	}
	row("process starts (4 initial + restarts by the supervisor)", rep.ProcessStarts)
	row("unexpected process exits", rep.UnexpectedExits)
	row("panics / data races in logs", rep.Panics)
	row("posts acknowledged (200)", rep.PostsAcked)
	row("acknowledged posts missing", rep.PostsMissing)
	row("deletions acknowledged", rep.DeletesAcked)
	row("acknowledged deletions not applied", rep.DeletesMissing)
	row("duplicate posts (same Idempotency-Key)", rep.Duplicates)
	row("write attempts retried", rep.Retries)
	row("write failures by kind", mapString(rep.WriteFailures))
	row("writes rejected or never acknowledged", len(rep.Rejected))
	row("reads by outcome", mapString(rep.Reads))
	row("live posts / mentions (ground truth)", fmt.Sprintf("%d / %d", rep.LivePosts, rep.Mentions))
	row("mention mismatches", rep.MentionMismatches)
	row("notification mismatches", rep.NotificationMismatches)
	row("mention emails written / mismatches", fmt.Sprintf("%d / %d", rep.EmailsSent, rep.EmailMismatches))
	row("emails sent before a crash undid their record (post deleted before the retry)", rep.EmailsUnrecorded)
	row("counter mismatches", rep.CounterMismatches)
	row("jobs discarded or cancelled", rep.JobsFailed)
	row("job drain after the load", rep.DrainTime.Round(time.Millisecond))
	row("stream clients / connections", fmt.Sprintf("%d / %d", rep.StreamClients, rep.StreamConnects))
	row("stream events received", rep.StreamEvents)
	row("stream events missing / duplicated / out of order / resets",
		fmt.Sprintf("%d / %d / %d / %d", rep.StreamMissing, rep.StreamDuplicates, rep.StreamOutOfOrder, rep.StreamResets))
	for _, d := range rep.Details {
		fmt.Fprintf(&b, "\n- %s", d)
	}
	for _, d := range rep.Rejected[:min(10, len(rep.Rejected))] {
		fmt.Fprintf(&b, "\n- rejected: %s", d)
	}
	return b.String()
}

func mapString(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
