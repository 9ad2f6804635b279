package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/starling-social/starling/internal/tracing"
)

// installTracer records the process's spans in memory until the test ends. It sets the
// global tracer provider, so tests that use it do not run in parallel.
func installTracer(t *testing.T) *tracetest.InMemoryExporter {
	exp := tracetest.NewInMemoryExporter()
	shutdown := tracing.Install(exp, "test")
	t.Cleanup(func() {
		shutdown(context.Background())
		otel.SetTracerProvider(noop.NewTracerProvider())
	})
	return exp
}

// TestTraceOfOnePost follows one post from its HTTP request into the jobs it caused, with
// an in-process exporter.
func TestTraceOfOnePost(t *testing.T) {
	exp := installTracer(t)

	s := newServer(t)
	s.user("bob")
	tok := s.personalToken(s.user("alice"), "write")
	st, body, _ := s.call(http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"traced @bob"}})
	require.Equal(t, http.StatusOK, st, body)
	s.waitFor(`SELECT count(*) FROM email_deliveries`, 1)
	s.waitFor(`SELECT count(*) FROM river_job WHERE state <> 'completed' AND kind = 'mention_email'`, 0)
	s.waitFor(`SELECT count(*) FROM consumers c WHERE EXISTS (SELECT 1 FROM events e WHERE (e.xid, e.id) > (c.xid, c.event_id))`, 0)
	tp := otel.GetTracerProvider().(*sdktrace.TracerProvider)
	require.NoError(t, tp.ForceFlush(context.Background())) // (Shutdown would clear the exporter)

	spans := exp.GetSpans()
	byID := map[string]sdktrace.ReadOnlySpan{}
	for _, sp := range spans.Snapshots() {
		byID[sp.SpanContext().SpanID().String()] = sp
	}
	var root sdktrace.ReadOnlySpan
	for _, sp := range spans.Snapshots() {
		if sp.Name() == "POST /api/v1/statuses" {
			root = sp
		}
	}
	require.NotNil(t, root, "an HTTP server span named after the route")
	// The consumers' work on the post and the email job belong to the request's trace,
	// descending from its span.
	jobs := map[string]bool{}
	var tree []string
	for _, sp := range spans.Snapshots() {
		if sp.SpanContext().TraceID() != root.SpanContext().TraceID() {
			continue
		}
		depth, chain := 0, []string{}
		for p := sp; p != nil; {
			chain = append(chain, p.Name())
			parent, ok := byID[p.Parent().SpanID().String()]
			if !ok || !p.Parent().IsValid() {
				break
			}
			p = parent
			depth++
		}
		require.Equal(t, root.Name(), chain[len(chain)-1], "span %q descends from the request", sp.Name())
		if strings.HasPrefix(sp.Name(), "job ") || strings.HasPrefix(sp.Name(), "consume ") {
			jobs[sp.Name()] = true
			tree = append(tree, strings.Repeat("  ", depth)+sp.Name()+"  <- "+strings.Join(chain[1:], " <- "))
		}
	}
	for _, j := range []string{"consume mentions", "consume counters", "job mention_email"} {
		require.True(t, jobs[j], "%s continues the request's trace", j)
	}
	dbSpans := 0
	for _, sp := range spans.Snapshots() {
		if sp.Name() == "db.query" && sp.SpanContext().TraceID() == root.SpanContext().TraceID() {
			dbSpans++
		}
	}
	require.Positive(t, dbSpans, "database spans inside the trace")
	t.Logf("trace %s: %s with %d db.query spans; jobs:\n%s", root.SpanContext().TraceID(), root.Name(), dbSpans, strings.Join(tree, "\n"))
}

// TestNotificationsQueriesDoNotGrowWithThePage: a page of notifications costs the same
// number of database queries whatever its length (it used to cost one more per item).
func TestNotificationsQueriesDoNotGrowWithThePage(t *testing.T) {
	exp := installTracer(t)
	s := newServer(t)
	alice := s.user("alice")
	tok := s.personalToken(alice, "read")
	const authors = 12
	for i := range authors {
		u := s.user(fmt.Sprintf("author%d", i))
		_, err := s.core.CreatePost(context.Background(), u.ID, "hello @alice")
		require.NoError(t, err)
	}
	s.waitFor(fmt.Sprintf("SELECT count(*) FROM notifications WHERE recipient_id = %d", alice.ID), authors)

	queries := func(limit int) int {
		t.Helper()
		exp.Reset()
		st, body, _ := s.call(http.MethodGet, fmt.Sprintf("/api/v1/notifications?limit=%d", limit), tok, nil)
		require.Equal(t, http.StatusOK, st, body)
		require.Equal(t, limit, strings.Count(body, `"type":"mention"`))
		tp := otel.GetTracerProvider().(*sdktrace.TracerProvider)
		require.NoError(t, tp.ForceFlush(context.Background()))
		var root sdktrace.ReadOnlySpan
		for _, sp := range exp.GetSpans().Snapshots() {
			if sp.Name() == "GET /api/v1/notifications" {
				root = sp
			}
		}
		require.NotNil(t, root)
		n := 0
		for _, sp := range exp.GetSpans().Snapshots() {
			if sp.Name() == "db.query" && sp.SpanContext().TraceID() == root.SpanContext().TraceID() {
				n++
			}
		}
		return n
	}
	queries(1) // the token's first use of the minute records last_used_at
	one, all := queries(1), queries(authors)
	t.Logf("db queries: %d for 1 notification, %d for %d", one, all, authors)
	require.Equal(t, one, all, "queries per page do not depend on its length")
}
