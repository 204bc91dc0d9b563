package dashboardtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// StartWorkers runs the tick and the http executor beside the server, on its database and NATS
// streams, until t ends, so that its jobs fire and their executions are recorded and published
// as in production. It returns the URL of a target that answers every request with 204, which
// jobs may call (the executor may reach loopback addresses).
func (s *Server) StartWorkers(t *testing.T) string {
	t.Helper()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(target.Close)
	log := testenv.Logger(t)
	natsCfg := queue.ConnConfig{URL: s.settings.NATS.URL, Prefix: s.settings.NATS.Prefix}

	ts := tickfn.DefaultSettings()
	ts.Database.URL, ts.NATS, ts.Port, ts.Tick.Instance = s.settings.Database.URL, natsCfg, 0, "dashboardtest"
	ts.Admin.Addr = ""
	hs := httpfn.DefaultSettings()
	hs.Database.URL, hs.NATS, hs.Executor.WorkerID, hs.Port, hs.Admin.Addr = s.settings.Database.URL, natsCfg, "dashboardtest", 0, ""
	hs.Redis.URL, hs.Redis.KeyPrefix = s.settings.Redis.URL, s.settings.Redis.KeyPrefix
	hs.Secrets.Keys = s.settings.Secrets.Keys
	hs.Egress = egress.Loopback()
	s.run(t, "tick", func(ctx context.Context) error { return tickfn.Run(ctx, s.Clock, ts, log) })
	s.run(t, "execute-http", func(ctx context.Context) error { return httpfn.Run(ctx, s.Clock, hs, log) })
	return target.URL
}

// run runs fn until t ends, then requires it to stop cleanly.
func (s *Server) run(t *testing.T, name string, fn func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
		case <-time.After(testenv.Timeout(30 * time.Second)):
			t.Errorf("%s did not stop in time", name)
		}
	})
}
