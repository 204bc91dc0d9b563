package main

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/telemetry"
)

// A metrics port already taken stops dev before it starts anything, naming the flag: a silent
// fallback would leave a scraper reading another process.
func TestDevRefusesATakenAdminPort(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	s := defaultDevSettings()
	s.AdminPort = taken.Addr().(*net.TCPAddr).Port
	s.DataDir = t.TempDir()
	err = runDev(t.Context(), s, config.Options{}, io.Discard)
	require.ErrorContains(t, err, "--admin-port")
	require.ErrorContains(t, err, "127.0.0.1:"+strconv.Itoa(s.AdminPort))
	require.ErrorAs(t, err, new(usageError))
}

// The banner names the metrics address when dev serves one, and no metrics line otherwise; it
// says where traces go, or how to send them.
func TestDevBannerNamesTheMetricsListener(t *testing.T) {
	t.Parallel()
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}
	var with, without, traced strings.Builder
	off := telemetry.DefaultTracingConfig()
	banner(&with, addr, defaultDevSettings(), "", "http://127.0.0.1:9464/metrics", off)
	banner(&without, addr, defaultDevSettings(), "", "", off)
	on := off
	on.Endpoint = "http://user:secret@127.0.0.1:4318/"
	banner(&traced, addr, defaultDevSettings(), "", "", on)
	require.Contains(t, with.String(), "  health      http://127.0.0.1:8080/healthz  http://127.0.0.1:8080/readyz\n"+
		"  metrics     http://127.0.0.1:9464/metrics  (all four functions, one registry)\n"+
		"  traces      off; set VECRON_OTEL__ENDPOINT=http://127.0.0.1:4318 to send them to an OTLP/HTTP collector\n  PostgreSQL")
	require.NotContains(t, without.String(), "metrics")
	require.Contains(t, without.String(), "/readyz\n  traces      off;")
	require.Contains(t, traced.String(), "/v1/traces  (sampling 0.1)")
	require.NotContains(t, traced.String(), "secret")
}
