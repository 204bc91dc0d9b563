package alert_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/alert"
	"github.com/vecron/vecron/shared/domain"
)

// Exactly one alert for every streak that reaches the threshold, raised by the failure that
// reaches it; one recovery after each streak that alerted, at the success that ends it; nothing
// for a shorter streak, and nothing at all when alerts are off. Neutral outcomes change nothing.
func TestStreakAlertsOncePerStreakAndRecovers(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		threshold := rapid.IntRange(0, 6).Draw(rt, "threshold")
		outcomes := rapid.SliceOfN(rapid.SampledFrom([]alert.Outcome{alert.Neutral, alert.Failed, alert.Succeeded}), 0, 60).Draw(rt, "outcomes")

		// The oracle: cut the outcomes into runs of failures at each success.
		var want []alert.Notice
		run := 0
		for _, o := range outcomes {
			switch o {
			case alert.Failed:
				run++
				if threshold > 0 && run == threshold {
					want = append(want, alert.Notice{State: domain.AlertFiring, Failures: threshold})
				}
			case alert.Succeeded:
				if threshold > 0 && run >= threshold {
					want = append(want, alert.Notice{State: domain.AlertResolved, Failures: run})
				}
				run = 0
			}
		}
		got := alert.Notices(outcomes, threshold)
		require.Equal(rt, want, got)
		for i, n := range got {
			// Alerts and recoveries alternate, an alert first.
			require.Equal(rt, map[bool]domain.AlertState{true: domain.AlertFiring, false: domain.AlertResolved}[i%2 == 0], n.State)
		}
	})
}

func TestOutcomeOfCountsOnlyEndsThatRan(t *testing.T) {
	t.Parallel()
	for status, want := range map[domain.ExecutionStatus]alert.Outcome{
		domain.StatusSucceeded: alert.Succeeded, domain.StatusFailed: alert.Failed, domain.StatusTimedOut: alert.Failed,
		domain.StatusDeadLettered: alert.Failed, domain.StatusSkipped: alert.Neutral, domain.StatusCancelled: alert.Neutral,
		domain.StatusQueued: alert.Neutral, domain.StatusRunning: alert.Neutral,
	} {
		require.Equal(t, want, alert.OutcomeOf(status), status)
	}
}
