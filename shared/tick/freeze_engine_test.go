package tick_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

// TestFreezeSkipsFiresUntilItsEnd: while a freeze holds a namespace, the tick records each fire
// of its jobs skipped with the freeze's reason and publishes none of them; the jobs stay enabled
// and their next runs move on, and the fires from the freeze's end on are published as usual. A
// job of another namespace is not held.
func TestFreezeSkipsFiresUntilItsEnd(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	_, js, names := testenv.NATS(t)
	start := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }

	frozen := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "payments", NextRunAt: at(1)})
	other := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "reports", NextRunAt: at(1)})
	freeze := &domain.Freeze{ID: uuid.NewString(), Namespace: "payments", Reason: "year-end close",
		StartsAt: start, EndsAt: at(4), CreatedAt: start}
	require.NoError(t, st.CreateFreeze(t.Context(), freeze))

	col := collect(t, js, names)
	_, stop := startEngine(t, st, js, names, tick.Config{})
	// Whenever the engine claims them, the fires before the freeze's end are held and those
	// after it are not: the outcome does not depend on timing.
	got := col.waitFor(t, 20*time.Second, "the fires from the freeze's end on", func(r []received) bool {
		return len(instantsOf(r, frozen.ID)) >= 2
	})
	stop()
	for _, m := range got {
		if m.jobID == frozen.ID {
			require.False(t, m.at.Before(at(4)), "fire at %s published during the freeze", m.at)
		}
	}
	require.Contains(t, instantsOf(got, other.ID), at(1), "a job of another namespace fires during the freeze")

	skipped, err := st.ListExecutions(t.Context(), frozen.ID, domain.ExecutionFilter{Statuses: []domain.ExecutionStatus{domain.StatusSkipped}}, nil, 100)
	require.NoError(t, err)
	var skippedAt []time.Time
	for _, x := range skipped {
		require.True(t, strings.HasPrefix(x.Error, "frozen: year-end close (freeze "+freeze.ID), x.Error)
		require.Equal(t, domain.TriggerSchedule, x.Trigger)
		skippedAt = append(skippedAt, x.ScheduledAt)
	}
	require.ElementsMatch(t, []time.Time{at(1), at(2), at(3)}, skippedAt)
	require.Equal(t, at(4), instantsOf(got, frozen.ID)[0], "the first fire at the freeze's end runs")

	j, err := st.GetJob(t.Context(), frozen.ID)
	require.NoError(t, err)
	require.True(t, j.Enabled, "a freeze leaves the job's enabled flag alone")
	require.EqualValues(t, 1, j.Version)
	require.True(t, j.NextRunAt.After(at(4)))
}

func instantsOf(r []received, jobID string) []time.Time {
	var out []time.Time
	for _, m := range r {
		if m.jobID == jobID {
			out = append(out, m.at)
		}
	}
	return out
}
