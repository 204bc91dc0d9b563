package apifn_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// The api serves its metrics on the admin address it logs and nothing else there; its public
// port, the internet-facing one, has no /metrics.
func TestAPIAdminAndPublicPortsStayApart(t *testing.T) {
	t.Parallel()
	s := apifn.DefaultSettings()
	require.Equal(t, ":9464", s.Admin.Addr)
	s.Database.URL = testenv.PostgresURL(t)
	s.Auth.SigningKeys, s.Audit.Keys = testfactory.SigningKey(t), testfactory.AuditKey(t)
	s.Redis.URL, s.Redis.KeyPrefix = testenv.RedisURL(t)
	_, _, names := testenv.NATS(t)
	s.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	s.Host, s.Port, s.ShutdownGrace, s.Admin.Addr = "127.0.0.1", 0, time.Second, "127.0.0.1:0"
	var logs testenv.LogBuffer
	ready := make(chan net.Addr, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- apifn.Run(ctx, clockwork.NewRealClock(), s, slog.New(slog.NewTextHandler(&logs, nil)), func(a net.Addr) { ready <- a })
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	var public string
	select {
	case a := <-ready:
		public = "http://" + a.String()
	case err := <-done:
		done <- nil // for the cleanup
		t.Fatalf("api stopped: %v\n%s", err, logs.String())
	case <-time.After(testenv.Timeout(30 * time.Second)):
		t.Fatalf("api did not start:\n%s", logs.String())
	}
	admin := "http://" + logs.AdminAddr(t)

	testenv.AdminServesOnlyMetrics(t, admin, []string{`vecron_build_info{function="api"`, `vecron_missed_fires_total{stage="unclaimed"} 0`,
		`vecron_db_pool_max_conns 10`, `vecron_redis_errors_total{component="login"} 0`, `vecron_redis_errors_total{component="ratelimit"} 0`,
		`vecron_job_queue_size{kind="http"} 0`, `vecron_job_queue_size{kind="sql"} 0`},
		[]string{"/", "/healthz", "/readyz", "/api/v1/jobs", "/login", "/events"})

	code, _ := testenv.Get(t, public+"/healthz")
	require.Equal(t, http.StatusOK, code, "the public port is up")
	code, body := testenv.Get(t, public+"/metrics")
	require.NotEqual(t, http.StatusOK, code)
	require.Less(t, code, http.StatusInternalServerError)
	require.NotContains(t, body, "vecron_build_info")
}

// The admin.port alias still places the listener: an api configured before admin.addr keeps
// serving its metrics where it did.
func TestAPIAdminPortAliasIsValidated(t *testing.T) {
	t.Parallel()
	s := apifn.DefaultSettings()
	s.Admin.Port = 70000
	err := apifn.Run(t.Context(), clockwork.NewRealClock(), s, testenv.Logger(t), nil)
	require.ErrorContains(t, err, "admin.port")
}
