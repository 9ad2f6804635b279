package jobs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
	"github.com/starling-social/starling/internal/text"
)

// TestWorkersKilledRepeatedlyLoseAndDuplicateNothing runs the workers in a child process
// and kills it with SIGKILL again and again while posts with mentions are written and some
// deleted. When the last worker has drained the queue, every mention, notification and
// counter must equal what the posts table says, and no job may be left unfinished.
func TestWorkersKilledRepeatedlyLoseAndDuplicateNothing(t *testing.T) {
	t.Parallel()
	const (
		posts    = 2000
		users    = 40
		minKills = 10
	)
	mailDir := t.TempDir()
	e := newEnv(t, crashConfig(mailDir), 0)
	ctx := context.Background()

	var people []core.User
	for i := range users {
		people = append(people, e.user(fmt.Sprintf("user%02d", i)))
	}
	// A few users turn mention emails off.
	_, err := e.pool.Exec(ctx, `UPDATE users SET email_mentions = false WHERE id % 7 = 0`)
	require.NoError(t, err)

	// Writers: posts with 0-4 mentions each (known, unknown, self, repeated, any case),
	// about one in ten deleted again soon after.
	var written atomic.Int64
	writeErr := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		var wg sync.WaitGroup
		var mu sync.Mutex
		next := 0
		var firstErr error
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					if next == posts || firstErr != nil {
						mu.Unlock()
						return
					}
					next++
					author := people[rng.IntN(users)]
					var b strings.Builder
					fmt.Fprintf(&b, "post %d", next)
					for range rng.IntN(5) {
						switch k := rng.IntN(10); {
						case k < 6:
							fmt.Fprintf(&b, " @%s", strings.ToUpper(people[rng.IntN(users)].Username[:1])+people[rng.IntN(users)].Username[1:])
						case k < 8:
							fmt.Fprintf(&b, " @%s", author.Username)
						default:
							fmt.Fprintf(&b, " @ghost%d", rng.IntN(5))
						}
					}
					del := rng.IntN(10) == 0
					mu.Unlock()
					p, err := e.core.CreatePost(ctx, author.ID, b.String())
					if err == nil && del {
						err = e.core.DeletePost(ctx, author, p.ID)
					}
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
					written.Add(1)
					time.Sleep(5 * time.Millisecond) // spread the writes over the kills
				}
			}()
		}
		wg.Wait()
		writeErr <- firstErr
	}()

	// The killer: start a worker process, let it work a little, SIGKILL it; repeat.
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+e.dsn, "STARLING_CRASH_CHILD_MAIL="+mailDir)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	kills := 0
	writing := true
	for writing || kills < minKills {
		child := start()
		time.Sleep(time.Duration(300+rand.IntN(900)) * time.Millisecond)
		require.NoError(t, child.Process.Signal(syscall.SIGKILL))
		child.Wait()
		kills++
		select {
		case err := <-writeErr:
			require.NoError(t, err)
			writing = false
		default:
		}
	}
	t.Logf("killed the worker process %d times while %d posts were written", kills, written.Load())
	require.EqualValues(t, posts, written.Load())

	// A last worker, left alone, finishes everything, including jobs its killed
	// predecessors left running. River rescues those when they have been running longer
	// than RescueAfter, on the leader's first maintenance pass (and every 30 s after):
	// waiting that long first lets the first pass rescue them all.
	time.Sleep(crashConfig("").RescueAfter)
	final := start()
	defer func() {
		final.Process.Signal(syscall.SIGTERM)
		final.Wait()
	}()
	drainStart := time.Now()
	for i := 0; ; i++ {
		states := e.pending()
		if states == "" || time.Since(drainStart) > 90*time.Second {
			break
		}
		if i%20 == 0 {
			t.Logf("%5.1fs draining: %s", time.Since(drainStart).Seconds(), states)
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.waitIdle(time.Second)
	t.Logf("the last worker drained the queue in %s", time.Since(drainStart).Round(time.Millisecond))

	require.Zero(t, e.count(`SELECT count(*) FROM river_job WHERE state IN ('discarded', 'cancelled')`), "no job failed for good")
	checkGroundTruth(t, e, people)
}

// TestWorkerKilledMidBatchResumesAtOnce: 3,000 posts with two mentions each wait for the
// consumers; a worker starts on them and is SIGKILLed as soon as it has committed its
// first batch, in the middle of the next, and another worker starts at once. The second
// worker continues from the consumers' positions without waiting for River to rescue the
// killed worker's runs (2 minutes here, as in production): every effect is applied exactly
// once, and the test reports how long after the restart the last one landed.
func TestWorkerKilledMidBatchResumesAtOnce(t *testing.T) {
	t.Parallel()
	const posts = 3000
	mailDir := t.TempDir()
	e := newEnv(t, crashConfig(mailDir), 0)
	ctx := context.Background()
	var people []core.User
	for i := range 20 {
		people = append(people, e.user(fmt.Sprintf("user%02d", i)))
	}
	for i := range posts {
		author := people[i%len(people)]
		_, err := e.core.CreatePost(ctx, author.ID, fmt.Sprintf("post %d for @%s and @%s", i,
			people[(i+1)%len(people)].Username, people[(i+2)%len(people)].Username))
		require.NoError(t, err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+e.dsn, "STARLING_CRASH_CHILD_MAIL="+mailDir, childProductionRescue+"=1")
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	applied := func() int {
		return e.count(`SELECT events_applied FROM consumers WHERE name = 'mentions'`)
	}
	first := start()
	require.Eventually(t, func() bool { return applied() > 0 }, 30*time.Second, time.Millisecond)
	require.NoError(t, first.Process.Signal(syscall.SIGKILL))
	first.Wait()
	// A statement the killed worker had sent still runs to its end in its backend, and
	// commits: a fetch of jobs that lands now marks them running at its own time, after
	// the kill. Wait for those statements, so that "before the restart" below means the
	// killed worker's.
	require.Eventually(t, func() bool {
		return e.count(`SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND state NOT IN ('idle', 'idle in transaction')`) == 0
	}, 20*time.Second, 10*time.Millisecond, "the killed worker's last statements end")
	restarted := time.Now()
	before := applied()
	second := start()
	defer func() {
		second.Process.Signal(syscall.SIGTERM)
		second.Wait()
	}()
	require.Less(t, before, posts+len(people), "the first worker was killed before it had applied everything")
	var caughtUp time.Duration
	require.Eventually(t, func() bool {
		lags, err := e.core.ConsumerLags(ctx)
		require.NoError(t, err)
		for _, l := range lags {
			if l.Behind > 0 {
				return false
			}
		}
		caughtUp = time.Since(restarted)
		return true
	}, 2*time.Minute, 10*time.Millisecond)
	t.Logf("killed after %d of %d events; the restarted worker applied the rest %s after the restart",
		before, posts+len(people), caughtUp.Round(time.Millisecond))
	// River would rescue the killed worker's runs only after 2 minutes: the next run did
	// not wait for that.
	require.Less(t, caughtUp, 2*time.Minute)
	// The killed worker's email and maintenance jobs stay running until River rescues them,
	// 2 minutes on: do now what the rescuer would do then, and let the second worker finish.
	_, err := e.pool.Exec(ctx, `UPDATE river_job SET state = 'available', scheduled_at = now()
		WHERE state = 'running' AND attempted_at < $1`, restarted)
	require.NoError(t, err)
	e.waitIdle(90 * time.Second)
	require.Equal(t, 2*posts, e.count(`SELECT count(*) FROM notifications`))
	checkGroundTruth(t, e, people)
}

// checkGroundTruth compares everything the workers maintain with what the posts say.
func checkGroundTruth(t *testing.T, e *env, people []core.User) {
	ctx := context.Background()
	idByName := map[string]int64{}
	for _, u := range people {
		idByName[strings.ToLower(u.Username)] = u.ID
	}
	type key struct{ post, user int64 }
	rows, err := e.pool.Query(ctx, `SELECT id, author_id, body, deleted_at IS NOT NULL FROM posts`)
	require.NoError(t, err)
	wantMentions := map[key]bool{}
	live := map[int64]bool{}
	postsBy := map[int64]int64{}
	for rows.Next() {
		var id, author int64
		var body string
		var deleted bool
		require.NoError(t, rows.Scan(&id, &author, &body, &deleted))
		if deleted {
			continue
		}
		live[id] = true
		postsBy[author]++
		for _, name := range text.Mentions(body) {
			if uid, ok := idByName[name]; ok && uid != author {
				wantMentions[key{id, uid}] = true
			}
		}
	}
	require.NoError(t, rows.Err())

	gotMentions := map[key]bool{}
	rows, err = e.pool.Query(ctx, `SELECT post_id, user_id FROM mentions`)
	require.NoError(t, err)
	for rows.Next() {
		var k key
		require.NoError(t, rows.Scan(&k.post, &k.user))
		if live[k.post] {
			gotMentions[k] = true
		}
	}
	require.NoError(t, rows.Err())
	require.Equal(t, len(wantMentions), len(gotMentions), "mentions of live posts")
	for k := range wantMentions {
		require.True(t, gotMentions[k], "missing mention %+v", k)
	}

	// One notification per mention, nothing else.
	require.Zero(t, e.count(`SELECT count(*) FROM notifications n WHERE NOT EXISTS (
		SELECT 1 FROM mentions m WHERE m.post_id = n.post_id AND m.user_id = n.recipient_id)`))
	require.Zero(t, e.count(`SELECT count(*) FROM mentions m WHERE NOT EXISTS (
		SELECT 1 FROM notifications n WHERE n.post_id = m.post_id AND n.recipient_id = m.user_id)`))
	// Every opted-in notification of a live post was emailed, once.
	require.Zero(t, e.count(`SELECT count(*) FROM notifications n JOIN posts p ON p.id = n.post_id
		JOIN users u ON u.id = n.recipient_id
		WHERE p.deleted_at IS NULL AND u.email_mentions
		  AND NOT EXISTS (SELECT 1 FROM email_deliveries d WHERE d.notification_id = n.id)`))
	require.Zero(t, e.count(`SELECT count(*) FROM email_deliveries d JOIN notifications n ON n.id = d.notification_id
		JOIN users u ON u.id = n.recipient_id WHERE NOT u.email_mentions`))
	// Most of them in digests, past the bound of single emails.
	digests := e.count(`SELECT count(DISTINCT message_id) FROM email_deliveries WHERE message_id LIKE 'digest-%'`)
	require.Positive(t, digests, "digests were sent")
	t.Logf("%d single mention emails, %d digests", e.count(`SELECT count(*) FROM email_deliveries WHERE message_id LIKE 'mention-%'`), digests)

	mentionsOf := map[int64]int64{}
	for k := range wantMentions {
		mentionsOf[k.user]++
	}
	var mismatches []string
	for _, u := range people {
		c, err := e.core.CountersOf(ctx, u.ID)
		require.NoError(t, err)
		want := core.Counters{Posts: postsBy[u.ID], MentionsReceived: mentionsOf[u.ID]}
		if c != want {
			mismatches = append(mismatches, fmt.Sprintf("@%s: got %+v, want %+v", u.Username, c, want))
		}
	}
	slices.Sort(mismatches)
	require.Empty(t, mismatches, "counters differ from the ground truth")
	t.Logf("checked %d live posts, %d mentions, counters of %d users", len(live), len(wantMentions), len(people))
}
