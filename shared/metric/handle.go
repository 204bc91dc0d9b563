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
	v *prometheus.CounterVec
	b *bounds
}

// Inc adds 1 to the series of values (bounded).
func (c *CounterVec) Inc(values ...string) {
	if c != nil {
		c.v.WithLabelValues(c.b.apply(values)...).Inc()
	}
}

// Add adds v, which must not be negative, to the series of values (bounded).
func (c *CounterVec) Add(v float64, values ...string) {
	if c != nil && v >= 0 {
		c.v.WithLabelValues(c.b.apply(values)...).Add(v)
	}
}

// GaugeVec is a gauge with labels, values in the catalog's order. Its methods do nothing on a
// nil *GaugeVec.
type GaugeVec struct {
	v *prometheus.GaugeVec
	b *bounds
}

// Set sets the series of values (bounded) to v.
func (g *GaugeVec) Set(v float64, values ...string) {
	if g != nil {
		g.v.WithLabelValues(g.b.apply(values)...).Set(v)
	}
}

// Add adds v to the series of values (bounded).
func (g *GaugeVec) Add(v float64, values ...string) {
	if g != nil {
		g.v.WithLabelValues(g.b.apply(values)...).Add(v)
	}
}

// Delete removes the series of values (bounded), so a gauge of something gone stops showing.
func (g *GaugeVec) Delete(values ...string) {
	if g != nil {
		g.v.DeleteLabelValues(g.b.apply(values)...)
	}
}

// HistogramVec is a histogram with labels, values in the catalog's order. Its methods do nothing
// on a nil *HistogramVec.
type HistogramVec struct {
	v *prometheus.HistogramVec
	b *bounds
}

// Observe records v in the series of values (bounded), with an exemplar carrying traceID when it
// is not empty.
func (h *HistogramVec) Observe(v float64, traceID string, values ...string) {
	if h != nil {
		observe(h.v.WithLabelValues(h.b.apply(values)...), v, traceID)
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
