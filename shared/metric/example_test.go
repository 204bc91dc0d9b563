package metric_test

import (
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/vecron/vecron/shared/metric"
)

func Example() {
	reg, err := metric.New(metric.Config{Function: "api"})
	if err != nil {
		panic(err)
	}
	missed, err := reg.CounterVec(metric.MissedFires)
	if err != nil {
		panic(err)
	}
	missed.Inc("unpublished")
	missed.Inc("no-such-stage") // recorded as other, never a new series

	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if strings.HasPrefix(line, "vecron_missed_fires_total") {
			fmt.Print(line)
		}
	}
	// Output:
	// vecron_missed_fires_total{stage="other"} 1
	// vecron_missed_fires_total{stage="unacknowledged"} 0
	// vecron_missed_fires_total{stage="unclaimed"} 0
	// vecron_missed_fires_total{stage="undelivered"} 0
	// vecron_missed_fires_total{stage="unpublished"} 1
}
