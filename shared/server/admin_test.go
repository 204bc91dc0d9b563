package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/testenv"
)

// The admin listener binds a free port for :0, says which in its log line, and serves nothing but
// GET /metrics: not the probes (not even to a kubelet, whom the public drainer answers on any
// path), not the API, not the dashboard.
func TestAdminServesOnlyMetricsOnTheLoggedAddress(t *testing.T) {
	t.Parallel()
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "vecron_up 1\n") })
	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- server.ServeAdmin(ctx, "127.0.0.1:0", metrics, 5*time.Second, log, nil) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-served)
	})

	var addr string
	line := regexp.MustCompile(`msg="admin listening" addr=(127\.0\.0\.1:\d+)`)
	require.Eventually(t, func() bool {
		m := line.FindStringSubmatch(logs.String())
		if m == nil {
			return false
		}
		addr = m[1]
		return true
	}, 10*time.Second, 10*time.Millisecond, "no admin listening line: %s", logs.String())
	require.NotEqual(t, "127.0.0.1:0", addr)

	do := func(method, path, userAgent string) (int, string) {
		req, err := http.NewRequestWithContext(t.Context(), method, "http://"+addr+path, nil)
		require.NoError(t, err)
		req.Close = true
		if userAgent != "" {
			req.Header.Set("User-Agent", userAgent)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := do(http.MethodGet, "/metrics", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "vecron_up 1\n", body)
	for _, path := range []string{"/", "/healthz", "/readyz", "/api/v1/jobs", "/login", "/events", "/debug/pprof/", "/metrics/x"} {
		code, body := do(http.MethodGet, path, "")
		require.Equal(t, http.StatusNotFound, code, path)
		require.NotContains(t, body, "vecron_up", path)
		code, _ = do(http.MethodGet, path, "kube-probe/1.31")
		require.Equal(t, http.StatusNotFound, code, "kubelet "+path)
	}
	code, _ = do(http.MethodPost, "/metrics", "")
	require.Equal(t, http.StatusMethodNotAllowed, code)
}

// An empty address serves nothing and logs no listener.
func TestAdminEmptyAddrServesNothing(t *testing.T) {
	t.Parallel()
	var logs testenv.LogBuffer
	require.NoError(t, server.ServeAdmin(t.Context(), "", http.NotFoundHandler(), time.Second, slog.New(slog.NewTextHandler(&logs, nil)), nil))
	require.NotContains(t, logs.String(), "admin listening")
}

// A taken address is an error naming the setting, not a silent move to another port.
func TestAdminTakenAddrNamesTheSetting(t *testing.T) {
	t.Parallel()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Close() })
	err = server.ServeAdmin(t.Context(), held.Addr().String(), http.NotFoundHandler(), time.Second, testenv.Logger(t), nil)
	require.ErrorContains(t, err, "admin.addr")
}

// The public probes have no /metrics: metrics live on the admin listener only.
func TestProbesHaveNoMetrics(t *testing.T) {
	t.Parallel()
	for _, ua := range []string{"", "Prometheus/2.53"} {
		req, err := http.NewRequest(http.MethodGet, "/metrics", nil)
		require.NoError(t, err)
		if ua != "" {
			req.Header.Set("User-Agent", ua)
		}
		rec := httptest.NewRecorder()
		server.Probes().ServeHTTP(rec, req)
		require.Equal(t, http.StatusNotFound, rec.Code, ua)
		require.NotContains(t, rec.Body.String(), "vecron_", ua)
	}
}
