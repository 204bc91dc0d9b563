package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// The probe paths every function serves on its public port, and the one path its admin port
// serves. The manifests' probes and scrape configuration are checked against these
// (functions/contract), so they are the served paths, not copies of them.
const (
	// LivePath answers liveness probes.
	LivePath = "/healthz"
	// ReadyPath answers readiness probes.
	ReadyPath = "/readyz"
	// MetricsPath serves the metrics on the admin port.
	MetricsPath = "/metrics"
)

// Check is one dependency a readiness probe asks.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
	// Optional checks are reported ("degraded") but do not fail readiness: the function works
	// on without that dependency.
	Optional bool
}

// Live answers liveness probes: the process serves requests.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready answers readiness probes with each check's state: 200 when all pass, else 503. A failed
// check shows only "unavailable": driver errors can name hosts, users and databases.
func Ready(checks ...Check) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		status, code := make(map[string]string, len(checks)), http.StatusOK
		for _, c := range checks {
			if err := c.Fn(ctx); err != nil {
				if c.Optional {
					status[c.Name] = "degraded"
					continue
				}
				status[c.Name], code = "unavailable", http.StatusServiceUnavailable
				continue
			}
			status[c.Name] = "ok"
		}
		writeStatus(w, code, status)
	})
}

// Probes returns a mux serving GET LivePath and GET ReadyPath.
func Probes(checks ...Check) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET "+LivePath, Live())
	mux.Handle("GET "+ReadyPath, Ready(checks...))
	return mux
}

func writeStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
