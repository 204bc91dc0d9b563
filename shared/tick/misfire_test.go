package tick

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

func secondsJob(policy string, maxCatchup int, next time.Time) *domain.Job {
	j := job("* * * * * *", next)
	j.MisfirePolicy, j.MaxCatchup = policy, maxCatchup
	return j
}

func TestPlanMisfirePolicies(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	p := Planner{Now: now, Horizon: now, MisfireThreshold: 10 * time.Second, MaxFires: 1000}
	// The tick was down from -40 s: fires -40 … -11 are misfires (30 of them), -10 … 0 are not.
	onTime := func() []time.Time {
		var out []time.Time
		for s := -10; s <= 0; s++ {
			out = append(out, sec(s))
		}
		return out
	}
	tests := []struct {
		policy     string
		maxCatchup int
		fired      []time.Time
		skipped    int
	}{
		{domain.MisfireFireOnce, 10, append([]time.Time{sec(-11)}, onTime()...), 29},
		{domain.MisfireSkip, 10, onTime(), 30},
		{domain.MisfireFireAll, 5, append([]time.Time{sec(-15), sec(-14), sec(-13), sec(-12), sec(-11)}, onTime()...), 25},
		{domain.MisfireFireAll, 100, append(secsRange(sec, -40, -11), onTime()...), 0},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			t.Parallel()
			r, err := p.Plan(secondsJob(tt.policy, tt.maxCatchup, sec(-40)))
			require.NoError(t, err)
			var fired []time.Time
			for _, f := range r.Fires {
				fired = append(fired, f.ScheduledAt)
			}
			require.Equal(t, tt.fired, fired)
			require.Len(t, r.Skips, tt.skipped)
			firedSet := map[time.Time]bool{}
			for _, f := range fired {
				firedSet[f] = true
			}
			for _, sk := range r.Skips {
				require.False(t, firedSet[sk.ScheduledAt], "fire %s both fired and skipped", sk.ScheduledAt)
				require.True(t, sk.ScheduledAt.Before(sec(-10)), "only misfires are skipped")
				require.Contains(t, sk.Reason, tt.policy)
			}
			require.Equal(t, sec(1), *r.Next)
		})
	}
}

func secsRange(sec func(int) time.Time, from, to int) []time.Time {
	var out []time.Time
	for s := from; s <= to; s++ {
		out = append(out, sec(s))
	}
	return out
}

func TestPlanLongOutageIsSummarised(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	p := Planner{Now: now, Horizon: now, MisfireThreshold: time.Minute, MaxFires: 1000}
	// A day of every-second fires missed.
	r, err := p.Plan(secondsJob(domain.MisfireFireOnce, 10, now.Add(-24*time.Hour)))
	require.NoError(t, err)
	require.Len(t, r.Skips, SkipRecordLimit+1)
	summary := r.Skips[SkipRecordLimit]
	require.Contains(t, summary.Key, ":misfire:")
	require.True(t, strings.HasPrefix(summary.Reason, "every fire from "), summary.Reason)
	// One catch-up fire (the latest misfire) plus the minute of fires within the threshold.
	require.Len(t, r.Fires, 1+61)
	require.Equal(t, now.Add(-time.Minute-time.Second), r.Fires[0].ScheduledAt)
}

func TestPlanFixedDelayAndOnce(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)
	p := Planner{Now: now, Horizon: now.Add(time.Second), MisfireThreshold: time.Minute, MaxFires: 1000}

	delay := job("", now)
	delay.Schedule = domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(30 * time.Second)}
	r, err := p.Plan(delay)
	require.NoError(t, err)
	require.Len(t, r.Fires, 1)
	require.Nil(t, r.Next, "a fixed_delay job waits for its execution to finish")

	late := job("", now.Add(-time.Hour))
	late.Schedule = delay.Schedule
	late.MisfirePolicy = domain.MisfireSkip
	r, err = p.Plan(late)
	require.NoError(t, err)
	require.Empty(t, r.Fires)
	require.Len(t, r.Skips, 1)
	require.Equal(t, now.Add(30*time.Second), *r.Next)

	at := now.Add(500 * time.Millisecond)
	once := job("", at)
	once.Schedule = domain.Schedule{Kind: domain.ScheduleOnce, At: &at}
	r, err = p.Plan(once)
	require.NoError(t, err)
	require.Len(t, r.Fires, 1)
	require.Equal(t, at, r.Fires[0].ScheduledAt)
	require.Nil(t, r.Next, "a once job has nothing after its fire")
}
