package httpfn_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
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
	var logs testenv.LogBuffer
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- httpfn.Run(ctx, clockwork.NewRealClock(), s, slog.New(slog.NewTextHandler(&logs, nil)))
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	admin := "http://" + logs.AdminAddr(t)

	code, body := get(t, admin+"/metrics")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `vecron_build_info{function="execute-http"`)
	require.Contains(t, body, "go_goroutines")
	for _, path := range []string{"/", "/healthz", "/readyz"} {
		code, body := get(t, admin+path)
		require.Equal(t, http.StatusNotFound, code, path)
		require.NotContains(t, body, "vecron_", path)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Close = true
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}
