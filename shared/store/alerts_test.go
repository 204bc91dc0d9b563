package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/alert"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// alertsOf returns a job's notices, oldest first.
func alertsOf(t testing.TB, st *store.Store, jobID string) []*domain.Alert {
	t.Helper()
	list, err := st.JobAlerts(context.Background(), jobID, 1000)
	require.NoError(t, err)
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// retried records an attempt of j's fire at `at` that failed and will be retried: the
// execution goes back to queued, which is no end.
func retried(t testing.TB, st *store.Store, j *domain.Job, at time.Time) {
	t.Helper()
	e := newExecution(j, at, "test", at)
	_, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Hour})
	require.NoError(t, err)
	end, next := at.Add(time.Second), at.Add(time.Minute)
	e.Status, e.FinishedAt, e.NextAttemptAt, e.Error = domain.StatusQueued, nil, &next, "boom"
	a := attemptOf(e)
	a.Status, a.FinishedAt = domain.StatusFailed, end
	require.NoError(t, st.FinishExecution(t.Context(), e, a))
}

func TestFailureStreakAlertsOnceAndRecovers(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	next := func() time.Time { at = at.Add(time.Second); return at }

	testfactory.Outcome(t, st, j, domain.StatusFailed, next(), 0)
	retried(t, st, j, next()) // a retry is no end: it neither grows nor breaks the streak
	testfactory.Outcome(t, st, j, domain.StatusSkipped, next(), 0)
	testfactory.Outcome(t, st, j, domain.StatusTimedOut, next(), 0)
	require.Empty(t, alertsOf(t, st, j.ID), "two failures stay under the default threshold of 3")
	third := testfactory.Outcome(t, st, j, domain.StatusDeadLettered, next(), 0)
	testfactory.Outcome(t, st, j, domain.StatusFailed, next(), 0)
	testfactory.Outcome(t, st, j, domain.StatusFailed, next(), 0)

	list := alertsOf(t, st, j.ID)
	require.Len(t, list, 1, "one alert for the streak, however long it grows")
	a := list[0]
	require.Equal(t, domain.AlertFiring, a.State)
	require.Equal(t, 3, a.ConsecutiveFailures)
	require.Equal(t, 3, a.Threshold)
	require.Equal(t, third.ID, a.ExecutionID)
	require.Equal(t, j.Name, a.JobName)
	require.Equal(t, j.Namespace, a.Namespace)
	require.Equal(t, "testfactory: dead_lettered", a.LastError)
	n, alerted, err := st.AlertStreak(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	require.True(t, alerted)

	ok := testfactory.Outcome(t, st, j, domain.StatusSucceeded, next(), 0)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, next(), 0)
	list = alertsOf(t, st, j.ID)
	require.Len(t, list, 2, "one recovery, and nothing for the success after it")
	require.Equal(t, domain.AlertResolved, list[1].State)
	require.Equal(t, 5, list[1].ConsecutiveFailures, "a recovery says how long the streak was")
	require.Equal(t, ok.ID, list[1].ExecutionID)
	require.Empty(t, list[1].LastError)
	n, _, err = st.AlertStreak(t.Context(), j.ID)
	require.NoError(t, err)
	require.Zero(t, n)

	for range 3 {
		testfactory.Outcome(t, st, j, domain.StatusFailed, next(), 0)
	}
	list = alertsOf(t, st, j.ID)
	require.Len(t, list, 3, "a new streak alerts again")
	require.Equal(t, domain.AlertFiring, list[2].State)
}

func TestStreakUnderThresholdAndOffRaisesNothing(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	off := false
	quiet := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{Enabled: &off, AfterFailures: 1}})
	five := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 5}})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	for i := range 4 {
		testfactory.Outcome(t, st, quiet, domain.StatusFailed, at.Add(time.Duration(i)*time.Second), 0)
		testfactory.Outcome(t, st, five, domain.StatusFailed, at.Add(time.Duration(i)*time.Second), 0)
	}
	testfactory.Outcome(t, st, five, domain.StatusSucceeded, at.Add(10*time.Second), 0)
	require.Empty(t, alertsOf(t, st, quiet.ID))
	require.Empty(t, alertsOf(t, st, five.ID))
	n, _, err := st.AlertStreak(t.Context(), quiet.ID)
	require.NoError(t, err)
	require.Zero(t, n, "a job whose alerts are off keeps no streak")
}

// A healthy job's successes write no streak: the table stays empty.
func TestHealthySuccessesWriteNoStreak(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	for i := range 5 {
		testfactory.Outcome(t, st, j, domain.StatusSucceeded, at.Add(time.Duration(i)*time.Second), 0)
	}
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var rows int
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT count(*) FROM job_alert_state`).Scan(&rows))
	require.Zero(t, rows)
	require.Empty(t, alertsOf(t, st, j.ID))
}

// Executors ending the same job's executions at once raise its alert once.
func TestConcurrentFailuresAlertOnce(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() { testfactory.Outcome(t, st, j, domain.StatusFailed, at.Add(time.Duration(i)*time.Second), 0) })
	}
	wg.Wait()
	list := alertsOf(t, st, j.ID)
	require.Len(t, list, 1)
	require.Equal(t, 3, list[0].ConsecutiveFailures)
	n, _, err := st.AlertStreak(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, 12, n)
}

// A batch of ends in one statement, several of one job among them, counts each in order.
func TestBatchedFinishCountsEachEndInOrder(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 2}})
	healthy := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	statuses := []domain.ExecutionStatus{domain.StatusFailed, domain.StatusFailed, domain.StatusSucceeded, domain.StatusFailed}
	var list []*domain.Execution
	for i := range statuses {
		list = append(list, newExecution(j, at.Add(time.Duration(i)*time.Second), "test", at), newExecution(healthy, at.Add(time.Duration(i)*time.Second), "test", at))
	}
	_, err := st.InsertExecutions(t.Context(), list)
	require.NoError(t, err)
	var fins []store.Finish
	for i, e := range list {
		end := at.Add(time.Duration(i/2) * time.Second).Add(time.Millisecond)
		e.Status, e.FinishedAt = domain.StatusSucceeded, &end
		if e.JobID == j.ID {
			e.Status = statuses[i/2]
		}
		fins = append(fins, store.Finish{Execution: e, Attempt: attemptOf(e)})
	}
	done, err := st.FinishExecutions(t.Context(), fins)
	require.NoError(t, err)
	require.NotContains(t, done, false)
	got := alertsOf(t, st, j.ID)
	require.Len(t, got, 2)
	require.Equal(t, domain.AlertFiring, got[0].State)
	require.Equal(t, domain.AlertResolved, got[1].State)
	n, alerted, err := st.AlertStreak(t.Context(), j.ID)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.False(t, alerted)
	require.Empty(t, alertsOf(t, st, healthy.ID))
}

// The watchdog's missed fires count as failures of the streak, in the caller's transaction.
func TestCountFailuresTxCountsMissedFires(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second)
	testfactory.Outcome(t, st, j, domain.StatusFailed, at.Add(-time.Minute), 0)
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	count := func(commit bool) {
		tx, err := conn.Begin(t.Context())
		require.NoError(t, err)
		require.NoError(t, st.CountFailuresTx(t.Context(), tx, []store.AlertOutcome{
			{JobID: j.ID, Error: "missed: not started within 1m0s", At: at.Add(2 * time.Second)},
			{JobID: j.ID, Error: "missed: not started within 1m0s", At: at.Add(time.Second)}}))
		if commit {
			require.NoError(t, tx.Commit(t.Context()))
		} else {
			require.NoError(t, tx.Rollback(t.Context()))
		}
	}
	count(false)
	require.Empty(t, alertsOf(t, st, j.ID), "rolled back with the caller's transaction")
	count(true)
	list := alertsOf(t, st, j.ID)
	require.Len(t, list, 1)
	require.Equal(t, 3, list[0].ConsecutiveFailures)
	require.Empty(t, list[0].ExecutionID)
	require.Equal(t, "missed: not started within 1m0s", list[0].LastError)
}

// The database follows the streak rule of package alert for any sequence of ends.
func TestStoreStreakFollowsTheRule(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	base := time.Now().UTC().Truncate(time.Second).Add(-2 * time.Hour)
	rapid.Check(t, func(rt *rapid.T) {
		threshold := rapid.IntRange(1, 4).Draw(rt, "threshold")
		statuses := rapid.SliceOfN(rapid.SampledFrom([]domain.ExecutionStatus{domain.StatusSucceeded, domain.StatusFailed,
			domain.StatusTimedOut, domain.StatusSkipped}), 0, 12).Draw(rt, "statuses")
		j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: threshold}})
		outcomes := make([]alert.Outcome, len(statuses))
		for i, s := range statuses {
			testfactory.Outcome(t, st, j, s, base.Add(time.Duration(i)*time.Second), 0)
			outcomes[i] = alert.OutcomeOf(s)
		}
		var got []alert.Notice
		for _, a := range alertsOf(t, st, j.ID) {
			got = append(got, alert.Notice{State: a.State, Failures: a.ConsecutiveFailures})
		}
		require.Equal(rt, alert.Notices(outcomes, threshold), got)
	})
}

// Delivery hands over only notices due and not done, a job's next only once the one before it
// is done; pruning removes done notices older than the bound.
func TestDeliverAlertsInOrderAndPrune(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Alert: domain.AlertPolicy{AfterFailures: 1}})
	at := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)
	testfactory.Outcome(t, st, j, domain.StatusFailed, at, 0)
	testfactory.Outcome(t, st, j, domain.StatusSucceeded, at.Add(time.Second), 0)
	now := at.Add(time.Minute)
	var seen []domain.AlertState
	deliver := func(ctx context.Context, list []*domain.Alert) error {
		for _, a := range list {
			seen = append(seen, a.State)
			a.Deliveries = map[string]*domain.AlertDelivery{"x": {State: domain.DeliveryDelivered, Attempts: 1}}
			done := now
			a.DoneAt = &done
		}
		return nil
	}
	n, err := st.DeliverAlerts(t.Context(), now, 10, deliver)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the recovery waits for its alert")
	n, err = st.DeliverAlerts(t.Context(), now, 10, deliver)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []domain.AlertState{domain.AlertFiring, domain.AlertResolved}, seen)
	n, err = st.DeliverAlerts(t.Context(), now, 10, deliver)
	require.NoError(t, err)
	require.Zero(t, n)
	list := alertsOf(t, st, j.ID)
	require.Equal(t, domain.DeliveryDelivered, list[0].Deliveries["x"].State)

	removed, err := st.PruneAlerts(t.Context(), now)
	require.NoError(t, err)
	require.Zero(t, removed, "done at the bound is kept")
	removed, err = st.PruneAlerts(t.Context(), now.Add(time.Second))
	require.NoError(t, err)
	require.Equal(t, int64(2), removed)
	require.Empty(t, alertsOf(t, st, j.ID))
}
