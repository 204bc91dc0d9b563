package breaker

import (
	"testing"
	"time"

	"pgregory.net/rapid"
)

// openHosts against a model without a bound: it never holds more than its limit, never
// claims a host open that the model does not, and forgets nothing while below its limit.
func TestOpenHostsProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.IntRange(1, 6).Draw(t, "limit")
		o := newOpenHosts(limit)
		model := map[string]time.Time{}
		evicted := false
		now := time.Unix(1_700_000_000, 0)
		hosts := rapid.SampledFrom([]string{"a", "b", "c", "d", "e", "f", "g", "h"})

		for range rapid.IntRange(1, 100).Draw(t, "steps") {
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0: // time passes
				now = now.Add(time.Duration(rapid.IntRange(0, 3000).Draw(t, "advance_ms")) * time.Millisecond)
			case 1: // Redis said host is open
				h := hosts.Draw(t, "host")
				until := now.Add(time.Duration(rapid.IntRange(0, 5000).Draw(t, "open_ms")) * time.Millisecond)
				before := o.len()
				_, known := o.until[h]
				o.put(h, until, now)
				if !now.Before(until) {
					continue
				}
				model[h] = until
				if !known && before >= limit {
					evicted = true
				}
			case 2:
				h := hosts.Draw(t, "host")
				got, ok := o.get(h, now)
				want, open := model[h]
				open = open && now.Before(want)
				switch {
				case ok && (!open || !got.Equal(want)):
					t.Fatalf("get(%s) = %v, open; model says %v, open=%v", h, got, want, open)
				case !ok && open && !evicted:
					t.Fatalf("get(%s) forgot a host open until %v with nothing evicted", h, want)
				}
			}
			if n := o.len(); n > limit {
				t.Fatalf("%d hosts held, limit %d", n, limit)
			}
		}
	})
}
