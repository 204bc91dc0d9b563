package tick

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

func job(cron string, next time.Time) *domain.Job {
	return &domain.Job{
		ID: "0193b7c4-0000-7000-8000-000000000001", Name: "j", Namespace: "default", Kind: domain.KindHTTP,
		HTTP: &domain.HTTPSpec{Method: "GET", URL: "http://example.test/"}, Schedule: domain.Schedule{Cron: cron},
		Timezone: domain.DefaultTimezone, Enabled: true, Timeout: domain.Duration(time.Second), NextRunAt: &next, Version: 3,
	}
}

func instants(t *testing.T, j *domain.Job, p Planner) ([]time.Time, *time.Time) {
	t.Helper()
	r, err := p.Plan(j)
	require.NoError(t, err)
	var out []time.Time
	for _, f := range r.Fires {
		out = append(out, f.ScheduledAt)
	}
	return out, r.Next
}

func TestPlan(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 10, 0, 0, 300e6, time.UTC) // 17:00:00.3 in Ho Chi Minh City
	sec := func(s int) time.Time { return now.Truncate(time.Second).Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name      string
		cron      string
		next      time.Time
		horizon   time.Duration
		maxFires  int
		wantFires []time.Time
		wantNext  time.Time
	}{
		{"EverySecondWithinLookahead", "* * * * * *", sec(0), time.Second, 100, []time.Time{sec(0), sec(1)}, sec(2)},
		{"NotYetDue", "*/10 * * * * *", sec(10), time.Second, 100, nil, sec(10)},
		{"LateWithinThresholdFiresEach", "* * * * * *", sec(-3), 0, 100, []time.Time{sec(-3), sec(-2), sec(-1), sec(0)}, sec(1)},
		// fire_once: the fires older than the threshold collapse into the latest of them (09:59:00,
		// just past the one-minute threshold); the fires within it run as usual.
		{"LatePastThresholdCollapses", "* * * * * *", sec(-3600), 0, 100, rangeSecs(sec, -60, 0), sec(1)},
		{"CappedPerClaim", "* * * * * *", sec(-10), 0, 4, []time.Time{sec(-10), sec(-9), sec(-8), sec(-7)}, sec(-6)},
		// 09:00 local is 02:00Z: a daily job's next run after today's 17:00 local is tomorrow 02:00Z.
		{"DailyInZone", "0 0 9 * * *", time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC), 0, 100,
			[]time.Time{time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)}, time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := Planner{Now: now, Horizon: now.Add(tt.horizon), MisfireThreshold: time.Minute, MaxFires: tt.maxFires}
			fires, next := instants(t, job(tt.cron, tt.next), p)
			require.Equal(t, tt.wantFires, fires)
			require.NotNil(t, next)
			require.Equal(t, tt.wantNext, *next)
		})
	}
}

func rangeSecs(sec func(int) time.Time, from, to int) []time.Time {
	var out []time.Time
	for s := from; s <= to; s++ {
		out = append(out, sec(s))
	}
	return out
}

func TestPlanFireCarriesSnapshotAndKey(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	j := job("* * * * * *", now)
	r, err := Planner{Now: now, Horizon: now, MisfireThreshold: time.Minute, MaxFires: 10, Instance: "tick-7"}.Plan(j)
	require.NoError(t, err)
	require.Len(t, r.Fires, 1)
	f := r.Fires[0]
	require.Equal(t, j.ID+":1767225600000", f.Key)
	var d event.Due
	require.NoError(t, json.Unmarshal(f.Payload, &d))
	want := event.DueFor(j, now, domain.TriggerSchedule, f.Key)
	// The claim rides the payload, for the fire's timeline.
	want.ClaimedBy, want.ClaimedAt = "tick-7", &now
	require.Equal(t, want, d)
}

func TestPlanRejectsBrokenJobs(t *testing.T) {
	t.Parallel()
	now := time.Now()
	p := Planner{Now: now, Horizon: now, MisfireThreshold: time.Minute, MaxFires: 10}
	_, err := p.Plan(job("not cron", now))
	require.ErrorContains(t, err, "schedule.cron")
	j := job("* * * * * *", now)
	j.NextRunAt = nil
	_, err = p.Plan(j)
	require.Error(t, err)
}

// TestPlanProperties checks, for random schedules and claim instants, that a plan's fires are
// strictly increasing, never beyond the horizon, never more than MaxFires, that the next run
// follows the last fire, and that only the oldest fire may precede the misfire cutoff.
func TestPlanProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		step := rapid.SampledFrom([]string{"*", "*/2", "*/7", "5", "0,30"}).Draw(rt, "seconds")
		minute := rapid.SampledFrom([]string{"*", "*/5", "0"}).Draw(rt, "minutes")
		cron := step + " " + minute + " * * * *"
		now := time.Unix(rapid.Int64Range(1.7e9, 2.0e9).Draw(rt, "now"), rapid.Int64Range(0, 999e6).Draw(rt, "ns")).UTC()
		lag := time.Duration(rapid.Int64Range(-5, 7200).Draw(rt, "lag_s")) * time.Second
		lookahead := time.Duration(rapid.Int64Range(0, 3000).Draw(rt, "lookahead_ms")) * time.Millisecond
		maxFires := rapid.IntRange(1, 50).Draw(rt, "max")
		threshold := time.Minute

		p := Planner{Now: now, Horizon: now.Add(lookahead), MisfireThreshold: threshold, MaxFires: maxFires}
		r, err := p.Plan(job(cron, now.Add(-lag).Truncate(time.Second)))
		if err != nil {
			rt.Fatal(err)
		}
		fires, next := r.Fires, r.Next
		if len(fires) > maxFires {
			rt.Fatalf("%d fires > max %d", len(fires), maxFires)
		}
		cutoff := now.Add(-threshold)
		for i, f := range fires {
			if f.ScheduledAt.After(p.Horizon) {
				rt.Fatalf("fire %s after horizon %s", f.ScheduledAt, p.Horizon)
			}
			if i > 0 && !f.ScheduledAt.After(fires[i-1].ScheduledAt) {
				rt.Fatalf("fires not increasing at %d", i)
			}
			if i > 0 && f.ScheduledAt.Before(cutoff) {
				rt.Fatalf("fire %d at %s is older than the misfire cutoff %s", i, f.ScheduledAt, cutoff)
			}
		}
		fired := map[time.Time]bool{}
		for _, f := range fires {
			fired[f.ScheduledAt] = true
		}
		for _, sk := range r.Skips {
			if !sk.ScheduledAt.Before(cutoff) || fired[sk.ScheduledAt] {
				rt.Fatalf("skip %s: only misfires that did not fire are skipped", sk.ScheduledAt)
			}
		}
		if next == nil {
			rt.Fatal("an endless schedule returned no next run")
		}
		if len(fires) > 0 && !next.After(fires[len(fires)-1].ScheduledAt) {
			rt.Fatalf("next %s not after last fire", next)
		}
		if len(fires) < maxFires && !next.After(p.Horizon) {
			rt.Fatalf("next %s within horizon although the cap was not reached", next)
		}
	})
}
