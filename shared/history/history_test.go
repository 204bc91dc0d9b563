package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/history"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// TestKeeperMakesDaysAheadAndDropsExpiredOnes: at start and every hour the keeper makes today and
// the next days, and drops the days past the retention — by the clock it is given, so the turn
// of a day and a month of history are seen without waiting for them.
func TestKeeperMakesDaysAheadAndDropsExpiredOnes(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	start := time.Date(2030, 6, 30, 23, 30, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(start)
	k, err := history.New(st, clock, testenv.Logger(t), history.Config{Retention: 48 * time.Hour, PartitionsAhead: 2})
	require.NoError(t, err)

	// A finished fire of June 28th: its day ends at midnight, and passes the 48 h retention at
	// midnight on July 1st, between the keeper's first round and its second.
	at := start.AddDate(0, 0, -2)
	now := time.Now().UTC()
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &now, Status: domain.StatusRunning, Attempt: 1, WorkerID: "w"}
	_, err = st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Minute})
	require.NoError(t, err)
	e.Status, e.FinishedAt = domain.StatusSucceeded, &now
	require.NoError(t, st.FinishExecution(t.Context(), e, &domain.Attempt{Attempt: 1, FinishedAt: now, Status: domain.StatusSucceeded}))
	require.Equal(t, []string{"2030-06-28"}, testfactory.HistoryDays(t, st))
	// Written when it ran, not a moment ago (a day written within the last one is kept).
	conn, err := pgx.Connect(t.Context(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(t.Context(), `UPDATE job_executions SET created_at = $1, finished_at = $1`, at)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- k.Run(ctx) }()
	defer func() {
		cancel()
		require.NoError(t, <-done)
	}()
	want := []string{"2030-06-28", "2030-06-30", "2030-07-01", "2030-07-02"}
	testenv.Eventually(t, "the first round", func() bool { return equal(testfactory.HistoryDays(t, st), want) })

	// An hour later it is July 1st: one more day ahead, and June 28th ended more than 48 h ago.
	require.NoError(t, clock.BlockUntilContext(ctx, 1))
	clock.Advance(history.Interval)
	want = []string{"2030-06-30", "2030-07-01", "2030-07-02", "2030-07-03"}
	testenv.Eventually(t, "the second round", func() bool { return equal(testfactory.HistoryDays(t, st), want) })
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestKeeperSettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  history.Config
		want string
	}{
		{history.Config{Retention: 23 * time.Hour, PartitionsAhead: 3}, "history.retention: 23h0m0s is less than 24h0m0s"},
		{history.Config{Retention: 0, PartitionsAhead: 3}, "history.retention"},
		{history.Config{Retention: 720 * time.Hour, PartitionsAhead: -1}, "history.partitions_ahead: -1 is not between 0 and 31"},
		{history.Config{Retention: 720 * time.Hour, PartitionsAhead: 32}, "history.partitions_ahead"},
	} {
		_, err := history.New(nil, clockwork.NewRealClock(), testenv.Logger(t), c.cfg)
		require.ErrorContains(t, err, c.want)
	}
	require.NoError(t, history.DefaultConfig().Validate())
}
