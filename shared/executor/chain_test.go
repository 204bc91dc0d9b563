package executor_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// chainTarget records the request bodies each path receives.
func chainTarget(t *testing.T) (*httptest.Server, func(path string) []string) {
	t.Helper()
	var mu sync.Mutex
	got := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[r.URL.Path] = append(got[r.URL.Path], string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func(path string) []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got[path]...)
	}
}

// asEditor is ctx of a request by user u, who holds role in ns.
func asEditor(ctx context.Context, u *domain.User, role, ns string) context.Context {
	r, _ := rbac.BuiltinRole(role)
	id := rbac.NewIdentity(u.ID, u.Username, rbac.KindUser, "database", u.ID, []domain.Grant{{Namespace: ns, Permissions: r.Permissions}})
	return domain.WithCaller(testfactory.ActorOf(ctx, u), domain.Caller{Rights: id, Editor: domain.Editor{UserID: u.ID}})
}

// chainedJob creates an http job named name in ns that POSTs body to url and starts onSuccess.
func chainedJob(ctx context.Context, t *testing.T, svc *jobs.Service, ns, name, url, body string, onSuccess ...string) *domain.Job {
	t.Helper()
	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	j := &domain.Job{Namespace: ns, Name: name, Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{Method: "POST", URL: url, Body: body},
		Schedule: domain.Schedule{Kind: domain.ScheduleOnce, At: &far}, Enabled: true, Chains: domain.Chains{OnSuccess: onSuccess}}
	require.NoError(t, svc.Create(ctx, j))
	return j
}

// deliverQueued delivers every fire queued in the outbox for jobID twice, as a broker that
// redelivers does, then takes it out of the outbox as the tick does once it is published. It
// returns the fires delivered.
func deliverQueued(t *testing.T, f *fixture, jobID string) []event.DueMeta {
	t.Helper()
	fires, err := f.store.DueQueued(t.Context(), time.Now().Add(time.Hour), 100)
	require.NoError(t, err)
	var out []event.DueMeta
	for _, fire := range fires {
		if fire.JobID != jobID {
			continue
		}
		meta := event.DueMeta{Key: fire.Key, JobID: fire.JobID, Kind: fire.Kind, Trigger: fire.Trigger, ScheduledAt: fire.ScheduledAt}
		for range 2 {
			require.NoError(t, f.rt.Handle(t.Context(), event.NewDueEncoded(meta, fire.Payload, "/test")))
		}
		require.NoError(t, f.store.DeleteFires(t.Context(), []string{fire.Key}))
		out = append(out, meta)
	}
	return out
}

// TestAChainRunsEachNextJobOnceEvenWhenAResultIsDeliveredAgain: A → B → C. A's success starts
// B with A's result in its templates, B's starts C; A's due event delivered again (a broker's
// redelivery after the result was recorded) starts nothing more.
func TestAChainRunsEachNextJobOnceEvenWhenAResultIsDeliveredAgain(t *testing.T) {
	t.Parallel()
	srv, bodies := chainTarget(t)
	f := newFixture(t, executor.Config{})
	svc := jobs.New(f.store, f.clock.Now)
	ns := "chain-" + testfactory.User(t, f.store, testfactory.UserOpts{}).ID[:8]
	u := testfactory.User(t, f.store, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: ns})
	ctx := asEditor(t.Context(), u, rbac.RoleEditor, ns)

	c := chainedJob(ctx, t, svc, ns, "c", srv.URL+"/c", `{{ trigger.upstream.status }}`)
	b := chainedJob(ctx, t, svc, ns, "b", srv.URL+"/b",
		`{{ trigger.type }} {{ trigger.upstream.job_id }} {{ trigger.upstream.status }} {{ trigger.upstream.http_status }} {{ trigger.upstream.response_excerpt }}[{{ trigger.upstream.rows }}]`, "c")
	a := chainedJob(ctx, t, svc, ns, "a", srv.URL+"/a", `go`, ns+"/b")
	require.Equal(t, []string{ns + "/b"}, a.OnSuccess, "a bare name is in the job's namespace")

	at := f.clock.Now().UTC().Truncate(time.Millisecond)
	ev := dueEvent(t, a, at)
	require.NoError(t, f.rt.Handle(t.Context(), ev))
	require.NoError(t, f.rt.Handle(t.Context(), ev), "the same fire delivered again")

	require.Len(t, deliverQueued(t, f, b.ID), 1, "B is queued once")
	require.Len(t, deliverQueued(t, f, b.ID), 0)
	aExec, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(a.ID, at))
	require.NoError(t, err)
	require.Equal(t, []string{"chain " + a.ID + ` succeeded 201 {"ok":true}[]`}, bodies("/b"))

	bExec, err := f.store.ExecutionByKey(t.Context(), domain.ChainKey(b.ID, aExec.ID))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, bExec.Status)
	require.Equal(t, domain.TriggerChain, bExec.Trigger)

	// B's fire was delivered twice: C is queued once, and runs once.
	require.Len(t, deliverQueued(t, f, c.ID), 1)
	require.Len(t, deliverQueued(t, f, c.ID), 0)
	require.Equal(t, []string{"succeeded"}, bodies("/c"))
	cExec, err := f.store.ExecutionByKey(t.Context(), domain.ChainKey(c.ID, bExec.ID))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, cExec.Status)
}
