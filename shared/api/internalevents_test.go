package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestInternalEventsListener: the cluster-internal listener takes CloudEvents without a
// credential and starts only jobs of the namespaces it is configured for; it serves nothing
// but POST /events, and the public listener still asks for a token.
func TestInternalEventsListener(t *testing.T) {
	t.Parallel()
	st, dbURL := testfactory.Store(t)
	clk := clockwork.NewFakeClockAt(time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC))
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	a := api.New(api.Deps{Jobs: jobs.New(st, clk.Now), Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}}, clk.Now, testenv.Logger(t))
	public := httptest.NewServer(a)
	t.Cleanup(public.Close)
	internal := httptest.NewServer(a.InternalEvents([]string{"shop"}))
	t.Cleanup(internal.Close)
	c := &client{t: t, srv: public, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}
	trigger := `{"filters":[{"exact":{"type":"order.paid"}}]}`
	shop := c.eventJob("shop", "ship", trigger)
	c.eventJob("billing", "invoice", trigger)

	post := func(srv *httptest.Server, body string, header ...string) (int, []byte) {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/events", strings.NewReader(body))
		require.NoError(t, err)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	// Structured mode, no credential: only the job of shop starts.
	code, b := post(internal, structured("e-1", "/orders", "order.paid", "", `{"id":7}`), "Content-Type", "application/cloudevents+json")
	require.Equal(t, http.StatusAccepted, code, string(b))
	var out eventAnswer
	require.NoError(t, json.Unmarshal(b, &out))
	require.Len(t, out.Executions, 1)
	require.Equal(t, shop.ID, out.Executions[0].JobID)

	// Binary mode, as a Knative broker delivers: the same event again runs once.
	code, b = post(internal, `{"id":7}`, "Content-Type", "application/json", "Ce-Specversion", "1.0", "Ce-Id", "e-1",
		"Ce-Source", "/orders", "Ce-Type", "order.paid")
	require.Equal(t, http.StatusAccepted, code, string(b))
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, shop.ID, out.Executions[0].JobID)

	// Nothing else is served there, and what is not a CloudEvent is 415.
	for _, path := range []string{"/api/v1/jobs", "/hooks/vwh_x", "/api/v1/openapi.json", "/"} {
		resp, err := internal.Client().Get(internal.URL + path)
		require.NoError(t, err)
		_ = resp.Body.Close()
		require.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, resp.StatusCode, path)
	}
	code, _ = post(internal, `{}`, "Content-Type", "application/json")
	require.Equal(t, http.StatusUnsupportedMediaType, code)
	code, _ = post(internal, `{"specversion":"1.0"}`, "Content-Type", "application/cloudevents+json")
	require.Equal(t, http.StatusBadRequest, code)

	// The public listener still needs a token with event:publish.
	code, _ = post(public, structured("e-2", "/orders", "order.paid", "", `{}`), "Content-Type", "application/cloudevents+json")
	require.Equal(t, http.StatusUnauthorized, code)
}
