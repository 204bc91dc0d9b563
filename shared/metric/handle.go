package metric

import (
	"sync"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// maxValueLen is the longest label value kept; a namespace or host is far shorter.
const maxValueLen = 128

// bounds maps the label values a caller gives to the values a family may carry: a closed
// label's unknown value and a capped label's value past its cap become Other, so no caller can
// grow a family's series beyond what the catalog allows.
type bounds struct {
	family Name
	labels []Label // with their caps as the settings give them
	closed []map[string]bool
	over   func() *CounterVec

	mu   sync.Mutex
	seen []map[string]bool // per capped label, the values kept so far
}

func (r *Registry) newBounds(d Desc) *bounds {
	labels := make([]Label, len(d.Labels))
	for i, l := range d.Labels {
		l.Cap = r.settings.capFor(l)
		labels[i] = l
	}
	b := &bounds{family: d.Name, labels: labels, closed: make([]map[string]bool, len(d.Labels)),
		seen: make([]map[string]bool, len(d.Labels)), over: func() *CounterVec { return r.overflow }}
	for i, l := range labels {
		if l.Closed() {
			b.closed[i] = make(map[string]bool, len(l.Values))
			for _, v := range l.Values {
				b.closed[i][v] = true
			}
		}
		if l.Cap > 0 {
			b.seen[i] = map[string]bool{}
		}
	}
	return b
}

// apply returns values bounded, one per label: missing values are Other, extra ones dropped.
func (b *bounds) apply(values []string) []string {
	out := make([]string, len(b.labels))
	overflowed := false
	for i, l := range b.labels {
		v := Other
		if i < len(values) {
			v = values[i]
		}
		switch {
		case len(v) > maxValueLen || !utf8.ValidString(v) || v == Other:
			// Prometheus panics on invalid UTF-8; a long value would bloat every scrape.
			v = Other
		case b.closed[i] != nil:
			if !b.closed[i][v] {
				v = Other
			}
		case l.Cap > 0:
			b.mu.Lock()
			if !b.seen[i][v] {
				if len(b.seen[i]) < l.Cap {
					b.seen[i][v] = true
				} else {
					v, overflowed = Other, true
				}
			}
			b.mu.Unlock()
		}
		out[i] = v
	}
	if overflowed {
		b.over().Inc(string(b.family))
	}
	return out
}

// keptAsGiven reports whether apply kept every value as given: only such a series may be
// cached under the values, since a value bounded to Other must count its overflow every time.
func keptAsGiven(values, bounded []string) bool {
	if len(values) != len(bounded) {
		return false
	}
	for i, v := range values {
		if v != bounded[i] {
			return false
		}
	}
	return true
}

// cachedLabels is how many label values a series cache keys on; the catalog's families have
// at most four labels, and a family with more goes without the cache.
const cachedLabels = 4

// seriesKey holds a series' label values: an array is a map key, so a lookup builds no string.
type seriesKey [cachedLabels]string

// series caches the prometheus child of every label set a handle kept as given, so that an
// observation after the first costs one map lookup under a read lock, with no allocation,
// rather than bounding the values and hashing them into the vector again. It holds at most one
// entry per series of the family, which the bounds keep few.
type series[M any] struct {
	mu sync.RWMutex
	m  map[seriesKey]M
}

// key returns the cache key of values, and false when they cannot be cached: fewer or more
// values than the family's labels (apply fills or drops them), or more labels than a key holds.
func (b *bounds) key(values []string) (seriesKey, bool) {
	var k seriesKey
	if len(values) != len(b.labels) || len(values) > cachedLabels {
		return k, false
	}
	copy(k[:], values)
	return k, true
}

func (s *series[M]) load(k seriesKey) (M, bool) {
	s.mu.RLock()
	m, ok := s.m[k]
	s.mu.RUnlock()
	return m, ok
}

// delete forgets the child of k and runs remove, which takes it out of the vector, under the
// lock a resolve takes: a Set racing a Delete cannot cache the child the Delete removed.
func (s *series[M]) delete(k seriesKey, remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, k)
	remove()
}

// resolver is a prometheus vector: it returns the child of bounded label values.
type resolver[M any] interface{ WithLabelValues(...string) M }

// child returns the child of values in v, bounded by b: from the cache, or bounded, resolved
// and cached when every value was kept as given.
func child[M any, V resolver[M]](s *series[M], b *bounds, v V, values []string) M {
	k, cacheable := b.key(values)
	if cacheable {
		if m, ok := s.load(k); ok {
			return m
		}
	}
	bounded := b.apply(values)
	if !cacheable || !keptAsGiven(values, bounded) {
		return v.WithLabelValues(bounded...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.m[k]
	if !ok {
		m = v.WithLabelValues(bounded...)
		if s.m == nil {
			s.m = map[seriesKey]M{}
		}
		s.m[k] = m
	}
	return m
}

// Counter is a label-less counter. Its methods do nothing on a nil *Counter.
type Counter struct{ c prometheus.Counter }

// Inc adds 1.
func (c *Counter) Inc() {
	if c != nil {
		c.c.Inc()
	}
}

// Add adds v, which must not be negative.
func (c *Counter) Add(v float64) {
	if c != nil && v >= 0 {
		c.c.Add(v)
	}
}

// Describe and Collect make a handle readable by prometheus/testutil.
func (c *Counter) Describe(ch chan<- *prometheus.Desc) {
	if c != nil {
		c.c.Describe(ch)
	}
}

// Collect sends the counter's sample.
func (c *Counter) Collect(ch chan<- prometheus.Metric) {
	if c != nil {
		c.c.Collect(ch)
	}
}

// Gauge is a label-less gauge. Its methods do nothing on a nil *Gauge.
type Gauge struct{ g prometheus.Gauge }

// Set sets the gauge to v.
func (g *Gauge) Set(v float64) {
	if g != nil {
		g.g.Set(v)
	}
}

// Add adds v (negative to subtract).
func (g *Gauge) Add(v float64) {
	if g != nil {
		g.g.Add(v)
	}
}

// Describe and Collect make a handle readable by prometheus/testutil.
func (g *Gauge) Describe(ch chan<- *prometheus.Desc) {
	if g != nil {
		g.g.Describe(ch)
	}
}

// Collect sends the gauge's sample.
func (g *Gauge) Collect(ch chan<- prometheus.Metric) {
	if g != nil {
		g.g.Collect(ch)
	}
}

// Histogram is a label-less histogram. Its methods do nothing on a nil *Histogram.
type Histogram struct{ h prometheus.Histogram }

// Observe records v, with an exemplar carrying traceID when it is not empty.
func (h *Histogram) Observe(v float64, traceID string) {
	if h != nil {
		observe(h.h, v, traceID)
	}
}

// CounterVec is a counter with labels, values in the catalog's order. Its methods do nothing on
// a nil *CounterVec.
type CounterVec struct {
	v      *prometheus.CounterVec
	b      *bounds
	series series[prometheus.Counter]
}

// Inc adds 1 to the series of values (bounded).
func (c *CounterVec) Inc(values ...string) {
	if c != nil {
		child(&c.series, c.b, c.v, values).Inc()
	}
}

// Add adds v, which must not be negative, to the series of values (bounded).
func (c *CounterVec) Add(v float64, values ...string) {
	if c != nil && v >= 0 {
		child(&c.series, c.b, c.v, values).Add(v)
	}
}

// GaugeVec is a gauge with labels, values in the catalog's order. Its methods do nothing on a
// nil *GaugeVec.
type GaugeVec struct {
	v      *prometheus.GaugeVec
	b      *bounds
	series series[prometheus.Gauge]
}

// Set sets the series of values (bounded) to v.
func (g *GaugeVec) Set(v float64, values ...string) {
	if g != nil {
		child(&g.series, g.b, g.v, values).Set(v)
	}
}

// Add adds v to the series of values (bounded).
func (g *GaugeVec) Add(v float64, values ...string) {
	if g != nil {
		child(&g.series, g.b, g.v, values).Add(v)
	}
}

// Delete removes the series of values (bounded), so a gauge of something gone stops showing.
// The cache forgets it first: a later Set makes the series again rather than setting the
// removed one, which no scrape reads.
func (g *GaugeVec) Delete(values ...string) {
	if g != nil {
		bounded := g.b.apply(values)
		remove := func() { g.v.DeleteLabelValues(bounded...) }
		if k, ok := g.b.key(values); ok {
			g.series.delete(k, remove)
			return
		}
		remove()
	}
}

// HistogramVec is a histogram with labels, values in the catalog's order. Its methods do nothing
// on a nil *HistogramVec.
type HistogramVec struct {
	v      *prometheus.HistogramVec
	b      *bounds
	series series[prometheus.Observer]
}

// Observe records v in the series of values (bounded), with an exemplar carrying traceID when it
// is not empty.
func (h *HistogramVec) Observe(v float64, traceID string, values ...string) {
	if h != nil {
		observe(child(&h.series, h.b, h.v, values), v, traceID)
	}
}

// observe leaves the exemplar out for an unsampled fire: it would point at no trace.
func observe(o prometheus.Observer, v float64, traceID string) {
	if eo, ok := o.(prometheus.ExemplarObserver); ok && traceID != "" && utf8.ValidString(traceID) && len(traceID) <= 64 {
		eo.ObserveWithExemplar(v, prometheus.Labels{"trace_id": traceID})
		return
	}
	o.Observe(v)
}
