package main

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
)

// TestServerLimits: the running server refuses oversized headers, bodies and forms with
// clear statuses, and drops a client that never finishes its request headers.
func TestServerLimits(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	base := startProcess(t, dsn, "serve")
	do := func(method, path, contentType string, body io.Reader, header map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, body)
		require.NoError(t, err)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		return res.StatusCode, string(b)
	}

	// Headers over 64 KiB.
	code, _ := do(http.MethodGet, "/", "", nil, map[string]string{"X-Padding": strings.Repeat("a", 100<<10)})
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, code)

	// A website form over 64 KiB.
	form := url.Values{"username": {"alice"}, "password": {strings.Repeat("p", 100<<10)}}.Encode()
	code, body := do(http.MethodPost, "/login", "application/x-www-form-urlencoded", strings.NewReader(form), nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, code, body)

	// An API body over 1 MiB, JSON and form.
	big := `{"client_name":"x","redirect_uris":"urn:ietf:wg:oauth:2.0:oob","website":"` + strings.Repeat("w", 2<<20) + `"}`
	code, body = do(http.MethodPost, "/api/v1/apps", "application/json", strings.NewReader(big), nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, code, body)
	require.Contains(t, body, `"error"`, "a Mastodon error entity, not a stack trace")
	code, body = do(http.MethodPost, "/api/v1/apps", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"client_name": {strings.Repeat("n", 2<<20)}, "redirect_uris": {"urn:ietf:wg:oauth:2.0:oob"}}.Encode()), nil)
	require.Equal(t, http.StatusRequestEntityTooLarge, code, body)

	// A client that sends part of its headers and then nothing is cut off after the
	// read-header timeout (10 s), not held forever.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n"))
	require.NoError(t, err)
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(30*time.Second)))
	_, err = bufio.NewReader(conn).ReadByte()
	require.Error(t, err, "the server closes the connection")
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection was still open after 30 s")
	}
}
