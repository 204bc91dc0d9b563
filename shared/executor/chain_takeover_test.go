package executor_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestAChainStartsWhenATakeoverDeadLettersTheLastAttempt: A's worker goes silent on its last
// attempt, and the worker that finds it dead-letters it. That end starts A's on_failure and
// on_completion jobs — a target in both lists once — and not its on_success job, each with the
// key a normal end would give it; the fire delivered again starts nothing more.
func TestAChainStartsWhenATakeoverDeadLettersTheLastAttempt(t *testing.T) {
	t.Parallel()
	srv, bodies := chainTarget(t)
	cfg := executor.Config{HeartbeatInterval: time.Second, StaleAfter: 3 * time.Second}
	st, url := testfactory.Store(t)
	f := newFixtureOn(t, st, clockwork.NewFakeClockAt(time.Now().UTC()), cfg)
	svc := jobs.New(f.store, f.clock.Now)
	ns := "chain-" + testfactory.User(t, f.store, testfactory.UserOpts{}).ID[:8]
	u := testfactory.User(t, f.store, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: ns})
	ctx := asEditor(t.Context(), u, rbac.RoleEditor, ns)

	page := chainedJob(ctx, t, svc, ns, "page", srv.URL+"/page", `{{ trigger.upstream.status }}`)
	cleanup := chainedJob(ctx, t, svc, ns, "cleanup", srv.URL+"/cleanup", `{{ trigger.upstream.status }}`)
	report := chainedJob(ctx, t, svc, ns, "report", srv.URL+"/report", `{{ trigger.upstream.status }}`)
	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	a := &domain.Job{Namespace: ns, Name: "a", Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{Method: "POST", URL: srv.URL + "/a"},
		Schedule: domain.Schedule{Kind: domain.ScheduleOnce, At: &far}, Enabled: true,
		Retry:  domain.RetryPolicy{MaxAttempts: 1},
		Chains: domain.Chains{OnSuccess: []string{"report"}, OnFailure: []string{"page", "cleanup"}, OnCompletion: []string{"cleanup"}}}
	require.NoError(t, svc.Create(ctx, a))

	at := f.clock.Now().Truncate(time.Second)
	ev := dueEvent(t, a, at)
	startedElsewhere(t, f, a, at, cfg.StaleAfter)
	testfactory.SilenceWorker(t, url, ev.ID())
	require.NoError(t, f.rt.Handle(t.Context(), ev), "taken over and dead-lettered")
	require.NoError(t, f.rt.Handle(t.Context(), ev), "the same fire delivered again")
	require.Empty(t, bodies("/a"), "the last attempt is not run again")

	aExec, err := f.store.ExecutionByKey(t.Context(), ev.ID())
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, aExec.Status)

	for _, j := range []*domain.Job{page, cleanup} {
		require.Len(t, deliverQueued(t, f, j.ID), 1, "%s is queued once", j.Name)
		require.Len(t, deliverQueued(t, f, j.ID), 0)
		e, err := f.store.ExecutionByKey(t.Context(), domain.ChainKey(j.ID, aExec.ID))
		require.NoError(t, err)
		require.Equal(t, domain.TriggerChain, e.Trigger)
		require.Equal(t, domain.StatusSucceeded, e.Status)
		require.Equal(t, domain.Instant(*aExec.FinishedAt), e.ScheduledAt.UTC(), "keyed at the instant the upstream ended")
	}
	require.Equal(t, []string{"dead_lettered"}, bodies("/page"))
	require.Equal(t, []string{"dead_lettered"}, bodies("/cleanup"))
	require.Empty(t, deliverQueued(t, f, report.ID), "on_success does not follow a dead letter")
	_, err = f.store.ExecutionByKey(t.Context(), domain.ChainKey(report.ID, aExec.ID))
	require.ErrorIs(t, err, domain.ErrNotFound)
}
