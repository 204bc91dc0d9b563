package breaker

import (
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/shared/metric"
)

// hostGauge keeps vecron_breaker_open for the hosts this process asks about, and forgets a host
// it has not asked about for two windows: hosts are user input, and a gauge of a host nobody
// calls any more would show its last state for ever.
type hostGauge struct {
	open        *metric.GaugeVec
	transitions *metric.CounterVec
	clock       clockwork.Clock
	forgetAfter time.Duration

	mu      sync.Mutex
	seen    map[string]time.Time // host → when it was last asked about
	sweep   clockwork.Timer
	stopped bool
}

func newHostGauge(reg *metric.Registry, clock clockwork.Clock, window time.Duration) (*hostGauge, error) {
	open, err := reg.GaugeVec(metric.BreakerOpen)
	if err != nil {
		return nil, err
	}
	transitions, err := reg.CounterVec(metric.BreakerTransitions)
	if err != nil {
		return nil, err
	}
	return &hostGauge{open: open, transitions: transitions, clock: clock, forgetAfter: 2 * window,
		seen: map[string]time.Time{}}, nil
}

// learned records what Redis said of host at now: its state, and the states this call entered.
func (g *hostGauge) learned(host string, r result, now time.Time) {
	if g.open == nil {
		return // metrics off: not even the bookkeeping
	}
	for to := range strings.SplitSeq(r.entered, ",") {
		if to != "" {
			g.transitions.Inc(to)
		}
	}
	v := 0.0
	if r.state == StateOpen {
		v = 1
	}
	g.touch(host, now, v)
}

// touch notes that host was asked about at now and sets its gauge to v, and reports whether it
// is kept: past maxOpenHosts a new host is not, until the sweep makes room. The gauge is set
// under the lock the sweep takes, so a sweep cannot drop a host between the two and leave a
// series nobody sweeps.
func (g *hostGauge) touch(host string, now time.Time, v float64) bool {
	if g.open == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.stopped {
		return false
	}
	if _, ok := g.seen[host]; !ok && len(g.seen) >= maxOpenHosts {
		return false
	}
	g.seen[host] = now
	g.open.Set(v, host)
	if g.sweep == nil {
		g.sweep = g.clock.AfterFunc(g.forgetAfter, g.forget)
	}
	return true
}

// forget drops the hosts not asked about for forgetAfter, and looks again later while any are
// left.
func (g *hostGauge) forget() {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep = nil
	if g.stopped {
		return
	}
	next := g.forgetAfter
	for host, at := range g.seen {
		if left := g.forgetAfter - now.Sub(at); left <= 0 {
			delete(g.seen, host)
			g.open.Delete(host)
		} else {
			next = min(next, left)
		}
	}
	if len(g.seen) > 0 {
		g.sweep = g.clock.AfterFunc(next, g.forget)
	}
}

// stop ends the sweeps.
func (g *hostGauge) stop() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	if g.sweep != nil {
		g.sweep.Stop()
		g.sweep = nil
	}
}
