package api_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestIdempotencyKeyMakesOnePost(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	token := s.personalToken(s.user("alice"), "write")
	post := func(key, body string) (int, string) {
		st, b, _ := s.call(http.MethodPost, "/api/v1/statuses", token, url.Values{"status": {body}}, "Idempotency-Key", key)
		var got struct{ ID string }
		json.Unmarshal([]byte(b), &got)
		return st, got.ID
	}
	count := func(body string) int {
		var n int
		require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT count(*) FROM posts WHERE body = $1`, body).Scan(&n))
		return n
	}

	// The same key twice, at the same time.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, id := post("key-concurrent", "sent eight times at once")
			require.Equal(t, http.StatusOK, st)
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id, "every attempt returns the one post")
	}
	require.Equal(t, 1, count("sent eight times at once"))

	// A first attempt whose response is lost: the client never reads it and gives up.
	form := url.Values{"status": {"response lost"}}.Encode()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.base, "http://"))
	require.NoError(t, err)
	fmt.Fprintf(conn, "POST /api/v1/statuses HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nIdempotency-Key: key-lost\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s", token, len(form), form)
	require.Eventually(t, func() bool { return count("response lost") == 1 }, 10*time.Second, 10*time.Millisecond)
	conn.Close() // the response was never read
	var firstID int64
	require.NoError(t, s.pool.QueryRow(t.Context(), `SELECT post_id FROM idempotency_keys WHERE key = 'key-lost'`).Scan(&firstID))
	st, id := post("key-lost", "response lost")
	require.Equal(t, http.StatusOK, st)
	require.Equal(t, fmt.Sprint(firstID), id, "the retry gets the original post")
	require.Equal(t, 1, count("response lost"))

	// Another key is another post; keys are per user and bounded.
	st, id2 := post("key-other", "response lost")
	require.Equal(t, http.StatusOK, st)
	require.NotEqual(t, id, id2)
	st, _ = post(strings.Repeat("k", 201), "too long a key")
	require.Equal(t, http.StatusUnprocessableEntity, st)
}
