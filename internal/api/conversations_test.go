package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/core"
)

// TestDirectConversations: a direct post lands in a conversation for each participant
// (unread for the recipients), the direct stream announces it, reading and removing work,
// and the next direct post between the same people brings the conversation back.
func TestDirectConversations(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	alice, bob, carol := s.user("alice"), s.user("bob"), s.user("carol")
	at, bt := s.personalToken(alice, "read write"), s.personalToken(bob, "read write")

	// Bob follows his direct stream before anything is sent.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/v1/streaming/direct", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+bt)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	events := make(chan string, 10)
	go func() {
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if e, ok := strings.CutPrefix(line, "event: "); ok {
				event = e
			} else if d, ok := strings.CutPrefix(line, "data: "); ok && event == "conversation" {
				events <- d
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)

	dm, _, err := s.core.Publish(ctx, alice, core.NewPost{Body: "@bob @carol lunch at noon?", Visibility: core.VisibilityDirect})
	require.NoError(t, err)
	var streamed map[string]any
	select {
	case d := <-events:
		require.NoError(t, json.Unmarshal([]byte(d), &streamed))
	case <-time.After(20 * time.Second):
		t.Fatal("no conversation event on bob's direct stream")
	}
	require.Equal(t, fmt.Sprint(dm.ID), streamed["last_status"].(map[string]any)["id"])
	require.Equal(t, true, streamed["unread"])

	list := func(tok string) []map[string]any {
		code, body, _ := s.call(http.MethodGet, "/api/v1/conversations", tok, nil)
		require.Equal(t, http.StatusOK, code, body)
		var out []map[string]any
		require.NoError(t, json.Unmarshal([]byte(body), &out))
		return out
	}
	names := func(c map[string]any) []string {
		var out []string
		for _, a := range c["accounts"].([]any) {
			out = append(out, a.(map[string]any)["username"].(string))
		}
		return out
	}
	bobs := list(bt)
	require.Len(t, bobs, 1)
	require.ElementsMatch(t, []string{"alice", "carol"}, names(bobs[0]), "the other participants")
	require.Equal(t, true, bobs[0]["unread"])
	alices := list(at)
	require.Len(t, alices, 1)
	require.ElementsMatch(t, []string{"bob", "carol"}, names(alices[0]))
	require.Equal(t, false, alices[0]["unread"], "the author has read her own post")
	s.waitFor(fmt.Sprintf(`SELECT count(*) FROM conversations WHERE user_id = %d`, carol.ID), 1)

	// Bob reads it, then removes it from his list.
	cid := bobs[0]["id"].(string)
	code, body, _ := s.call(http.MethodPost, "/api/v1/conversations/"+cid+"/read", bt, nil)
	require.Equal(t, http.StatusOK, code, body)
	require.Contains(t, body, `"unread":false`)
	code, _, _ = s.call(http.MethodPost, "/api/v1/conversations/"+cid+"/read", at, nil)
	require.Equal(t, http.StatusNotFound, code, "alice's conversation ids are not bob's")
	code, _, _ = s.call(http.MethodDelete, "/api/v1/conversations/"+cid, bt, nil)
	require.Equal(t, http.StatusOK, code)
	require.Empty(t, list(bt))

	// Carol answers all of them: bob's conversation comes back, unread, with her answer.
	reply, _, err := s.core.Publish(ctx, carol, core.NewPost{Body: "@alice @bob yes!", Visibility: core.VisibilityDirect, InReplyTo: dm.ID})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(list(bt)) == 1 }, 20*time.Second, 20*time.Millisecond)
	bobs = list(bt)
	require.Equal(t, fmt.Sprint(reply.ID), bobs[0]["last_status"].(map[string]any)["id"])
	require.Equal(t, true, bobs[0]["unread"])
	s.waitFor(fmt.Sprintf(`SELECT count(*) FROM conversations WHERE last_post_id = %d`, reply.ID), 3)
	require.Len(t, list(at), 1, "one conversation for the same people")

	// Nobody else has it.
	dave := s.user("dave")
	require.Empty(t, list(s.personalToken(dave, "read")))
}
