package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/starling-social/starling/internal/pgtest"
)

// asMainEnv makes the test binary run main() instead of the tests: a real starling
// process for the multi-process tests.
const asMainEnv = "STARLING_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// proc is a starling child process.
type proc struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuf
	done chan struct{}
	exit int
}

// startProcess runs `starling <args>` as a child process and returns its base URL once
// it listens.
func startProcess(t *testing.T, dsn string, args ...string) string {
	return startProc(t, dsn, nil, args...).base
}

// startProc starts `starling <args>` with extra environment variables.
func startProc(t *testing.T, dsn string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), asMainEnv+"=1", "DATABASE_URL="+dsn, "STARLING_LISTEN=127.0.0.1:0",
		"STARLING_LOG_FORMAT=json", "STARLING_PASSWORD_MEMORY_KIB=1024", "STARLING_PASSWORD_ITERATIONS=1",
		"STARLING_DATA_DIR="+t.TempDir())
	cmd.Env = append(cmd.Env, env...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	p := &proc{cmd: cmd, logs: &syncBuf{}, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.logs.Write(append(sc.Bytes(), '\n'))
			var line struct {
				Msg     string `json:"msg"`
				Listen  string `json:"listen"`
				Serving string `json:"serving"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "starling started" && line.Serving != "metrics" {
				addr <- line.Listen
			}
		}
		cmd.Wait()
		p.exit = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(40 * time.Second):
			cmd.Process.Kill()
		}
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
		return p
	case <-time.After(30 * time.Second):
		t.Fatalf("process did not start:\n%s", p.logs.String())
		return nil
	}
}

// stop sends SIGTERM and waits for the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
		return p.exit
	case <-time.After(60 * time.Second):
		t.Fatal("process did not stop after SIGTERM")
		return -1
	}
}

// TestPostsReachStreamsOfAnotherProcess: two serve processes share only Postgres; a post
// written through the first reaches an SSE client of the second.
func TestPostsReachStreamsOfAnotherProcess(t *testing.T) {
	t.Parallel()
	_, dsn := pgtest.NewDB(t)
	p1 := startProcess(t, dsn, "serve")
	p2 := startProcess(t, dsn, "serve")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p2+"/events?stream=public", nil)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	got := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				got <- sc.Text()
			}
		}
	}()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	form := func(path string, v url.Values) {
		req, _ := http.NewRequest(http.MethodPost, p1+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := c.Do(req)
		require.NoError(t, err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path) // after the redirect
	}
	form("/signup", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {"correct horse battery"}})
	sent := time.Now()
	form("/posts", url.Values{"body": {"hello from process one"}})
	select {
	case data := <-got:
		require.Contains(t, data, "hello from process one")
		t.Logf("process 2's client got the post %s after it was written through process 1", time.Since(sent).Round(time.Millisecond))
	case <-ctx.Done():
		t.Fatal("the post did not reach the other process's stream")
	}
}
