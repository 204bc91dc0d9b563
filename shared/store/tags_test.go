package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestJobTagsRoundTrip: tags are stored by every way a job is written (create, many at once,
// edit, apply) and read back by every way it is read; no tags read back as none.
func TestJobTagsRoundTrip(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	svc := jobs.New(st, time.Now)
	newJob := func(name string, tags ...string) *domain.Job {
		return &domain.Job{Name: name, Namespace: "tags", Schedule: domain.Schedule{Cron: "@hourly"},
			HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}, Enabled: true, Tags: tags}
	}

	one := newJob("one", "team:payments", "env/prod", "team:payments")
	require.NoError(t, svc.Create(ctx, one))
	require.Equal(t, []string{"env/prod", "team:payments"}, one.Tags)
	got, err := st.GetJob(ctx, one.ID)
	require.NoError(t, err)
	require.Equal(t, one.Tags, got.Tags)

	untagged := newJob("untagged")
	require.NoError(t, svc.Create(ctx, untagged))
	got, err = st.GetJob(ctx, untagged.ID)
	require.NoError(t, err)
	require.Nil(t, got.Tags)

	many := []*domain.Job{newJob("bulk-a", "bulk"), newJob("bulk-b")}
	require.NoError(t, svc.CreateMany(ctx, st, many))
	got, err = st.GetJob(ctx, many[0].ID)
	require.NoError(t, err)
	require.Equal(t, []string{"bulk"}, got.Tags)

	edit := newJob("one", "nightly")
	updated, err := svc.Update(ctx, got, edit, 0)
	require.ErrorIs(t, err, domain.ErrConflict, "bulk-a renamed to a taken name")
	require.Nil(t, updated)
	edit = newJob("bulk-a", "nightly")
	updated, err = svc.Update(ctx, got, edit, got.Version)
	require.NoError(t, err)
	require.Equal(t, []string{"nightly"}, updated.Tags)
	edit = newJob("bulk-a")
	updated, err = svc.Update(ctx, updated, edit, updated.Version)
	require.NoError(t, err)
	require.Nil(t, updated.Tags, "an edit removes every tag")

	var byName []*domain.Job
	require.NoError(t, st.JobsByName(ctx, []string{"tags"}, func(page []*domain.Job) error {
		byName = append(byName, page...)
		return nil
	}))
	require.Len(t, byName, 4)
	require.Equal(t, "one", byName[2].Name)
	require.Equal(t, one.Tags, byName[2].Tags)
}

// TestListJobsByTags: a job is listed when it has every tag asked for; the other filters apply
// too.
func TestListJobsByTags(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	svc := jobs.New(st, time.Now)
	for name, tags := range map[string][]string{
		"settle":  {"team:payments", "env/prod", "critical"},
		"refund":  {"team:payments", "env/staging"},
		"report":  {"team:reports", "env/prod"},
		"cleanup": nil,
	} {
		j := &domain.Job{Name: name, Namespace: "tags", Schedule: domain.Schedule{Cron: "@hourly"},
			HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}, Enabled: name != "refund", Tags: tags}
		require.NoError(t, svc.Create(ctx, j))
	}
	names := func(p domain.ListJobsParams) []string {
		t.Helper()
		p.Limit = 10
		list, err := st.ListJobs(ctx, p)
		require.NoError(t, err)
		var out []string
		for _, j := range list {
			out = append(out, j.Name)
		}
		return out
	}
	require.ElementsMatch(t, []string{"settle", "refund"}, names(domain.ListJobsParams{Tags: []string{"team:payments"}}))
	require.ElementsMatch(t, []string{"settle"}, names(domain.ListJobsParams{Tags: []string{"team:payments", "env/prod"}}))
	require.ElementsMatch(t, []string{"settle", "report"}, names(domain.ListJobsParams{Tags: []string{"env/prod"}}))
	require.Empty(t, names(domain.ListJobsParams{Tags: []string{"env/prod", "env/staging"}}))
	require.Empty(t, names(domain.ListJobsParams{Tags: []string{"team"}}), "a tag matches whole, not a prefix")
	require.ElementsMatch(t, []string{"refund"}, names(domain.ListJobsParams{Tags: []string{"team:payments"}, State: domain.StatePaused}))
	require.Empty(t, names(domain.ListJobsParams{Tags: []string{"team:payments"}, Namespace: "other"}))
	require.Len(t, names(domain.ListJobsParams{Tags: []string{}}), 4, "no tag asked for keeps every job")
}
