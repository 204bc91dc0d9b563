package executor_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/testfactory"
)

// Through the executor: an attempt that will be retried is no end, so it does not count; three
// fires that fail for good raise one alert, and the next success one recovery.
func TestExecutorFailureStreakAlertsOnceAndRecovers(t *testing.T) {
	t.Parallel()
	var failing atomic.Bool
	failing.Store(true)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer target.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: target.URL,
		Retry: &domain.RetryPolicy{MaxAttempts: 2, Backoff: []domain.Duration{domain.Duration(time.Second)}}})
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)

	// fire runs the fire at `at` until it ends, moving the clock past each retry's wait, and
	// returns the streak after each attempt.
	fire := func(at time.Time) []int {
		var streaks []int
		for range 4 {
			_ = f.rt.Handle(t.Context(), dueEvent(t, j, at)) // a retry answers with an error
			n, _, err := f.store.AlertStreak(t.Context(), j.ID)
			require.NoError(t, err)
			streaks = append(streaks, n)
			e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
			require.NoError(t, err)
			if e.Status.Terminal() {
				return streaks
			}
			f.clock.Advance(2 * time.Second)
		}
		t.Fatalf("the fire at %s did not end", at)
		return nil
	}
	require.Equal(t, []int{0, 1}, fire(at), "the retried attempt does not count; the dead letter does")
	require.Equal(t, []int{1, 2}, fire(at.Add(time.Minute)))
	alerts, err := f.store.JobAlerts(t.Context(), j.ID, 10)
	require.NoError(t, err)
	require.Empty(t, alerts)
	require.Equal(t, []int{2, 3}, fire(at.Add(2*time.Minute)))
	alerts, err = f.store.JobAlerts(t.Context(), j.ID, 10)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, domain.AlertFiring, alerts[0].State)
	require.Contains(t, alerts[0].LastError, "503")

	failing.Store(false)
	require.Equal(t, []int{0}, fire(at.Add(3*time.Minute)))
	alerts, err = f.store.JobAlerts(t.Context(), j.ID, 10)
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	require.Equal(t, domain.AlertResolved, alerts[0].State, "newest first")
	require.Equal(t, 3, alerts[0].ConsecutiveFailures)
}
