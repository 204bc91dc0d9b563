package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

func TestMigrateConcurrentlyThenAgain(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t) // an empty schema
	log := testenv.Logger(t)
	migrate := func() error {
		st, err := store.Open(context.Background(), store.Config{URL: url})
		if err != nil {
			return err
		}
		defer st.Close()
		return st.Migrate(context.Background(), log)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() { errs <- migrate() })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, migrate(), "a second run finds nothing to do")

	st, err := store.Open(t.Context(), store.Config{URL: url})
	require.NoError(t, err)
	defer st.Close()
	_, err = st.ListJobs(t.Context(), domain.ListJobsParams{Limit: 1})
	require.NoError(t, err)
}

func TestOpenRejectsBadConfigWithoutEchoingIt(t *testing.T) {
	t.Parallel()
	_, err := store.Open(t.Context(), store.Config{})
	require.ErrorContains(t, err, "database.url")
	_, err = store.Open(t.Context(), store.Config{URL: "postgres://u:s3cret@[::1"})
	require.ErrorContains(t, err, "database.url")
	require.NotContains(t, err.Error(), "s3cret")
}

// TestDatabaseIdentityIsTheServersAndTheDatabases: the identity names the database, not the
// schema or the address: another schema of the same database has the same one, another database
// of the same server does not.
func TestDatabaseIdentityIsTheServersAndTheDatabases(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	id, err := st.DatabaseIdentity(t.Context())
	require.NoError(t, err)
	require.NotEmpty(t, id.SystemID)
	require.Equal(t, testenv.PostgresIdentity(t, url), id)
	require.Equal(t, id, testenv.PostgresIdentity(t, testenv.PostgresURL(t)), "another schema of the same database")
	other := testenv.PostgresIdentity(t, testenv.PostgresTargetURL(t))
	require.Equal(t, id.SystemID, other.SystemID, "the same server")
	require.NotEqual(t, id.Database, other.Database)
}

func TestJobCRUD(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{Name: "nightly", Cron: "0 0 2 * * *"})

	got, err := st.GetJob(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, j.Name, got.Name)
	require.Equal(t, j.HTTP, got.HTTP)
	require.Equal(t, j.Schedule, got.Schedule)
	require.Equal(t, j.Timeout, got.Timeout)
	require.True(t, j.NextRunAt.Equal(*got.NextRunAt))

	dup := *j
	dup.ID = uuid.Must(uuid.NewV7()).String()
	require.ErrorIs(t, st.CreateJob(ctx, &dup), domain.ErrConflict)

	next := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	off, err := st.SetEnabled(ctx, j.ID, false, nil, time.Now())
	require.NoError(t, err)
	require.False(t, off.Enabled)
	require.Nil(t, off.NextRunAt)
	require.Equal(t, j.Version+1, off.Version)
	on, err := st.SetEnabled(ctx, j.ID, true, &next, time.Now())
	require.NoError(t, err)
	require.True(t, on.Enabled)
	require.True(t, next.Equal(*on.NextRunAt))

	require.NoError(t, st.DeleteJob(ctx, j.ID))
	_, err = st.GetJob(ctx, j.ID)
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.ErrorIs(t, st.DeleteJob(ctx, j.ID), domain.ErrNotFound)
	_, err = st.SetEnabled(ctx, j.ID, true, &next, time.Now())
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func TestListJobsPages(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	var want []string
	for range 7 {
		want = append(want, testfactory.Job(t, st, testfactory.JobOpts{}).ID)
	}
	var got []string
	after := ""
	for {
		page, err := st.ListJobs(t.Context(), domain.ListJobsParams{After: after, Limit: 3})
		require.NoError(t, err)
		for _, j := range page {
			got = append(got, j.ID)
		}
		if len(page) < 3 {
			break
		}
		after = page[len(page)-1].ID
	}
	require.Equal(t, want, got)
}

// planEvery emits one fire per claimed job at its next run and moves it an hour on.
func planEvery(j *domain.Job) (domain.PlanResult, error) {
	at := *j.NextRunAt
	next := at.Add(time.Hour)
	return domain.PlanResult{
		Fires: []domain.Fire{{Key: domain.ScheduledKey(j.ID, at), JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerSchedule, ScheduledAt: at, Payload: []byte(`{}`)}},
		Next:  &next,
	}, nil
}

func TestClaimDueClaimsEachJobOnceAcrossConcurrentClaimers(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Second)
	const jobs = 60
	for range jobs {
		testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	}
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Hour)}) // not due
	testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now, Disabled: true})

	var (
		mu   sync.Mutex
		keys = map[string]int{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				fires, claimed, planErrs, err := st.ClaimDue(context.Background(), time.Time{}, nil, now, 7, planEvery)
				if err != nil {
					t.Error(err)
					return
				}
				require.Empty(t, planErrs)
				mu.Lock()
				for _, f := range fires {
					keys[f.Key]++
				}
				mu.Unlock()
				if claimed == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	require.Len(t, keys, jobs)
	for k, n := range keys {
		require.Equal(t, 1, n, "fire %s claimed %d times", k, n)
	}
	stranded, err := st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 1000)
	require.NoError(t, err)
	require.Len(t, stranded, jobs, "every claimed fire waits in the outbox until acknowledged")

	next, ok, _, err := st.NextDue(t.Context(), nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(now.Add(time.Hour)), "got %s", next)
}

func TestClaimDueRecordsPlanErrorsAndStopsTheJob(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC()
	bad := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	good := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	fires, claimed, planErrs, err := st.ClaimDue(t.Context(), time.Time{}, nil, now, 10, func(j *domain.Job) (domain.PlanResult, error) {
		if j.ID == bad.ID {
			return domain.PlanResult{}, fmt.Errorf("broken schedule")
		}
		return planEvery(j)
	})
	require.NoError(t, err)
	require.Equal(t, 2, claimed)
	require.Len(t, fires, 1)
	require.Equal(t, good.ID, fires[0].JobID)
	require.Len(t, planErrs, 1)
	require.ErrorContains(t, planErrs[0], bad.ID)
	got, err := st.GetJob(t.Context(), bad.ID)
	require.NoError(t, err)
	require.Nil(t, got.NextRunAt)
}

func TestOutboxLifecycle(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Second)
	a := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(-time.Minute)})
	b := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	fires, _, _, err := st.ClaimDue(t.Context(), time.Time{}, nil, now, 10, planEvery)
	require.NoError(t, err)
	require.Len(t, fires, 2)

	// Just claimed, so not stranded — not even a's fire, scheduled a minute ago.
	stranded, err := st.StrandedFires(t.Context(), time.Time{}, 30*time.Second, 10)
	require.NoError(t, err)
	require.Empty(t, stranded)

	stranded, err = st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, stranded, 2)
	require.Equal(t, a.ID, stranded[0].JobID, "oldest first")
	require.Equal(t, domain.TriggerSchedule, stranded[0].Trigger)
	require.JSONEq(t, `{}`, string(stranded[0].Payload))

	require.NoError(t, st.DeleteFires(t.Context(), []string{stranded[0].Key}))
	stranded, err = st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, stranded, 1)
	require.Equal(t, b.ID, stranded[0].JobID)

	// Disabling a job withdraws its unpublished fires; so does deleting it.
	_, err = st.SetEnabled(t.Context(), b.ID, false, nil, time.Now())
	require.NoError(t, err)
	stranded, err = st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 10)
	require.NoError(t, err)
	require.Empty(t, stranded)
}

func newExecution(j *domain.Job, at time.Time, worker string, started time.Time) *domain.Execution {
	return &domain.Execution{
		ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule,
		ScheduledAt: at, StartedAt: &started, Status: domain.StatusRunning, Attempt: 1, WorkerID: worker,
	}
}

// attemptOf is the attempt record of e's current attempt as it stands.
func attemptOf(e *domain.Execution) *domain.Attempt {
	a := &domain.Attempt{Attempt: e.Attempt, StartedAt: e.StartedAt, Status: e.Status, HTTPStatus: e.HTTPStatus,
		DurationMS: e.DurationMS, Error: e.Error, WorkerID: e.WorkerID}
	if e.FinishedAt != nil {
		a.FinishedAt = *e.FinishedAt
	}
	return a
}

func TestStartExecutionOncePerKey(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second)
	t0 := time.Now().UTC()

	first := newExecution(j, at, "w1", t0)
	outcome, err := st.StartExecution(ctx, first, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)

	// A second delivery while w1 is alive sees it running.
	second := newExecution(j, at, "w2", t0)
	outcome, err = st.StartExecution(ctx, second, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.Running, outcome)
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, "w1", second.WorkerID)

	// A worker's clock far ahead does not make w1 silent: heartbeats go by the database's clock.
	later := store.StartParams{StaleAfter: time.Minute, Now: t0.Add(2 * time.Hour)}
	outcome, err = st.StartExecution(ctx, newExecution(j, at, "w3", later.Now), later)
	require.NoError(t, err)
	require.Equal(t, store.Running, outcome)

	// Once w1 is silent past the stale limit, it is reported silent, and w3 takes over with
	// attempt 2 …
	testfactory.SilenceWorker(t, url, first.IdempotencyKey)
	third := newExecution(j, at, "w3", later.Now)
	outcome, err = st.StartExecution(ctx, third, later)
	require.NoError(t, err)
	require.Equal(t, store.Silent, outcome)
	require.Equal(t, first.ID, third.ID)
	require.Equal(t, "w1", third.WorkerID)
	lost := &domain.Attempt{Attempt: 1, StartedAt: third.StartedAt, FinishedAt: later.Now, Status: domain.StatusFailed,
		Error: "worker w1 went silent", WorkerID: "w1"}
	taken := *third
	taken.Attempt, taken.WorkerID, taken.StartedAt = 2, "w3", &later.Now
	ok, err := st.ResolveSilent(ctx, &taken, lost, later, nil)
	require.NoError(t, err)
	require.True(t, ok)
	other := *third
	other.Attempt, other.WorkerID = 2, "w5"
	ok, err = st.ResolveSilent(ctx, &other, lost, later, nil)
	require.NoError(t, err)
	require.False(t, ok, "resolved once: another worker that saw it silent too changes nothing")
	third = &taken

	// … so w1's late result and heartbeat are refused.
	finished := t0.Add(2 * time.Minute)
	first.Status, first.FinishedAt = domain.StatusSucceeded, &finished
	require.ErrorIs(t, st.FinishExecution(ctx, first, attemptOf(first)), domain.ErrConflict)
	require.ErrorIs(t, st.Heartbeat(ctx, first.ID, first.ScheduledAt, first.Attempt), domain.ErrConflict)
	require.NoError(t, st.Heartbeat(ctx, third.ID, third.ScheduledAt, third.Attempt))

	third.Status, third.FinishedAt, third.HTTPStatus, third.DurationMS = domain.StatusFailed, &finished, 503, 12.5
	third.ResponseExcerpt, third.Error = "unavailable", "target answered 503 Service Unavailable"
	require.NoError(t, st.FinishExecution(ctx, third, attemptOf(third)))

	// A delivery after the end is a duplicate.
	fourth := newExecution(j, at, "w4", t0.Add(time.Hour))
	outcome, err = st.StartExecution(ctx, fourth, store.StartParams{StaleAfter: 0})
	require.NoError(t, err)
	require.Equal(t, store.AlreadyDone, outcome)
	require.Equal(t, domain.StatusFailed, fourth.Status)

	got, err := st.ExecutionByKey(ctx, first.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, 503, got.HTTPStatus)
	require.Equal(t, 12.5, got.DurationMS)
	require.Equal(t, "unavailable", got.ResponseExcerpt)
	require.Equal(t, "w3", got.WorkerID)
	require.Equal(t, 2, got.Attempt)
}

func TestStartExecutionConcurrentDeliveriesRecordOneRow(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second)
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		started int
	)
	for i := range 10 {
		wg.Go(func() {
			now := time.Now().UTC()
			outcome, err := st.StartExecution(context.Background(), newExecution(j, at, fmt.Sprint("w", i), now), store.StartParams{StaleAfter: time.Minute})
			if err != nil {
				t.Error(err)
				return
			}
			if outcome == store.Started {
				mu.Lock()
				started++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 1, started)
}

func TestListExecutionsPagesNewestFirst(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	other := testfactory.Job(t, st, testfactory.JobOpts{})
	base := time.Now().UTC().Truncate(time.Second)
	for i := range 5 {
		now := time.Now().UTC()
		_, err := st.StartExecution(t.Context(), newExecution(j, base.Add(time.Duration(i)*time.Second), "w", now), store.StartParams{StaleAfter: time.Minute})
		require.NoError(t, err)
	}
	now := time.Now().UTC()
	_, err := st.StartExecution(t.Context(), newExecution(other, base, "w", now), store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)

	var got []time.Time
	var cursor *domain.ExecutionCursor
	for {
		page, err := st.ListExecutions(t.Context(), j.ID, domain.ExecutionFilter{}, cursor, 2)
		require.NoError(t, err)
		for _, e := range page {
			require.Equal(t, j.ID, e.JobID)
			got = append(got, e.ScheduledAt)
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		cursor = &domain.ExecutionCursor{ScheduledAt: last.ScheduledAt, ID: last.ID}
	}
	require.Len(t, got, 5)
	for i := range got {
		require.True(t, got[i].Equal(base.Add(time.Duration(4-i)*time.Second)))
	}
}

func TestListenJobChangesWakesOnEditsOnly(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ready := make(chan struct{})
	notes := make(chan struct{}, 100)
	done := make(chan error, 1)
	go func() {
		done <- st.ListenJobChanges(ctx, func() { close(ready) }, func() { notes <- struct{}{} })
	}()
	<-ready

	now := time.Now().UTC()
	j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	waitNote(t, notes, "create")

	// The tick's own claim moves next_run_at without a version bump: no wake-up.
	_, _, _, err := st.ClaimDue(ctx, time.Time{}, nil, now, 10, planEvery)
	require.NoError(t, err)
	// An edit after it does wake; had the claim notified, its note would arrive first.
	_, err = st.SetEnabled(ctx, j.ID, false, nil, now)
	require.NoError(t, err)
	waitNote(t, notes, "disable")
	select {
	case <-notes:
		t.Fatal("claim produced a notification")
	default:
	}
	cancel()
	require.Error(t, <-done)
}

func waitNote(t *testing.T, notes <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-notes:
	case <-time.After(testenv.Timeout(10 * time.Second)):
		t.Fatalf("no notification after %s", what)
	}
}

func TestClaimDueOnlyOwnedShards(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Second)
	var jobs []*domain.Job
	for range 20 {
		jobs = append(jobs, testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now}))
	}
	owned := []int32{int32(jobs[0].Shard), int32(jobs[1].Shard)}
	want := 0
	for _, j := range jobs {
		if slices.Contains(owned, int32(j.Shard)) {
			want++
		}
	}
	next, ok, _, err := st.NextDue(t.Context(), owned)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, now, next)
	fires, claimed, _, err := st.ClaimDue(t.Context(), time.Time{}, owned, now, 100, planEvery)
	require.NoError(t, err)
	require.Equal(t, want, claimed)
	for _, f := range fires {
		j, err := st.GetJob(t.Context(), f.JobID)
		require.NoError(t, err)
		require.Contains(t, owned, int32(j.Shard))
	}
	_, claimed, _, err = st.ClaimDue(t.Context(), time.Time{}, nil, now, 100, planEvery)
	require.NoError(t, err)
	require.Equal(t, len(jobs)-want, claimed, "nil claims the rest, every shard")
}

func TestCreateJobsInOneCopy(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	js := jobs.New(st, time.Now)
	var list []*domain.Job
	for i := range 300 {
		list = append(list, &domain.Job{Name: fmt.Sprint("bulk-", i), Schedule: domain.Schedule{Cron: "* * * * * *"},
			HTTP: &domain.HTTPSpec{URL: "http://127.0.0.1:9/"}, Enabled: true})
	}
	require.NoError(t, js.CreateMany(t.Context(), st, list))
	got, err := st.GetJob(t.Context(), list[299].ID)
	require.NoError(t, err)
	require.Equal(t, "bulk-299", got.Name)
	require.Equal(t, domain.MaxAttemptsDefault, got.Retry.MaxAttempts)
	require.NotNil(t, got.NextRunAt)

	bad := []*domain.Job{{Name: "ok", Schedule: domain.Schedule{Cron: "@daily"}, HTTP: &domain.HTTPSpec{URL: "http://x.test/"}},
		{Name: "bad", Schedule: domain.Schedule{Cron: "nope"}, HTTP: &domain.HTTPSpec{URL: "http://x.test/"}}}
	var verr *domain.ValidationError
	require.ErrorAs(t, js.CreateMany(t.Context(), st, bad), &verr)
	require.Equal(t, "jobs[1].schedule.cron", verr.Fields[0].Field)
	dup := []*domain.Job{{Name: "bulk-0", Schedule: domain.Schedule{Cron: "@daily"}, HTTP: &domain.HTTPSpec{URL: "http://x.test/"}}}
	require.ErrorIs(t, js.CreateMany(t.Context(), st, dup), domain.ErrConflict)
}

func TestInsertAndFinishExecutionsInBatches(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	base := time.Now().UTC().Truncate(time.Second)
	now := time.Now().UTC()
	a := newExecution(j, base, "w1", now)
	b := newExecution(j, base.Add(time.Second), "w1", now)
	dupOfA := newExecution(j, base, "w2", now) // a second delivery in the same batch
	got, err := st.InsertExecutions(ctx, []*domain.Execution{a, b, dupOfA})
	require.NoError(t, err)
	require.Equal(t, []store.Inserted{store.InsertedRunning, store.InsertedRunning, store.NotInserted}, got)

	finished := time.Now().UTC()
	a.Status, a.FinishedAt, a.HTTPStatus = domain.StatusSucceeded, &finished, 200
	b.Status, b.NextAttemptAt, b.Error = domain.StatusQueued, &finished, "target answered 503"
	stale := *a
	stale.Attempt = 7 // not the attempt that runs
	done, err := st.FinishExecutions(ctx, []store.Finish{
		{Execution: a, Attempt: &domain.Attempt{Attempt: 1, FinishedAt: finished, Status: domain.StatusSucceeded, HTTPStatus: 200, WorkerID: "w1"}},
		{Execution: b, Attempt: &domain.Attempt{Attempt: 1, FinishedAt: finished, Status: domain.StatusFailed, HTTPStatus: 503, Error: "target answered 503"}},
		{Execution: &stale, Attempt: &domain.Attempt{Attempt: 7, FinishedAt: finished, Status: domain.StatusFailed}},
	})
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, false}, done)
	gotA, err := st.ExecutionByKey(ctx, a.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, domain.StatusSucceeded, gotA.Status)
	require.Equal(t, 200, gotA.HTTPStatus)
	gotB, err := st.ExecutionByKey(ctx, b.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, gotB.Status)
	require.NotNil(t, gotB.NextAttemptAt)
	attempts, err := st.Attempts(ctx, b.ID, b.ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, 503, attempts[0].HTTPStatus)
	attempts, err = st.Attempts(ctx, a.ID, a.ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 1, "the stale attempt recorded nothing")
}

// TestAFireOfAPausedOrDeletedJobIsRecordedSkipped: a fire claimed (and published) before its job
// was paused or deleted does not run when it reaches a worker: both ways of recording a fire
// record it skipped, saying why.
func TestAFireOfAPausedOrDeletedJobIsRecordedSkipped(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	now := time.Now().UTC()
	base := now.Truncate(time.Second)
	paused := testfactory.Job(t, st, testfactory.JobOpts{})
	_, err := st.SetEnabled(ctx, paused.ID, false, nil, now)
	require.NoError(t, err)
	deleted := testfactory.Job(t, st, testfactory.JobOpts{})
	require.NoError(t, st.DeleteJob(ctx, deleted.ID))
	running := testfactory.Job(t, st, testfactory.JobOpts{})

	a, b, c := newExecution(paused, base, "w", now), newExecution(deleted, base, "w", now), newExecution(running, base, "w", now)
	got, err := st.InsertExecutions(ctx, []*domain.Execution{a, b, c})
	require.NoError(t, err)
	require.Equal(t, []store.Inserted{store.InsertedSkipped, store.InsertedSkipped, store.InsertedRunning}, got)
	require.Contains(t, a.Error, "paused")
	require.Contains(t, b.Error, "deleted")
	for _, e := range []*domain.Execution{a, b} {
		rec, err := st.ExecutionByKey(ctx, e.IdempotencyKey)
		require.NoError(t, err)
		require.Equal(t, domain.StatusSkipped, rec.Status)
		require.Nil(t, rec.StartedAt, "it never started")
		require.NotNil(t, rec.FinishedAt)
	}

	// The careful path (redeliveries, forbid and replace) says the same.
	for _, j := range []*domain.Job{paused, deleted} {
		e := newExecution(j, base.Add(time.Second), "w", now)
		outcome, err := st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Minute, Exclusive: true})
		require.NoError(t, err)
		require.Equal(t, store.Skipped, outcome)
		require.Equal(t, domain.StatusSkipped, e.Status)
	}
	e := newExecution(running, base.Add(time.Second), "w", now)
	outcome, err := st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)
}

func TestAHeldClaimWritesNoOutboxRowAndRollsBackToTheSameFires(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	now := time.Now().UTC().Truncate(time.Second)
	a := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	b := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now})
	later := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now.Add(time.Minute)})

	c, err := st.ClaimDueHeld(t.Context(), time.Time{}, nil, now, 10, planEvery)
	require.NoError(t, err)
	require.Equal(t, 2, c.Claimed)
	require.Len(t, c.Fires, 2)
	n, err := st.OutboxLen(t.Context())
	require.NoError(t, err)
	require.Zero(t, n, "a held claim writes no outbox row")

	// While it is held, another claimer takes nothing, and the next due job is the one not held.
	fires, claimed, _, err := st.ClaimDue(t.Context(), time.Time{}, nil, now, 10, planEvery)
	require.NoError(t, err)
	require.Zero(t, claimed)
	require.Empty(t, fires)
	next, ok, held, err := st.NextDue(t.Context(), nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(*later.NextRunAt), "got %s", next)
	require.True(t, held, "jobs due earlier are held by a claim")

	// A claimer that dies (its transaction rolls back) leaves the jobs to fire under the same keys.
	keys := []string{c.Fires[0].Key, c.Fires[1].Key}
	c.Rollback(t.Context())
	again, err := st.ClaimDueHeld(t.Context(), time.Time{}, nil, now, 10, planEvery)
	require.NoError(t, err)
	require.ElementsMatch(t, keys, []string{again.Fires[0].Key, again.Fires[1].Key})

	// The commit keeps what could not be published in the outbox, for the relay, and advances
	// the jobs.
	var unpublished domain.Fire
	for _, f := range again.Fires {
		if f.JobID == b.ID {
			unpublished = f
		}
	}
	require.NoError(t, again.Commit(t.Context(), []domain.Fire{unpublished}))
	stranded, err := st.StrandedFires(t.Context(), time.Time{}, -time.Hour, 10)
	require.NoError(t, err)
	require.Len(t, stranded, 1)
	require.Equal(t, unpublished.Key, stranded[0].Key)
	for _, id := range []string{a.ID, b.ID} {
		j, err := st.GetJob(t.Context(), id)
		require.NoError(t, err)
		require.True(t, j.NextRunAt.Equal(now.Add(time.Hour)), "job %s next at %s", id, j.NextRunAt)
	}
	next, ok, held, err = st.NextDue(t.Context(), nil)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, next.Equal(*later.NextRunAt), "got %s", next)
	require.False(t, held)

	// A claim that finds nothing comes back committed.
	empty, err := st.ClaimDueHeld(t.Context(), time.Time{}, nil, now, 10, planEvery)
	require.NoError(t, err)
	require.Zero(t, empty.Claimed)
	require.NoError(t, empty.Commit(t.Context(), nil))
}

func TestScheduleAfterFinishAlsoRepairsAClaimRolledBackAfterItsFireWasPublished(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	at := time.Now().UTC().Truncate(time.Second)
	next := at.Add(time.Minute)
	nextRun := func(id string) *time.Time {
		j, err := st.GetJob(t.Context(), id)
		require.NoError(t, err)
		return j.NextRunAt
	}

	// The usual case: the claim committed, the job waits with no next run.
	waiting := testfactory.Job(t, st, testfactory.JobOpts{Waiting: true})
	require.NoError(t, st.ScheduleAfterFinish(t.Context(), waiting.ID, at, &next))
	require.True(t, nextRun(waiting.ID).Equal(next))

	// The claim of the fire at `at` was published and then rolled back (the tick died): the job
	// is back at `at`, and the execution's end still sets its next run.
	rolledBack := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at})
	require.NoError(t, st.ScheduleAfterFinish(t.Context(), rolledBack.ID, at, &next))
	require.True(t, nextRun(rolledBack.ID).Equal(next))

	// An edit or a resume set a later next run: it stands.
	edited := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: at.Add(time.Hour)})
	require.NoError(t, st.ScheduleAfterFinish(t.Context(), edited.ID, at, &next))
	require.True(t, nextRun(edited.ID).Equal(at.Add(time.Hour)))
}
