package httpfn_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// An executor serves a registry of its own on the admin address it logs, and nothing else there.
func TestExecutorServesMetricsOnlyOnItsAdminListener(t *testing.T) {
	t.Parallel()
	_, _, names := testenv.NATS(t)
	s := httpfn.DefaultSettings()
	require.Equal(t, ":9464", s.Admin.Addr)
	s.Database.URL = testenv.PostgresURL(t)
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Port, s.ShutdownGrace, s.Executor.WorkerID, s.Admin.Addr = 0, time.Second, "httpfn-test", "127.0.0.1:0"
	logs := testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return httpfn.Run(ctx, clockwork.NewRealClock(), s, log)
	})
	testenv.AdminServesOnlyMetrics(t, "http://"+logs.AdminAddr(t), []string{`vecron_build_info{function="execute-http"`, "go_goroutines", `vecron_job_interrupted_total{kind="http"} 0`}, []string{"/", "/healthz", "/readyz"})
}
