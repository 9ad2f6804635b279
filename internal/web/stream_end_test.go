package web_test

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// stream opens the website's live stream as c and returns a function that waits until
// the stream ends and returns the names of the events it sent.
func (c *client) stream(name string) func(timeout time.Duration) []string {
	c.s.t.Helper()
	t := c.s.t
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.s.srv.URL+"/events?stream="+name, nil)
	require.NoError(t, err)
	res, err := c.http.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { res.Body.Close() })
	require.Equal(t, http.StatusOK, res.StatusCode)
	sc := bufio.NewScanner(res.Body)
	require.True(t, sc.Scan())
	done := make(chan []string, 1)
	go func() {
		var names []string
		for sc.Scan() {
			if n, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				names = append(names, n)
			}
		}
		done <- names
	}()
	return func(timeout time.Duration) []string {
		t.Helper()
		select {
		case names := <-done:
			return names
		case <-time.After(timeout):
			t.Fatalf("the %s stream is still open after %s", name, timeout)
			return nil
		}
	}
}

// TestEndedSessionsEndTheirStreams (issue 13, item 9): logging out, "log out everywhere"
// and a password change close the live streams of the sessions they end within seconds
// (the hub re-checks every 2 s), with a last reset so the page reloads as whoever the
// visitor now is; streams of sessions that stay, and anonymous ones, go on. Before, an
// open stream kept delivering home posts and notification counts after the session ended.
func TestEndedSessionsEndTheirStreams(t *testing.T) {
	t.Parallel()
	s := newSite(t)
	login := func(name string) *client {
		c := s.client()
		res := c.post("/login", url.Values{"login": {name}, "password": {testPassword}})
		require.Equal(t, http.StatusSeeOther, res.status)
		return c
	}
	alice := s.client()
	alice.signup("alice")
	bobLaptop := s.client()
	bobLaptop.signup("bob")
	bobPhone := login("bob")
	carolLaptop := s.client()
	carolLaptop.signup("carol")
	carolPhone := login("carol")
	anonymous := s.client()

	aliceHome := alice.stream("home")
	bobPhoneNotifications := bobPhone.stream("notifications")
	carolPhoneHome := carolPhone.stream("home")
	carolLaptopPublic := carolLaptop.stream("public")
	anonymous.stream("public")
	require.Eventually(t, func() bool { return s.hubSubscribers() == 5 }, 5*time.Second, 10*time.Millisecond)

	start := time.Now()
	require.Equal(t, http.StatusSeeOther, alice.post("/logout", url.Values{}).status)
	require.Equal(t, http.StatusSeeOther, bobLaptop.post("/settings/logout-everywhere", url.Values{}).status)
	require.Equal(t, http.StatusSeeOther, carolLaptop.post("/settings/password",
		url.Values{"current_password": {testPassword}, "new_password": {"brand new passphrase"}}).status)
	for name, rest := range map[string]func(time.Duration) []string{
		"alice's, logged out": aliceHome, "bob's phone's, logged out everywhere": bobPhoneNotifications,
		"carol's phone's, password changed": carolPhoneHome,
		// This session stays, renewed under a new cookie: its stream, opened with the
		// old one, starts over too.
		"carol's laptop's, renewed": carolLaptopPublic,
	} {
		require.Equal(t, []string{"reset"}, rest(6*time.Second), name)
	}
	t.Logf("the streams ended %s after their sessions", time.Since(start).Round(time.Millisecond))
	require.Eventually(t, func() bool { return s.hubSubscribers() == 1 && s.hub.Admitted() == 1 }, 5*time.Second, 10*time.Millisecond,
		"only the anonymous stream is left")
	require.Equal(t, int64(4), s.hub.Ended.Load())

	// carol's laptop, still logged in, streams again; the anonymous stream was never cut.
	carolLaptop.stream("home")
	require.Eventually(t, func() bool { return s.hubSubscribers() == 2 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(2500 * time.Millisecond) // past a re-check
	require.Equal(t, 2, s.hubSubscribers(), "a session that holds keeps its stream")
}
