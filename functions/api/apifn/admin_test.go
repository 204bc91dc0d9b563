package apifn_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/watchdog"
)

// The admin port serves the watchdog's counter, every stage from 0, in Prometheus text, and
// nothing of the API.
func TestAdminServesTheMissedFiresCounter(t *testing.T) {
	t.Parallel()
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)
	_, err = watchdog.New(watchdog.Deps{Clock: clockwork.NewFakeClock(), Log: testenv.Logger(t), Metrics: reg}, watchdog.Config{})
	require.NoError(t, err)
	srv := httptest.NewServer(apifn.AdminHandler(reg))
	t.Cleanup(srv.Close)

	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, stage := range []string{"unclaimed", "unpublished", "undelivered", "unacknowledged"} {
		require.Contains(t, body, `vecron_missed_fires_total{stage="`+stage+`"} 0`)
	}
	for _, path := range []string{"/", "/api/v1/jobs", "/healthz"} {
		code, _ := get(path)
		require.Equal(t, http.StatusNotFound, code, path)
	}
}
