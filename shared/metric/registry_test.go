package metric

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

func scrape(t *testing.T, h http.Handler, accept string) (string, string) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.Header.Get("Content-Type"), string(b)
}

// The text format to a plain scraper; OpenMetrics, with exemplars, to one that asks for it.
func TestHandlerServesTextAndOpenMetrics(t *testing.T) {
	t.Parallel()
	reg, err := New(Config{Function: "execute-http", Version: "v9.9.9"})
	require.NoError(t, err)
	// No histogram is in the catalog yet: register one the way the registry does, to see its
	// exemplar through the handler.
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "vecron_test_lateness_seconds", Help: "test", Buckets: []float64{0.1, 1}})
	require.NoError(t, reg.reg.Register(h))
	(&Histogram{h: h}).Observe(0.05, "4bf92f3577b34da6a3ce929d0e0e4736")
	(&Histogram{h: h}).Observe(0.5, "")

	ct, body := scrape(t, reg.Handler(), "")
	require.Contains(t, ct, "text/plain")
	require.Contains(t, body, `vecron_build_info{function="execute-http",go_version="`+runtime.Version()+`",version="v9.9.9"} 1`)
	require.Contains(t, body, `vecron_test_lateness_seconds_count 2`)
	require.NotContains(t, body, "trace_id")

	ct, body = scrape(t, reg.Handler(), "application/openmetrics-text; version=1.0.0")
	require.Contains(t, ct, "application/openmetrics-text")
	require.Contains(t, body, `# {trace_id="4bf92f3577b34da6a3ce929d0e0e4736"} 0.05`)
	require.Contains(t, body, "# EOF")

	var none *Registry
	srv := httptest.NewServer(none.Handler())
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

// Two components of one process asking for one family share its series.
func TestTwoAsksShareOneFamily(t *testing.T) {
	t.Parallel()
	reg, err := New(Config{Function: "dev"})
	require.NoError(t, err)
	a, err := reg.CounterVec(MissedFires)
	require.NoError(t, err)
	b, err := reg.CounterVec(MissedFires)
	require.NoError(t, err)
	a.Inc("unclaimed")
	b.Inc("unclaimed")
	b.Inc("made-up")
	_, body := scrape(t, reg.Handler(), "")
	require.Contains(t, body, `vecron_missed_fires_total{stage="unclaimed"} 2`)
	require.Contains(t, body, `vecron_missed_fires_total{stage="unacknowledged"} 0`, "closed sets start at 0")
	require.Contains(t, body, `vecron_missed_fires_total{stage="other"} 1`)
}
