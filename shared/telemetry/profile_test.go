package telemetry_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

func TestProfilerIsOffUnlessAnAddressIsGiven(t *testing.T) {
	t.Parallel()
	require.NoError(t, telemetry.ServeProfiler(t.Context(), telemetry.DebugConfig{}, testenv.Logger(t)))
}

func TestProfilerServesUntilTheContextEnds(t *testing.T) {
	t.Parallel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(t)))

	ctx, cancel := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() {
		served <- telemetry.ServeProfiler(ctx, telemetry.DebugConfig{PprofAddr: addr}, testenv.Logger(t))
	}()
	var body []byte
	testenv.Eventually(t, "the profiler serving", func() bool {
		resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK
	})
	require.Contains(t, string(body), "goroutine profile")
	cancel()
	require.NoError(t, <-served)

	// An address taken by another process is logged, and the function goes on.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()
	var logs bytes.Buffer
	err = telemetry.ServeProfiler(t.Context(), telemetry.DebugConfig{PprofAddr: taken.Addr().String()}, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	require.Contains(t, logs.String(), "debug.pprof_addr")
	require.Contains(t, logs.String(), "address already in use")
}
