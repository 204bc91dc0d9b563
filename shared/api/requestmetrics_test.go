package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestRequestDurationsAreLabelledByRoutePattern drives the real router: a route with {id} is
// labelled with its pattern, an unknown path with unmatched, and no path value ever becomes a
// label value.
func TestRequestDurationsAreLabelledByRoutePattern(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	reg, err := metric.New(metric.Config{Function: "api"})
	require.NoError(t, err)
	durations, err := reg.HistogramVec(metric.HTTPRequestDuration)
	require.NoError(t, err)
	srv := httptest.NewServer(api.New(api.Deps{Jobs: jobs.New(st, time.Now), Store: st, Identity: ident, RequestDurations: durations},
		time.Now, testenv.Logger(t)))
	t.Cleanup(srv.Close)
	token := testfactory.AdminToken(t, st)

	const (
		missingID = "0190f1c2-aaaa-7bbb-8ccc-0123456789ab"
		oddPath   = "/api/v1/no-such-thing/secret-looking-value"
	)
	send := func(method, path string) int {
		req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(""))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	require.Equal(t, http.StatusNotFound, send(http.MethodGet, "/api/v1/jobs/"+missingID))
	require.Equal(t, http.StatusNotFound, send(http.MethodGet, "/api/v1/jobs/"+missingID))
	require.Equal(t, http.StatusOK, send(http.MethodGet, "/api/v1/jobs"))
	require.Equal(t, http.StatusNotFound, send(http.MethodGet, oddPath))
	send("BREW", "/api/v1/jobs")

	type series struct{ route, method, code string }
	got := map[series]uint64{}
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != string(metric.HTTPRequestDuration) {
			continue
		}
		for _, m := range mf.GetMetric() {
			var s series
			for _, l := range m.GetLabel() {
				require.NotContains(t, l.GetValue(), missingID, "a path value became a label")
				require.NotContains(t, l.GetValue(), "secret-looking-value", "a path became a label")
				switch l.GetName() {
				case "route":
					s.route = l.GetValue()
				case "method":
					s.method = l.GetValue()
				case "code":
					s.code = l.GetValue()
				}
			}
			got[s] = m.GetHistogram().GetSampleCount()
		}
	}
	require.Equal(t, uint64(2), got[series{"/api/v1/jobs/{id}", "GET", "404"}], "%v", got)
	require.Equal(t, uint64(1), got[series{"/api/v1/jobs", "GET", "200"}], "%v", got)
	require.Equal(t, uint64(1), got[series{"unmatched", "GET", "404"}], "%v", got)
	var odd uint64
	for s, n := range got {
		if s.method == metric.Other {
			odd += n
		}
	}
	require.Equal(t, uint64(1), odd, "an unknown method is other: %v", got)
}
