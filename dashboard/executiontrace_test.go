package dashboard_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

const pageTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// traced records a running execution of j that belongs to trace pageTraceID.
func traced(t *testing.T, st *store.Store, j *domain.Job) *domain.Execution {
	t.Helper()
	at := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	started := time.Now().UTC()
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: "execute-http-1", TraceID: pageTraceID}
	out, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.Started, out)
	return e
}

func TestExecutionPageTraceID(t *testing.T) {
	t.Parallel()
	t.Run("Link", func(t *testing.T) {
		t.Parallel()
		srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) {
			s.Dashboard.TraceURL = "https://grafana.example.com/explore?traceId={trace_id}&orgId=1"
		}})
		admin := srv.User(t, rbac.RoleAdmin, "")
		e := traced(t, srv.Store, testfactory.Job(t, srv.Store, testfactory.JobOpts{}))
		c := newClient(t, srv)
		c.login(admin.Username)
		r := c.get("/executions/" + e.ID)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		require.Contains(t, r.body, `<dt>Trace</dt><dd id="exec-trace"><a href="https://grafana.example.com/explore?traceId=`+pageTraceID+`&amp;orgId=1" rel="noopener noreferrer"><code>`+pageTraceID+`</code></a></dd>`)
	})
	t.Run("Text", func(t *testing.T) {
		t.Parallel()
		srv := dashboardtest.Start(t, dashboardtest.Options{})
		admin := srv.User(t, rbac.RoleAdmin, "")
		j := testfactory.Job(t, srv.Store, testfactory.JobOpts{})
		e := traced(t, srv.Store, j)
		c := newClient(t, srv)
		c.login(admin.Username)
		r := c.get("/executions/" + e.ID)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		require.Contains(t, r.body, `<dd id="exec-trace"><code>`+pageTraceID+`</code></dd>`)

		// An execution without a sampled trace shows no trace fact.
		plain := failedTwice(t, srv.Store, j, time.Now().UTC().Add(-time.Hour).Truncate(time.Second), "boom")
		r = c.get("/executions/" + plain.ID)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		require.NotContains(t, r.body, `exec-trace`)
	})
}
