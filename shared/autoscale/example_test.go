package autoscale_test

import (
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/autoscale"
)

// Example replays a burst of 3 000 due http jobs reaching executors at zero, with the chart's
// ScaledObject numbers (poll every 5 s, at most 10 replicas, one replica per 256 messages) and
// the other rules at KEDA's and the HPA's defaults. KEDA starts one replica; the HPA adds four,
// then goes to ceil(2200 / 256) = 9 fifteen seconds later; once the lag is gone the count holds
// for the HPA's 300 s scale-down window, comes down to the highest proposal since (ceil(900 /
// 256) = 4, then 1), and KEDA takes it to zero once 300 s have passed since the last lag (45 s).
func Example() {
	r := autoscale.DefaultRules()
	r.PollingInterval, r.MaxReplicas, r.LagThreshold = 5*time.Second, 10, 256
	if err := r.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// The lag as the scaler reads it: the burst arrives at 5 s and is drained by 50 s.
	lagAt := func(at time.Duration) int64 {
		switch {
		case at < 5*time.Second:
			return 0
		case at < 20*time.Second:
			return 3000
		case at < 35*time.Second:
			return 2200
		case at < 50*time.Second:
			return 900
		}
		return 0
	}
	replicas, state := 0, autoscale.State{}
	for at := time.Duration(0); at <= 6*time.Minute; at += r.PollingInterval {
		lag := lagAt(at)
		n, next := r.Desired(lag, replicas, state, start.Add(at))
		if n != replicas {
			fmt.Printf("%-6s lag %4d: %2d -> %2d\n", at, lag, replicas, n)
		}
		replicas, state = n, next
	}
	// Output:
	// 5s     lag 3000:  0 ->  1
	// 10s    lag 3000:  1 ->  5
	// 25s    lag 2200:  5 ->  9
	// 5m30s  lag    0:  9 ->  4
	// 5m45s  lag    0:  4 ->  1
	// 5m50s  lag    0:  1 ->  0
}
