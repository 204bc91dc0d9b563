package breaker

import (
	"sync"
	"time"
)

// openHosts remembers until when hosts' breakers are open, so that while a host is open this
// process fails its requests fast without a Redis round trip. Open is the one state only time
// ends, so an entry stays true until it expires (unless someone deletes the host's key by hand;
// then the entry lasts no longer than the cool-down).
type openHosts struct {
	mu    sync.Mutex
	limit int
	until map[string]time.Time
}

func newOpenHosts(limit int) *openHosts {
	return &openHosts{limit: limit, until: make(map[string]time.Time)}
}

// get returns until when host is known to be open, if it still is at now.
func (o *openHosts) get(host string, now time.Time) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	u, ok := o.until[host]
	if !ok {
		return time.Time{}, false
	}
	if !now.Before(u) {
		delete(o.until, host)
		return time.Time{}, false
	}
	return u, true
}

// put records that host is open until until. When the map is full it first drops the
// expired entries, then, if none had expired, an arbitrary one: forgetting an open host only
// costs a round trip to Redis.
func (o *openHosts) put(host string, until, now time.Time) {
	if !now.Before(until) {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.until[host]; !ok && len(o.until) >= o.limit {
		for h, u := range o.until {
			if !now.Before(u) {
				delete(o.until, h)
			}
		}
		for h := range o.until {
			if len(o.until) < o.limit {
				break
			}
			delete(o.until, h)
		}
	}
	o.until[host] = until
}

// len returns the number of hosts remembered.
func (o *openHosts) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.until)
}
