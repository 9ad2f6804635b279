// Package metrics defines Starling's Prometheus metrics and the hooks that feed them.
// Names follow Prometheus conventions (starling_ prefix, _total counters, _seconds
// histograms). No label carries a user id or a raw path: HTTP requests are labelled by
// route template.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/starling-social/starling/internal/tracing"
)

// Metrics holds every metric of one process.
type Metrics struct {
	// Registry is what /metrics exposes.
	Registry *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	eventsTotal  *prometheus.CounterVec
	delivery     prometheus.Histogram
	delivered    prometheus.Counter
	jobs         *prometheus.CounterVec
	jobDuration  *prometheus.HistogramVec
	emails       *prometheus.CounterVec

	consumerEvents *prometheus.CounterVec
	consumerLag    *prometheus.HistogramVec
}

// New creates the metrics and registers them, with Go runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "starling_http_requests_total", Help: "HTTP requests by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "starling_http_request_duration_seconds", Help: "HTTP request latency by route template (streams excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		eventsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "starling_events_written_total", Help: "Events written to the event log by this process, by topic (post.created counts posts written).",
		}, []string{"topic"}),
		delivery: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "starling_live_delivery_lag_seconds", Help: "Time from an event's write to its fan-out to stream clients.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "starling_live_events_read_total", Help: "Events the live hub read from the log and fanned out.",
		}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "starling_jobs_total", Help: "Job attempts by kind and outcome (completed, failed, cancelled, snoozed, discarded).",
		}, []string{"kind", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "starling_job_run_seconds", Help: "Job run time by kind.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5, 30},
		}, []string{"kind"}),
		emails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "starling_email_deliveries_total", Help: "Mention emails by result (sent, skipped, failed).",
		}, []string{"result"}),
		consumerEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "starling_consumer_events_total", Help: "Events of the log applied by this process's consumer runs, by consumer.",
		}, []string{"consumer"}),
		consumerLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "starling_consumer_lag_seconds", Help: "Age of a batch's newest event when the batch's effects committed, by consumer.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"consumer"}),
	}
	r.MustRegister(m.httpRequests, m.httpDuration, m.eventsTotal, m.delivery, m.delivered, m.jobs, m.jobDuration, m.emails,
		m.consumerEvents, m.consumerLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// EventWritten counts an event committed by this process.
func (m *Metrics) EventWritten(topic string) { m.eventsTotal.WithLabelValues(topic).Inc() }

// Fanout records one hub batch: how many events, and how old the oldest was.
func (m *Metrics) Fanout(n int, lag time.Duration) {
	m.delivered.Add(float64(n))
	m.delivery.Observe(lag.Seconds())
}

// Job records one job attempt.
func (m *Metrics) Job(kind, outcome string, run time.Duration) {
	m.jobs.WithLabelValues(kind, outcome).Inc()
	if run > 0 {
		m.jobDuration.WithLabelValues(kind).Observe(run.Seconds())
	}
}

// Email records a mention email's result.
func (m *Metrics) Email(result string) { m.emails.WithLabelValues(result).Inc() }

// GaugeFunc registers a gauge whose value is read at scrape time.
func (m *Metrics) GaugeFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter whose value is read at scrape time.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// StreamClients registers starling_stream_clients{kind} read from count at scrape time.
func (m *Metrics) StreamClients(count func() map[string]int) {
	m.Registry.MustRegister(&streamCollector{count: count, desc: prometheus.NewDesc(
		"starling_stream_clients", "Connected live stream clients by kind.", []string{"kind"}, nil)})
}

type streamCollector struct {
	count func() map[string]int
	desc  *prometheus.Desc
}

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.count()
	for _, kind := range []string{"public", "hashtag", "home", "user", "notifications"} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[kind]), kind)
	}
}

// Pool registers the connection pool's statistics.
func (m *Metrics) Pool(pool *pgxpool.Pool) {
	g := func(name, help string, f func(s *pgxpool.Stat) float64) {
		m.GaugeFunc(name, help, func() float64 { return f(pool.Stat()) })
	}
	g("starling_db_pool_connections", "Open connections in the pool.", func(s *pgxpool.Stat) float64 { return float64(s.TotalConns()) })
	g("starling_db_pool_acquired_connections", "Connections in use.", func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) })
	g("starling_db_pool_idle_connections", "Idle connections.", func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) })
	g("starling_db_pool_max_connections", "Pool size limit.", func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) })
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "starling_db_pool_acquires_total", Help: "Connections acquired from the pool.",
	}, func() float64 { return float64(pool.Stat().AcquireCount()) }))
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "starling_db_pool_empty_acquires_total", Help: "Acquires that had to wait for a connection.",
	}, func() float64 { return float64(pool.Stat().EmptyAcquireCount()) }))
	m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "starling_db_pool_acquire_wait_seconds_total", Help: "Time spent waiting for connections.",
	}, func() float64 { return pool.Stat().AcquireDuration().Seconds() }))
}

type routeKey struct{}

// Routes is a gorilla/mux middleware that records the matched route template for HTTP
// and names the request's trace span after it.
func Routes(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt := mux.CurrentRoute(r); rt != nil {
			if tpl, err := rt.GetPathTemplate(); err == nil {
				if holder, ok := r.Context().Value(routeKey{}).(*string); ok {
					*holder = tpl
				}
				tracing.NameHTTP(r.Context(), r.Method, tpl)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// codeWriter records the status code.
type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *codeWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *codeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// HTTP counts requests and observes their latency, labelled by the route template that
// Routes recorded ("unmatched" when no route matched).
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "unmatched"
		r = r.WithContext(context.WithValue(r.Context(), routeKey{}, &route))
		cw := &codeWriter{ResponseWriter: w}
		start := time.Now()
		next.ServeHTTP(cw, r)
		if cw.code == 0 {
			cw.code = http.StatusOK
		}
		m.httpRequests.WithLabelValues(route, r.Method, strconv.Itoa(cw.code)).Inc()
		if cw.Header().Get("Content-Type") != "text/event-stream" && cw.code != http.StatusSwitchingProtocols {
			m.httpDuration.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		}
	})
}
