package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The lean load generator. net/http's client costs tens of microseconds and several
// allocations per request (header maps, a goroutine per connection for reading, a
// transport's pool); on two cores shared with the server and PostgreSQL that is CPU taken
// from what is measured. rawLoop instead keeps c HTTP/1.1 keep-alive connections, writes
// requests built into a reused buffer, and reads each response with one bufio.Reader:
// the status line, Content-Length or chunked framing, and the body discarded. It reports
// its own CPU time, so that every figure can say what share of the machine the generator
// took.

// request builds the bytes of call i's request into buf (reset to length 0) and returns
// them. The Host header and HTTP/1.1 framing are the builder's: see getRequest.
type request func(buf []byte, i int) []byte

// getRequest returns a builder of a GET of path with the given extra header lines (each
// "Name: value").
func getRequest(host, path string, headers ...string) request {
	fixed := []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n")
	for _, h := range headers {
		fixed = append(fixed, h+"\r\n"...)
	}
	fixed = append(fixed, "\r\n"...)
	return func(buf []byte, _ int) []byte { return append(buf, fixed...) }
}

// postFormRequest returns a builder of a form POST to path whose body is body(i).
func postFormRequest(host, path, token string, body func(i int) string) request {
	head := "POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	if token != "" {
		head += "Authorization: Bearer " + token + "\r\n"
	}
	return func(buf []byte, i int) []byte {
		b := body(i)
		buf = append(buf, head...)
		buf = append(buf, "Content-Length: "...)
		buf = strconv.AppendInt(buf, int64(len(b)), 10)
		buf = append(buf, "\r\n\r\n"...)
		return append(buf, b...)
	}
}

// rawLoop runs c closed-loop connections to addr for d, each sending build's requests one
// after another and expecting status want, and measures throughput, latency and its own
// CPU share. A connection that fails is reopened; its failed call counts as an error.
func rawLoop(addr string, c int, d time.Duration, want int, build request) load {
	var wg sync.WaitGroup
	var errs atomic.Int64
	lat := make([][]time.Duration, c)
	cpu0 := selfCPU()
	start := time.Now()
	deadline := start.Add(d)
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var br *bufio.Reader
			buf := make([]byte, 0, 4096)
			lat[w] = make([]time.Duration, 0, 1<<14)
			for i := 0; time.Now().Before(deadline); i++ {
				if conn == nil {
					var err error
					if conn, err = net.Dial("tcp", addr); err != nil {
						errs.Add(1)
						time.Sleep(10 * time.Millisecond)
						continue
					}
					br = bufio.NewReaderSize(conn, 32<<10)
				}
				buf = build(buf[:0], w*1_000_000+i)
				t0 := time.Now()
				conn.SetDeadline(t0.Add(30 * time.Second))
				status, closeAfter, err := roundTrip(conn, br, buf)
				if err != nil || status != want {
					errs.Add(1)
					if err != nil || closeAfter {
						conn.Close()
						conn = nil
					}
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				if closeAfter {
					conn.Close()
					conn = nil
				}
			}
			if conn != nil {
				conn.Close()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := selfCPU() - cpu0
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	return load{rate: float64(len(all)) / elapsed.Seconds(), latencies: all, errors: errs.Load(), elapsed: elapsed,
		genCPU: cpu.Seconds() / elapsed.Seconds()}
}

// roundTrip writes req and reads one response, discarding its body. closeAfter is set when
// the server will close the connection.
func roundTrip(conn net.Conn, br *bufio.Reader, req []byte) (status int, closeAfter bool, err error) {
	if _, err := conn.Write(req); err != nil {
		return 0, true, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, true, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, true, fmt.Errorf("bad status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, true, err
	}
	length, chunked := int64(-1), false
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, true, err
		}
		if len(h) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "content-length"):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil {
				return 0, true, err
			}
		case asciiEqualFold(name, "transfer-encoding"):
			chunked = asciiEqualFold(value, "chunked")
		case asciiEqualFold(name, "connection"):
			closeAfter = asciiEqualFold(value, "close")
		}
	}
	switch {
	case status == 304 || status == 204:
	case chunked:
		for {
			sizeLine, err := br.ReadSlice('\n')
			if err != nil {
				return 0, true, err
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(sizeLine, []byte(";"), 2)[0])), 16, 64)
			if err != nil {
				return 0, true, err
			}
			if _, err := br.Discard(int(size) + 2); err != nil {
				return 0, true, err
			}
			if size == 0 {
				break
			}
		}
	case length >= 0:
		if _, err := br.Discard(int(length)); err != nil {
			return 0, true, err
		}
	default:
		return status, true, errors.New("response without a length")
	}
	return status, closeAfter, nil
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// selfCPU returns the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostOf returns the host:port of a base URL such as http://127.0.0.1:8080.
func hostOf(base string) string {
	_, h, _ := strings.Cut(base, "://")
	return h
}

// arrival is one update's receipt by a fan-out client: the status's id and when it came.
type arrival struct {
	id int64
	at time.Time
}

// sseListen opens the SSE stream of path at addr, calls opened once the response's headers
// are in (or the attempt failed), and appends every update's status id and time of receipt
// to *got until ctx ends. It is what 10,000 clients in the harness can afford: one
// connection, one 4 KiB reader, a prefix test per line and no lock (each client has its
// own slice, read after it returns).
func sseListen(ctx context.Context, addr, path string, opened func(error), got *[]arrival) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		opened(err)
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n\r\n", path, addr); err != nil {
		opened(err)
		return
	}
	res, err := http.ReadResponse(bufio.NewReaderSize(conn, 4096), req)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", res.StatusCode)
	}
	opened(err)
	if err != nil {
		return
	}
	defer res.Body.Close()
	br := bufio.NewReaderSize(res.Body, 4096)
	prefix := []byte(`data: {"id":"`)
	inLine := false // in the rest of a line longer than the reader's buffer
	for {
		line, err := br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return
		}
		if rest, ok := bytes.CutPrefix(line, prefix); ok && !inLine {
			if end := bytes.IndexByte(rest, '"'); end > 0 {
				if id, err := strconv.ParseInt(string(rest[:end]), 10, 64); err == nil {
					*got = append(*got, arrival{id, time.Now()})
				}
			}
		}
		inLine = err == bufio.ErrBufferFull
	}
}

// wsOpen opens a WebSocket connection to path at addr (subscribed by its query, as
// ?stream=public) and returns it once the server answered 101; the caller leaves it idle
// and closes it. The handshake is written by hand: the harness holds thousands of these.
func wsOpen(addr, path string) (net.Conn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	// Read the response's head byte by byte: nothing after it may be taken from the
	// connection, and it is read once.
	var head []byte
	b := make([]byte, 1)
	for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		if _, err := conn.Read(b); err != nil {
			conn.Close()
			return nil, err
		}
		head = append(head, b[0])
		if len(head) > 4096 {
			conn.Close()
			return nil, errors.New("websocket: response head too long")
		}
	}
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101 ")) {
		conn.Close()
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		return nil, fmt.Errorf("websocket: %s", line)
	}
	return conn, nil
}
