package breaker

import (
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
)

// closedHosts remembers, for a moment, the hosts whose breakers Redis said were closed, and
// gathers the successes of requests to them. A closed breaker lets every request through and a
// success never changes its state, so in the common case — a healthy host — neither needs a
// round trip per request: Allow answers from here, and successes go to Redis together, at most
// flushEvery later, or at once ahead of the next failure so that Redis sees the outcomes in
// order. What this costs: another replica's verdict that a host is open reaches this process up
// to closedFor late.
type closedHosts struct {
	mu    sync.Mutex
	limit int
	hosts map[string]*closedHost
}

type closedHost struct {
	gen     int64     // the generation Redis said was closed
	until   time.Time // until when that answer is trusted
	pending int       // successes of gen not yet reported
	newest  time.Time // when the newest of them succeeded
	flush   clockwork.Timer
}

func newClosedHosts(limit int) *closedHosts {
	return &closedHosts{limit: limit, hosts: make(map[string]*closedHost)}
}

// get returns the generation of host's closed breaker, if a recent answer says it is closed.
func (c *closedHosts) get(host string, now time.Time) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hosts[host]
	if !ok || !now.Before(h.until) {
		return 0, false
	}
	return h.gen, true
}

// put trusts, from now, that host's breaker is closed in generation gen. Successes gathered for
// another generation are dropped: Redis would ignore them. An answer about an older generation
// that arrives late does not replace a fresh one.
func (c *closedHosts) put(host string, gen int64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hosts[host]
	if !ok {
		if len(c.hosts) >= c.limit {
			c.evictLocked(now)
		}
		h = &closedHost{}
		c.hosts[host] = h
	}
	if gen < h.gen && now.Before(h.until) {
		return
	}
	if h.gen != gen {
		h.pending = 0
	}
	h.gen, h.until = gen, now.Add(closedFor)
}

// evictLocked makes room: first the hosts with nothing to report whose answer expired, then
// any with nothing to report. Forgetting a host only costs a round trip.
func (c *closedHosts) evictLocked(now time.Time) {
	for host, h := range c.hosts {
		if h.pending == 0 && !now.Before(h.until) {
			delete(c.hosts, host)
		}
	}
	for host, h := range c.hosts {
		if len(c.hosts) < c.limit {
			return
		}
		if h.pending == 0 {
			delete(c.hosts, host)
		}
	}
}

// forget drops what is known of host, when Redis says its breaker is no longer closed.
func (c *closedHosts) forget(host string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, ok := c.hosts[host]; ok && h.flush != nil {
		h.flush.Stop()
	}
	delete(c.hosts, host)
}

// addSuccess gathers a success of generation gen, at now. It returns false when host is not
// known in that generation: the success must then be reported by itself. When it is the first
// one gathered, schedule(host) arranges for the report.
func (c *closedHosts) addSuccess(host string, gen int64, now time.Time, schedule func(host string) clockwork.Timer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hosts[host]
	if !ok || h.gen != gen {
		return false
	}
	h.pending++
	h.newest = now
	if h.pending == 1 {
		h.flush = schedule(host)
	}
	return true
}

// take returns and clears the successes gathered for host, their generation, and when the
// newest of them succeeded.
func (c *closedHosts) take(host string) (gen int64, successes int, newest time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.hosts[host]
	if !ok {
		return 0, 0, time.Time{}
	}
	if h.flush != nil {
		h.flush.Stop()
		h.flush = nil
	}
	successes, h.pending = h.pending, 0
	return h.gen, successes, h.newest
}

// hostsPending returns the hosts with successes to report.
func (c *closedHosts) hostsPending() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for host, h := range c.hosts {
		if h.pending > 0 {
			out = append(out, host)
		}
	}
	return out
}
