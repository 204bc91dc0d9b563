package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// newJob is a job ready to insert, as the jobs service prepares one.
func newJob(ns, name string) *domain.Job {
	id := uuid.Must(uuid.NewV7()).String()
	now := time.Now().UTC().Truncate(time.Microsecond)
	next := now.Add(time.Hour)
	return &domain.Job{ID: id, Namespace: ns, Name: name, Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{Method: "GET", URL: "http://x.test/"},
		Schedule: domain.Schedule{Cron: "@hourly"}, Timezone: "UTC", Enabled: true, Timeout: domain.Duration(time.Second),
		MisfirePolicy: domain.MisfireFireOnce, MaxCatchup: 1, ConcurrencyPolicy: domain.ConcurrencyAllow,
		Retry: domain.RetryPolicy{MaxAttempts: 1}, NextRunAt: &next, Shard: domain.ShardOf(id), Version: 1, CreatedAt: now, UpdatedAt: now}
}

// TestApplyJobsIsAllOrNothing: a batch whose last change fails (a name taken) leaves nothing of
// the changes before it, audit entries included; a batch that succeeds makes each change as its
// single write does and audits each.
func TestApplyJobsIsAllOrNothing(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := domain.WithActor(context.Background(), domain.Actor{ID: "u1", Name: "alice", Kind: "user", Mode: "database", RequestID: "req-apply"})
	taken := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "ops", Name: "taken"})
	doomed := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "ops", Name: "doomed"})

	_, err := st.ApplyJobs(ctx, []domain.JobChange{
		{Write: domain.ChangeCreate, Job: newJob("ops", "fresh")},
		{Write: domain.ChangeDelete, Job: doomed, IfVersion: doomed.Version},
		{Write: domain.ChangeCreate, Job: newJob("ops", "taken")},
	}, nil, time.Now().UTC())
	var cerr *domain.JobChangeError
	require.ErrorAs(t, err, &cerr)
	require.Equal(t, 2, cerr.Index)
	require.ErrorIs(t, err, domain.ErrConflict)
	names := jobNames(t, st)
	require.ElementsMatch(t, []string{"taken", "doomed"}, names, "nothing of the failed batch stays")
	rows, err := st.ListAudit(ctx, store.AuditFilter{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, rows)

	// A version moved since the plan refuses the change.
	_, err = st.ApplyJobs(ctx, []domain.JobChange{{Write: domain.ChangeDelete, Job: doomed, IfVersion: doomed.Version + 1}}, nil, time.Now().UTC())
	require.ErrorIs(t, err, domain.ErrStale)

	edited := *taken
	edited.Description = "edited"
	out, err := st.ApplyJobs(ctx, []domain.JobChange{
		{Write: domain.ChangeCreate, Job: newJob("ops", "fresh")},
		{Write: domain.ChangeUpdate, Job: &edited, IfVersion: taken.Version},
		{Write: domain.ChangeDelete, Job: doomed, IfVersion: doomed.Version},
	}, nil, time.Now().UTC())
	require.NoError(t, err)
	require.Len(t, out, 3)
	require.Equal(t, "alice", out[0].CreatedBy)
	require.Equal(t, taken.Version+1, out[1].Version)
	require.Equal(t, "edited", out[1].Description)
	require.Equal(t, doomed.ID, out[2].ID)
	require.ElementsMatch(t, []string{"taken", "fresh"}, jobNames(t, st))
	rows, err = st.ListAudit(ctx, store.AuditFilter{Limit: 10})
	require.NoError(t, err)
	var actions []string
	for _, r := range rows {
		require.Equal(t, "req-apply", r.RequestID)
		actions = append(actions, r.Action)
	}
	require.ElementsMatch(t, []string{"job.create", "job.update", "job.delete"}, actions)
}

func jobNames(t *testing.T, st *store.Store) []string {
	t.Helper()
	var names []string
	require.NoError(t, st.JobsByName(t.Context(), nil, func(page []*domain.Job) error {
		for _, j := range page {
			names = append(names, j.Name)
		}
		return nil
	}))
	return names
}
