package watchdog_test

import (
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/watchdog"
)

// A fire recorded missed counts in its job's failure streak through the store's hook and raises
// the streak's one alert at once, whatever the threshold: a dead tick leaves one missed fire per
// job, never three. Passes that see it again raise nothing more, and a job whose alerts are off
// raises none.
func TestAMissedFireAlertsOnceThroughTheJobsStreak(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	st, _ := testfactory.Store(t)
	clock := clockwork.NewFakeClockAt(now)
	wd, err := watchdog.New(watchdog.Deps{Store: st, Clock: clock, Log: testenv.Logger(t), OnMissed: st.CountMissed}, watchdog.Config{})
	require.NoError(t, err)
	due := now.Add(-2 * time.Minute)
	off := false
	loud := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: due})
	quiet := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: due, Alert: domain.AlertPolicy{Enabled: &off}})

	got, err := wd.Pass(t.Context())
	require.NoError(t, err)
	require.Len(t, got, 2)
	clock.Advance(watchdog.IntervalDefault)
	_, err = wd.Pass(t.Context())
	require.NoError(t, err)

	alerts, err := st.JobAlerts(t.Context(), loud.ID, 10)
	require.NoError(t, err)
	require.Len(t, alerts, 1, "one alert for the missed fire, however many passes see it")
	require.Equal(t, domain.AlertFiring, alerts[0].State)
	require.Equal(t, 1, alerts[0].ConsecutiveFailures)
	require.Equal(t, 3, alerts[0].Threshold)
	require.Contains(t, alerts[0].LastError, "missed (unclaimed)")
	failures, alerted, err := st.AlertStreak(t.Context(), loud.ID)
	require.NoError(t, err)
	require.Equal(t, 1, failures)
	require.True(t, alerted)

	alerts, err = st.JobAlerts(t.Context(), quiet.ID, 10)
	require.NoError(t, err)
	require.Empty(t, alerts, "a job whose alerts are off raises none")
}
