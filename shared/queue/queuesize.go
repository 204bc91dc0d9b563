package queue

import (
	"context"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
)

const (
	// queueSizeTTL is how long a read of the backlog is served again: scrapes of several
	// Prometheus replicas, or a dashboard refreshing, then cost one round trip per kind and 5 s.
	queueSizeTTL = 5 * time.Second
	// queueSizeTimeout bounds one read, so that a scrape never waits long on a slow server.
	queueSizeTimeout = time.Second
)

// QueueSize reads vecron_job_queue_size on scrape: per kind, the due events its executor has not
// acknowledged. The api serves it, not the executors: at zero replicas an executor reports
// nothing, which is exactly when the backlog matters.
type QueueSize struct {
	js    jetstream.JetStream
	names event.Names
	kinds []domain.JobKind
	clock clockwork.Clock
	desc  *prometheus.Desc

	mu     sync.Mutex
	readAt time.Time
	sizes  map[domain.JobKind]float64
}

// RegisterQueueSize registers in reg the backlog collector of names' due stream on js, timing
// its cache by clock. It returns an error when reg cannot register it. With a nil registry it
// does nothing.
func RegisterQueueSize(reg *metric.Registry, js jetstream.JetStream, names event.Names, clock clockwork.Clock) error {
	desc, err := metric.NewDesc(metric.JobQueueSize)
	if err != nil {
		return err
	}
	q := &QueueSize{js: js, names: names, kinds: DueKinds(), clock: clock, desc: desc}
	// A second api on the same registry finds one registered: one reader of the broker is
	// enough, and two would not be summed (their backlog is the same).
	_, err = reg.RegisterCollector(q, metric.JobQueueSize)
	return err
}

// Describe sends the family's description.
func (q *QueueSize) Describe(ch chan<- *prometheus.Desc) { ch <- q.desc }

// Collect sends each kind's backlog, read at most every queueSizeTTL. A kind whose backlog
// cannot be read (the broker is down or slow) has no sample: a made-up 0 would hide a backlog
// exactly when the broker is in trouble.
func (q *QueueSize) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if now := q.clock.Now(); q.sizes == nil || now.Sub(q.readAt) >= queueSizeTTL {
		q.sizes, q.readAt = q.read(), now
	}
	for _, kind := range q.kinds {
		if n, ok := q.sizes[kind]; ok {
			ch <- prometheus.MustNewConstMetric(q.desc, prometheus.GaugeValue, n, string(kind))
		}
	}
}

// read returns each kind's backlog it could read within queueSizeTimeout.
func (q *QueueSize) read() map[domain.JobKind]float64 {
	ctx, cancel := context.WithTimeout(context.Background(), queueSizeTimeout)
	defer cancel()
	sizes := make(map[domain.JobKind]float64, len(q.kinds))
	for _, kind := range q.kinds {
		if n, err := q.size(ctx, kind); err == nil {
			sizes[kind] = n
		}
	}
	return sizes
}

// size returns kind's backlog (see Inspector.Lag): a missing consumer counts the due stream's
// messages on the kind's subject, not nothing.
func (q *QueueSize) size(ctx context.Context, kind domain.JobKind) (float64, error) {
	n, err := dueLag(ctx, q.js, q.names, kind)
	return float64(n), err
}
