package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerLag is one consumer's distance from the head of the event log.
type ConsumerLag struct {
	Consumer string
	// Behind is how many events it has yet to apply.
	Behind int64
	// OldestAge is the age of the oldest of them (0 when there is none).
	OldestAge time.Duration
}

// QueueDepth is the unfinished jobs of one queue in one state.
type QueueDepth struct {
	Queue, State string
	Jobs         int64
	OldestAge    time.Duration
}

// Pipeline registers the pipeline's lag figures, read from the database by read at
// scrape time: starling_consumer_behind_events and
// starling_consumer_oldest_unapplied_seconds by consumer, starling_jobs_unfinished and
// starling_jobs_oldest_seconds by queue and state. It also registers the per-batch
// counters fed by ConsumerBatch.
func (m *Metrics) Pipeline(read func(ctx context.Context) ([]ConsumerLag, []QueueDepth, error)) {
	m.Registry.MustRegister(&pipelineCollector{read: read,
		behind: prometheus.NewDesc("starling_consumer_behind_events",
			"Events of the log a consumer has yet to apply.", []string{"consumer"}, nil),
		oldest: prometheus.NewDesc("starling_consumer_oldest_unapplied_seconds",
			"Age of the oldest event a consumer has yet to apply (0 when caught up).", []string{"consumer"}, nil),
		jobs: prometheus.NewDesc("starling_jobs_unfinished",
			"Unfinished River jobs by queue and state.", []string{"queue", "state"}, nil),
		jobAge: prometheus.NewDesc("starling_jobs_oldest_seconds",
			"Age of the oldest unfinished job by queue and state (available: since it became due).", []string{"queue", "state"}, nil),
		up: prometheus.NewDesc("starling_pipeline_status_up",
			"1 when the pipeline figures could be read from the database at this scrape.", nil, nil),
	})
}

// ConsumerBatch records one batch a consumer applied: its events, and how old the newest
// of them was when the batch committed.
func (m *Metrics) ConsumerBatch(consumer string, events int, lag time.Duration) {
	m.consumerEvents.WithLabelValues(consumer).Add(float64(events))
	m.consumerLag.WithLabelValues(consumer).Observe(lag.Seconds())
}

type pipelineCollector struct {
	read                             func(ctx context.Context) ([]ConsumerLag, []QueueDepth, error)
	behind, oldest, jobs, jobAge, up *prometheus.Desc
}

func (c *pipelineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.behind, c.oldest, c.jobs, c.jobAge, c.up} {
		ch <- d
	}
}

func (c *pipelineCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	lags, depths, err := c.read(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	for _, l := range lags {
		ch <- prometheus.MustNewConstMetric(c.behind, prometheus.GaugeValue, float64(l.Behind), l.Consumer)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, l.OldestAge.Seconds(), l.Consumer)
	}
	for _, d := range depths {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(d.Jobs), d.Queue, d.State)
		ch <- prometheus.MustNewConstMetric(c.jobAge, prometheus.GaugeValue, d.OldestAge.Seconds(), d.Queue, d.State)
	}
}
