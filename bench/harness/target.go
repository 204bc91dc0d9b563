package harness

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// arrival is one request the target received.
type arrival struct {
	key         string
	scheduledAt time.Time
	receivedAt  time.Time
}

// target is the local HTTP endpoint the jobs call; it records every arrival and answers at once.
type target struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals []arrival
}

func newTarget() *target {
	tg := &target{arrivals: make([]arrival, 0, 1<<16)}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		at, _ := time.Parse(time.RFC3339Nano, r.Header.Get("X-Vecron-Scheduled-At"))
		tg.mu.Lock()
		tg.arrivals = append(tg.arrivals, arrival{key: r.Header.Get("Idempotency-Key"), scheduledAt: at, receivedAt: now})
		tg.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	return tg
}

func (tg *target) snapshot() []arrival {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]arrival(nil), tg.arrivals...)
}

func (tg *target) count() int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return len(tg.arrivals)
}

// countScheduled returns how many requests arrived for fires scheduled from from to to.
func (tg *target) countScheduled(from, to time.Time) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	n := 0
	for _, a := range tg.arrivals {
		if !a.scheduledAt.Before(from) && !a.scheduledAt.After(to) {
			n++
		}
	}
	return n
}
