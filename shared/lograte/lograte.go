// Package lograte keeps a log line that anyone on the network can cause from flooding the log:
// it lets the line through at most once per interval and says how many it stands for.
package lograte

import (
	"sync"
	"time"
)

// Limiter lets a line through at most once per interval, counting those held back. The zero
// value is ready; it is safe for concurrent use.
type Limiter struct {
	mu    sync.Mutex
	last  time.Time
	since int
}

// Allow reports whether a line may be written at now, and how many occurrences it stands for:
// itself and those held back since the last line.
func (l *Limiter) Allow(now time.Time, every time.Duration) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.since++
	if !l.last.IsZero() && now.Sub(l.last) < every {
		return 0, false
	}
	n := l.since
	l.last, l.since = now, 0
	return n, true
}
