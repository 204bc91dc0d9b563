package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/vecron/vecron/shared/metric"
)

// unmatchedRoute is the route label of a request no route matched: its path is whatever the
// caller sent, so it never becomes a label.
const unmatchedRoute = "unmatched"

// requestMetrics observes how long each request took in durations, labelled with the route's
// pattern (/api/v1/jobs/{id}, never the path: ids would make a series each), the method and the
// status code; the family's closed sets turn an odd method or code into other. It must wrap the
// chi router's routing from inside the router (Use), where the route context holds the pattern
// once the request is served. A nil durations measures nothing.
func requestMetrics(durations *metric.HistogramVec, now func() time.Time) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if durations == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			route := unmatchedRoute
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			code := ww.Status()
			if code == 0 {
				code = http.StatusOK // nothing written: net/http answers 200
			}
			durations.Observe(now().Sub(start).Seconds(), "", route, r.Method, strconv.Itoa(code))
		})
	}
}
