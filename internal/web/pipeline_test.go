package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

func TestNotificationsPageAndUnreadCount(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bob := s.client()
	bob.signup("bob")
	alice := s.client()
	alice.signup("alice")
	alice.post("/posts", url.Values{"body": {"@bob look at this"}})
	alice.post("/posts", url.Values{"body": {"and this, @BOB"}})
	s.waitFor(`SELECT count(*) FROM notifications`, 2)

	home := bob.get("/home")
	require.Contains(t, home.body, `aria-label="2 unread">2</span>`)
	page := bob.get("/notifications")
	require.Equal(t, http.StatusOK, page.status)
	require.Equal(t, 2, strings.Count(page.body, `class="notification unread"`))
	require.Contains(t, page.body, `<a class="mention" href="/@bob">@bob</a> look at this`)
	require.Contains(t, page.body, `<a class="mention" href="/@BOB">@BOB</a>`)

	upTo := regexp.MustCompile(`name="up_to" value="(\d+)"`).FindStringSubmatch(page.body)
	require.NotNil(t, upTo)
	res := bob.post("/notifications/read", url.Values{"up_to": {upTo[1]}})
	require.Equal(t, http.StatusSeeOther, res.status)
	page = bob.get("/notifications")
	require.Zero(t, strings.Count(page.body, `class="notification unread"`))
	require.NotContains(t, page.body, `unread">`)

	// A deleted post's notification disappears with it.
	var id int64
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT id FROM posts WHERE body LIKE 'and this%'`).Scan(&id))
	require.Equal(t, http.StatusSeeOther, alice.post(fmt.Sprintf("/posts/%d/delete", id), nil).status)
	require.Equal(t, 1, strings.Count(bob.get("/notifications").body, `id="notification-`))

	// Others' notifications are nobody else's business.
	require.Equal(t, http.StatusSeeOther, s.client().get("/notifications").status)
	require.NotContains(t, alice.get("/notifications").body, "look at this")
}

func TestSettingsTurnMentionEmailsOff(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	c := s.client()
	c.signup("alice")
	page := c.get("/settings")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, `name="email_mentions" type="checkbox" checked`)
	res := c.post("/settings", url.Values{"display_name": {"Alice A."}, "bio": {"Writes <code>."}})
	require.Equal(t, http.StatusSeeOther, res.status)
	page = c.get("/settings")
	require.NotContains(t, page.body, `name="email_mentions" type="checkbox" checked`)
	require.Equal(t, 1, s.count(`SELECT count(*) FROM users WHERE NOT email_mentions AND display_name = 'Alice A.'`))
	require.Contains(t, c.get("/@alice").body, "Writes &lt;code&gt;.")

	res = c.post("/settings", url.Values{"display_name": {strings.Repeat("x", 51)}, "email_mentions": {"on"}})
	require.Equal(t, http.StatusUnprocessableEntity, res.status)
	require.Contains(t, res.body, "Use at most 50 characters.")
	require.Equal(t, 1, s.count(`SELECT count(*) FROM users WHERE NOT email_mentions`), "nothing changed")
}

func TestStatsPageDrawsTheLast30Days(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	yesterday := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	_, err := s.pool.Exec(context.Background(), `INSERT INTO daily_stats (day, posts, active_authors, new_users, mentions, notifications_emailed)
		VALUES ($1, 17, 5, 2, 4, 3), ($2, 9, 3, 0, 1, 1)`, yesterday, yesterday.AddDate(0, 0, -1))
	require.NoError(t, err)
	res := s.client().get("/stats")
	require.Equal(t, http.StatusOK, res.status)
	require.Contains(t, res.body, `<svg class="chart"`)
	require.Equal(t, 30, strings.Count(res.body, `<rect class="bar"`))
	require.Contains(t, res.body, fmt.Sprintf("<title>%s: 17 posts, 5 active authors</title>", yesterday.Format("Jan 2")))
	require.Contains(t, res.body, "<td>17</td><td>5</td><td>2</td><td>4</td><td>3</td>")
}

func TestRiverUIIsForAdminsOnly(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	anon := s.client()
	require.Equal(t, http.StatusForbidden, anon.get("/admin/river/").status)
	require.Equal(t, http.StatusForbidden, anon.get("/admin/river/api/jobs?state=available").status)

	user := s.client()
	user.signup("alice")
	require.Equal(t, http.StatusForbidden, user.get("/admin/river/").status)
	require.Equal(t, http.StatusForbidden, user.get("/admin/river/api/jobs?state=completed").status)

	admin := s.client()
	admin.signup("boss")
	require.NoError(t, s.core.GrantAdmin(context.Background(), "boss"))
	page := admin.get("/admin/river/")
	require.Equal(t, http.StatusOK, page.status)
	require.Contains(t, page.body, `"base":"/admin/river"`)
	api := admin.get("/admin/river/api/jobs?state=completed&limit=5")
	require.Equal(t, http.StatusOK, api.status, api.body)
	require.Contains(t, api.header.Get("Content-Type"), "application/json")
}

func TestOneRequestIDFollowsAPostThroughTheWorkers(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	bob := s.client()
	bob.signup("bob")
	bob.verifyEmail("bob@example.com") // mention emails go to verified addresses only
	alice := s.client()
	alice.signup("alice")
	res := alice.post("/posts", url.Values{"body": {"ping @bob"}}, "X-Request-ID", "story-of-a-post")
	require.Equal(t, http.StatusSeeOther, res.status)
	s.waitFor(`SELECT count(*) FROM email_deliveries`, 1)
	// Wait for every line (the consumer and the email job log after their commits), then
	// check each.
	msgs := []string{"http request", "post created", "mentions applied", "mention email sent"}
	line := func(msg string) *regexp.Regexp {
		return regexp.MustCompile(`"msg":"` + msg + `"[^\n]*"request_id":"story-of-a-post"`)
	}
	require.Eventually(t, func() bool {
		logs := s.logs.String()
		for _, msg := range msgs {
			if !line(msg).MatchString(logs) {
				return false
			}
		}
		return true
	}, 10*time.Second, 20*time.Millisecond)
	logs := s.logs.String()
	for _, msg := range msgs {
		require.Regexp(t, line(msg), logs, msg)
	}
	require.Equal(t, 1, s.count(`SELECT count(*) FROM river_job WHERE metadata->>'request_id' = 'story-of-a-post'`),
		"the email job carries the id")
	require.Equal(t, 2, s.count(`SELECT count(*) FROM events WHERE request_id = 'story-of-a-post'`),
		"so do the post's event and the notification's")
}

// TestAdminPageShowsThePipeline: the admin page lists each consumer of the event log with
// how far behind it is, and the job queues; nobody but an administrator sees it.
func TestAdminPageShowsThePipeline(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	admin := s.client()
	admin.signup("boss")
	require.NoError(t, s.core.GrantAdmin(context.Background(), "boss"))
	user := s.client()
	user.signup("alice")
	require.Equal(t, http.StatusForbidden, user.get("/admin").status)
	require.Equal(t, http.StatusForbidden, s.client().get("/admin").status)

	res := user.post("/posts", url.Values{"body": {"hello @boss"}})
	require.Equal(t, http.StatusSeeOther, res.status)
	s.waitFor(`SELECT count(*) FROM consumers c WHERE EXISTS (SELECT 1 FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id))`, 0)
	page := admin.get("/admin")
	require.Equal(t, http.StatusOK, page.status)
	for _, name := range core.ConsumerNames() {
		require.Regexp(t, `<td>`+name+`</td><td>0</td><td>caught up</td><td>[1-9][0-9]*</td>`, page.body)
	}
	require.Contains(t, page.body, "<h2>Job queues</h2>")
}
