package metric

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Config says which process the registry belongs to.
type Config struct {
	// Function is build info's function label: one of Functions().
	Function string
	// Version is build info's version; empty takes the main module's version.
	Version string
	// Settings are the metrics.* settings; the zero value is read as DefaultSettings.
	Settings Settings
}

// Registry holds one process's families. A nil *Registry is valid: it hands out nil handles,
// whose methods do nothing (metrics off).
type Registry struct {
	reg      *prometheus.Registry
	settings Settings

	mu       sync.Mutex
	handles  map[Name]any
	overflow *CounterVec
}

// New returns a registry with the Go and process collectors and vecron_build_info, or an error
// naming cfg.Function when it is not one of Functions() or the setting a bad cfg.Settings holds.
// With metrics.enabled false it returns a nil registry: every handle it gives does nothing.
func New(cfg Config) (*Registry, error) {
	if !slices.Contains(Functions(), cfg.Function) {
		return nil, fmt.Errorf("metric function: %q is not one of %v", cfg.Function, Functions())
	}
	if cfg.Settings.isZero() {
		cfg.Settings = DefaultSettings()
	}
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Settings.Enabled {
		return nil, nil
	}
	r := &Registry{reg: prometheus.NewRegistry(), settings: cfg.Settings, handles: map[Name]any{}}
	if err := r.reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("register go collector: %w", err)
	}
	if err := r.reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("register process collector: %w", err)
	}
	overflow, err := r.CounterVec(LabelOverflow)
	if err != nil {
		return nil, err
	}
	r.overflow = overflow
	info, err := r.GaugeVec(BuildInfo)
	if err != nil {
		return nil, err
	}
	info.Set(1, cfg.Function, cmp.Or(cfg.Version, mainVersion()), runtime.Version())
	return r, nil
}

func mainVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}

// Gather makes the registry a prometheus.Gatherer (tests, and a caller that serves it itself).
func (r *Registry) Gather() ([]*dto.MetricFamily, error) {
	if r == nil {
		return nil, nil
	}
	return r.reg.Gather()
}

// Handler serves the registry in the Prometheus text format, or OpenMetrics (with exemplars) to
// a scraper that asks for it. A nil registry serves 404.
func (r *Registry) Handler() http.Handler {
	if r == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// ErrNotInCatalog is returned for a name the catalog does not describe.
var ErrNotInCatalog = errors.New("not in the metric catalog")

// family returns the handle for n, creating and registering it on first use, so two components
// of one process asking for the same family share one collector.
func family[H any](r *Registry, n Name, want Type, vec bool, build func(Desc) (H, prometheus.Collector)) (H, error) {
	var zero H
	if r == nil {
		return zero, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if h, ok := r.handles[n]; ok {
		got, ok := h.(H)
		if !ok {
			return zero, fmt.Errorf("metric %s: asked as %T, registered as %T", n, zero, h)
		}
		return got, nil
	}
	d, ok := Lookup(n)
	if !ok {
		return zero, fmt.Errorf("metric %s: %w", n, ErrNotInCatalog)
	}
	if d.Type != want || (len(d.Labels) > 0) != vec {
		return zero, fmt.Errorf("metric %s: a %s with %d labels, asked as %T", n, d.Type, len(d.Labels), zero)
	}
	h, c := build(d)
	if err := r.reg.Register(c); err != nil {
		return zero, fmt.Errorf("register metric %s: %w", n, err)
	}
	r.handles[n] = h
	return h, nil
}

// Counter returns the label-less counter n, or an error naming n when the catalog does not
// describe it as one. A nil registry returns a nil handle.
func (r *Registry) Counter(n Name) (*Counter, error) {
	return family(r, n, TypeCounter, false, func(d Desc) (*Counter, prometheus.Collector) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: string(d.Name), Help: d.Help})
		return &Counter{c: c}, c
	})
}

// Gauge returns the label-less gauge n, or an error naming n when the catalog does not describe
// it as one. A nil registry returns a nil handle.
func (r *Registry) Gauge(n Name) (*Gauge, error) {
	return family(r, n, TypeGauge, false, func(d Desc) (*Gauge, prometheus.Collector) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: string(d.Name), Help: d.Help})
		return &Gauge{g: g}, g
	})
}

// Histogram returns the label-less histogram n, or an error naming n when the catalog does not
// describe it as one. A nil registry returns a nil handle.
func (r *Registry) Histogram(n Name) (*Histogram, error) {
	return family(r, n, TypeHistogram, false, func(d Desc) (*Histogram, prometheus.Collector) {
		h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: string(d.Name), Help: d.Help, Buckets: d.Buckets})
		return &Histogram{h: h}, h
	})
}

// CounterVec returns the labelled counter n, every closed combination at 0, or an error naming n
// when the catalog does not describe it as one. A nil registry returns a nil handle.
func (r *Registry) CounterVec(n Name) (*CounterVec, error) {
	return family(r, n, TypeCounter, true, func(d Desc) (*CounterVec, prometheus.Collector) {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: string(d.Name), Help: d.Help}, d.labelNames())
		h := &CounterVec{v: v, b: r.newBounds(d)}
		// A rate over a new install is 0, not "no data", and increase() sees the first event.
		if !d.capped() && !perProcess(d) {
			for _, vals := range combinations(d.Labels) {
				v.WithLabelValues(vals...)
			}
		}
		return h, v
	})
}

// GaugeVec returns the labelled gauge n, or an error naming n when the catalog does not describe
// it as one. A nil registry returns a nil handle.
func (r *Registry) GaugeVec(n Name) (*GaugeVec, error) {
	return family(r, n, TypeGauge, true, func(d Desc) (*GaugeVec, prometheus.Collector) {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: string(d.Name), Help: d.Help}, d.labelNames())
		return &GaugeVec{v: v, b: r.newBounds(d)}, v
	})
}

// HistogramVec returns the labelled histogram n, or an error naming n when the catalog does not
// describe it as one. A nil registry returns a nil handle.
func (r *Registry) HistogramVec(n Name) (*HistogramVec, error) {
	return family(r, n, TypeHistogram, true, func(d Desc) (*HistogramVec, prometheus.Collector) {
		v := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: string(d.Name), Help: d.Help, Buckets: d.Buckets}, d.labelNames())
		return &HistogramVec{v: v, b: r.newBounds(d)}, v
	})
}

func perProcess(d Desc) bool {
	for _, l := range d.Labels {
		if l.PerProcess {
			return true
		}
	}
	return false
}

// combinations returns every combination of closed label values.
func combinations(labels []Label) [][]string {
	out := [][]string{nil}
	for _, l := range labels {
		var next [][]string
		for _, prefix := range out {
			for _, v := range l.Values {
				next = append(next, append(append([]string(nil), prefix...), v))
			}
		}
		out = next
	}
	return out
}

// NewDesc returns the prometheus.Desc of catalog family n, for a collector that reads n's values
// on scrape: the help and label names come from the catalog, so they are written once. It
// returns an error naming n when the catalog does not describe it.
func NewDesc(n Name) (*prometheus.Desc, error) {
	d, ok := Lookup(n)
	if !ok {
		return nil, fmt.Errorf("metric %s: %w", n, ErrNotInCatalog)
	}
	return prometheus.NewDesc(string(d.Name), d.Help, d.labelNames(), nil), nil
}

// RegisterCollector registers c, a collector that reads the families names on scrape (a pool's
// statistics, a consumer's backlog) rather than being told of each event. Every family c
// describes must be one of names, built with NewDesc, and every name must be in the catalog;
// otherwise it returns an error naming the family.
//
// When a collector of the same names is registered already it returns that one and leaves c
// out: several functions sharing one registry (vecron dev) add their sources to the collector
// the first one registered, so the families are summed, not refused as duplicates. Otherwise it
// returns c. A nil registry returns c unregistered.
func (r *Registry) RegisterCollector(c prometheus.Collector, names ...Name) (prometheus.Collector, error) {
	if r == nil {
		return c, nil
	}
	if len(names) == 0 {
		return nil, errors.New("register collector: no family named")
	}
	want := map[string]Name{}
	for _, n := range names {
		d, err := NewDesc(n)
		if err != nil {
			return nil, err
		}
		want[d.String()] = n
	}
	descs := make(chan *prometheus.Desc)
	go func() { c.Describe(descs); close(descs) }()
	var stray []string
	described := map[Name]bool{}
	for d := range descs {
		n, ok := want[d.String()]
		if !ok {
			stray = append(stray, d.String())
			continue
		}
		described[n] = true
	}
	if len(stray) > 0 {
		return nil, fmt.Errorf("register collector of %v: it describes %v, not built by NewDesc from those families", names, stray)
	}
	for _, n := range names {
		if !described[n] {
			return nil, fmt.Errorf("register collector: it does not describe %s", n)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got, ok := r.handles[names[0]]; ok {
		existing, ok := got.(collectorOf)
		if !ok || !slices.Equal(existing.names, names) {
			return nil, fmt.Errorf("register collector of %v: %s is registered already, otherwise", names, names[0])
		}
		return existing.c, nil
	}
	for _, n := range names {
		if _, ok := r.handles[n]; ok {
			return nil, fmt.Errorf("register collector of %v: %s is registered already, otherwise", names, n)
		}
	}
	if err := r.reg.Register(c); err != nil {
		return nil, fmt.Errorf("register collector of %v: %w", names, err)
	}
	for _, n := range names {
		r.handles[n] = collectorOf{c: c, names: slices.Clone(names)}
	}
	return c, nil
}

// collectorOf is what the registry remembers of a registered collector, under each family it
// reads: a handle asked for one of them is refused, a second collector of them shares it.
type collectorOf struct {
	c     prometheus.Collector
	names []Name
}

// Shared is RegisterCollector for a collector of type C: it returns c, or the collector of the
// same families registered before it, to which the caller adds its source.
func Shared[C prometheus.Collector](r *Registry, c C, names ...Name) (C, error) {
	var zero C
	got, err := r.RegisterCollector(c, names...)
	if err != nil {
		return zero, err
	}
	typed, ok := got.(C)
	if !ok {
		return zero, fmt.Errorf("register collector of %v: registered as %T, asked as %T", names, got, zero)
	}
	return typed, nil
}

// Names returns the families registered so far, sorted: what a test holds against Catalog() to
// see that every family is served by some function.
func (r *Registry) Names() []Name {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.handles))
}
