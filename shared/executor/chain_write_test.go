package executor_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// fieldErr returns the reason err gives for field, failing when it names none.
func fieldErr(t *testing.T, err error, field string) string {
	t.Helper()
	var v *domain.ValidationError
	require.ErrorAs(t, err, &v)
	for _, f := range v.Fields {
		if f.Field == field {
			return f.Reason
		}
	}
	t.Fatalf("no error on %s in %v", field, err)
	return ""
}

// TestACycleOfChainsIsRefusedAndNamed: a job chaining to itself, to a job that chains back,
// or back through a longer path is refused on write, the cycle named; so is a target the
// caller cannot see, one in a namespace they may not run jobs in, and too many targets.
func TestACycleOfChainsIsRefusedAndNamed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, executor.Config{})
	svc := jobs.New(f.store, f.clock.Now)
	ns := "cyc-" + testfactory.User(t, f.store, testfactory.UserOpts{}).ID[:8]
	other := ns + "-x"
	u := testfactory.User(t, f.store, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: ns})
	ctx := asEditor(t.Context(), u, rbac.RoleEditor, ns)

	far := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	newJob := func(name string, onFailure ...string) *domain.Job {
		return &domain.Job{Namespace: ns, Name: name, Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{Method: "GET", URL: "http://127.0.0.1:9/"},
			Schedule: domain.Schedule{Kind: domain.ScheduleOnce, At: &far}, Enabled: true, Chains: domain.Chains{OnFailure: onFailure}}
	}
	err := svc.Create(ctx, newJob("self", "self"))
	require.Contains(t, fieldErr(t, err, "on_failure[0]"), ns+"/self → "+ns+"/self")

	c := newJob("c")
	require.NoError(t, svc.Create(ctx, c))
	b := newJob("b", "c")
	require.NoError(t, svc.Create(ctx, b))
	a := newJob("a", "b")
	require.NoError(t, svc.Create(ctx, a))

	// c → a closes a → b → c → a, through on_completion this time.
	edit := newJob("c")
	edit.Chains = domain.Chains{OnCompletion: []string{"a"}}
	_, err = svc.Update(ctx, c, edit, 0)
	require.Contains(t, fieldErr(t, err, "on_completion[0]"), "cycle: "+ns+"/c → "+ns+"/a → "+ns+"/b → "+ns+"/c")
	// b → a directly.
	edit = newJob("b", "c", "a")
	_, err = svc.Update(ctx, b, edit, 0)
	require.Contains(t, fieldErr(t, err, "on_failure[1]"), ns+"/b → "+ns+"/a → "+ns+"/b")

	// A job elsewhere: unknown to the caller, or known but not theirs to run.
	hidden := testfactory.Job(t, f.store, testfactory.JobOpts{Namespace: other, Name: "hidden"})
	err = svc.Create(ctx, newJob("d", other+"/hidden"))
	require.Equal(t, "job "+other+"/hidden does not exist", fieldErr(t, err, "on_failure[0]"), "a job the caller cannot read is not revealed")
	viewer := asEditorAndViewer(t, f, u, ns, other)
	err = svc.Create(viewer, newJob("d", other+"/"+hidden.Name))
	require.Contains(t, fieldErr(t, err, "on_failure[0]"), "may not run jobs in namespace "+other)

	refs := make([]string, jobs.MaxChainTargets+1)
	for i := range refs {
		refs[i] = "t" + string(rune('a'+i))
	}
	err = svc.Create(ctx, newJob("wide", refs...))
	require.Contains(t, fieldErr(t, err, "on_success"), "at most 20")
}

// asEditorAndViewer is ctx of u as an editor in ns and a viewer in other.
func asEditorAndViewer(t *testing.T, f *fixture, u *domain.User, ns, other string) context.Context {
	t.Helper()
	ed, _ := rbac.BuiltinRole(rbac.RoleEditor)
	vw, _ := rbac.BuiltinRole(rbac.RoleViewer)
	id := rbac.NewIdentity(u.ID, u.Username, rbac.KindUser, "database", u.ID,
		[]domain.Grant{{Namespace: ns, Permissions: ed.Permissions}, {Namespace: other, Permissions: vw.Permissions}})
	return domain.WithCaller(testfactory.ActorOf(t.Context(), u), domain.Caller{Rights: id, Editor: domain.Editor{UserID: u.ID}})
}

// TestAChainedRunIsSkippedWhenItsEditorLostTheRightToRunIt: rights are checked again when the
// chained run starts, against what the chains' last editor may do now.
func TestAChainedRunIsSkippedWhenItsEditorLostTheRightToRunIt(t *testing.T) {
	t.Parallel()
	srv, bodies := chainTarget(t)
	f := newFixture(t, executor.Config{})
	svc := jobs.New(f.store, f.clock.Now)
	ns := "rev-" + testfactory.User(t, f.store, testfactory.UserOpts{}).ID[:8]
	other := ns + "-x"
	u := testfactory.User(t, f.store, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: ns})
	b := &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleOperator, UserID: u.ID, Namespace: other, CreatedAt: time.Now().UTC()}
	require.NoError(t, f.store.CreateBinding(t.Context(), b))
	ctx := asEditor(t.Context(), u, rbac.RoleEditor, domain.AllNamespaces)

	target := chainedJob(ctx, t, svc, other, "t", srv.URL+"/t", "x")
	a := chainedJob(ctx, t, svc, ns, "a", srv.URL+"/a", "go", other+"/t")
	_, err := f.store.DeleteBinding(t.Context(), b.ID)
	require.NoError(t, err)

	at := f.clock.Now().UTC().Truncate(time.Millisecond)
	require.NoError(t, f.rt.Handle(t.Context(), dueEvent(t, a, at)))
	aExec, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(a.ID, at))
	require.NoError(t, err)
	require.Empty(t, deliverQueued(t, f, target.ID), "nothing is queued")
	skipped, err := f.store.ExecutionByKey(t.Context(), domain.ChainKey(target.ID, aExec.ID))
	require.NoError(t, err)
	require.Equal(t, domain.StatusSkipped, skipped.Status)
	require.Contains(t, skipped.Error, "may no longer run jobs in namespace "+other)
	require.Empty(t, bodies("/t"))
}
