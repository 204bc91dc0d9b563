package tick

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// TestPlanFreezes: a fire a freeze holds is recorded skipped with the freeze's reason, the next
// run moves on past it, and fires at and after the freeze's end (or its lifting) fire. A freeze
// of another namespace holds nothing; one of every namespace holds all.
func TestPlanFreezes(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC)
	sec := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	lifted := sec(2)
	tests := []struct {
		name   string
		freeze domain.Freeze
		fired  []time.Time
		frozen []time.Time
	}{
		{"HoldsUntilItsEnd", domain.Freeze{Namespace: "default", StartsAt: sec(-60), EndsAt: sec(3)},
			[]time.Time{sec(3), sec(4)}, []time.Time{sec(0), sec(1), sec(2)}},
		{"StartsLater", domain.Freeze{Namespace: "default", StartsAt: sec(2), EndsAt: sec(60)},
			[]time.Time{sec(0), sec(1)}, []time.Time{sec(2), sec(3), sec(4)}},
		{"EveryNamespace", domain.Freeze{Namespace: domain.AllNamespaces, StartsAt: sec(-60), EndsAt: sec(60)},
			nil, []time.Time{sec(0), sec(1), sec(2), sec(3), sec(4)}},
		{"OtherNamespace", domain.Freeze{Namespace: "payments", StartsAt: sec(-60), EndsAt: sec(60)},
			[]time.Time{sec(0), sec(1), sec(2), sec(3), sec(4)}, nil},
		{"Lifted", domain.Freeze{Namespace: "default", StartsAt: sec(-60), EndsAt: sec(60), LiftedAt: &lifted},
			[]time.Time{sec(2), sec(3), sec(4)}, []time.Time{sec(0), sec(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := tt.freeze
			f.ID, f.Reason = "0193b7c4-0000-7000-8000-0000000000f1", "year-end close"
			p := Planner{Now: now, Horizon: sec(4), MisfireThreshold: time.Minute, MaxFires: 1000, Freezes: []*domain.Freeze{&f}}
			j := job("* * * * * *", now)
			r, err := p.Plan(j)
			require.NoError(t, err)
			var fired, frozen []time.Time
			for _, fi := range r.Fires {
				fired = append(fired, fi.ScheduledAt)
			}
			for _, sk := range r.Skips {
				frozen = append(frozen, sk.ScheduledAt)
				require.True(t, strings.HasPrefix(sk.Reason, "frozen: year-end close (freeze "+f.ID), sk.Reason)
				require.Equal(t, domain.ScheduledKey(j.ID, sk.ScheduledAt), sk.Key)
			}
			require.Equal(t, tt.fired, fired)
			require.Equal(t, tt.frozen, frozen)
			require.Equal(t, sec(5), *r.Next, "the next run advances past frozen fires")
			require.True(t, j.Enabled)
		})
	}
}

// TestPlanFreezeFixedDelay: a frozen fixed_delay fire has no run to set the next one, so the
// claim sets it, every after the frozen fire.
func TestPlanFreezeFixedDelay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 31, 16, 0, 0, 0, time.UTC)
	f := &domain.Freeze{ID: "f", Namespace: "default", Reason: "r", StartsAt: now.Add(-time.Hour), EndsAt: now.Add(time.Hour)}
	p := Planner{Now: now, Horizon: now.Add(time.Second), MisfireThreshold: time.Minute, MaxFires: 1000, Freezes: []*domain.Freeze{f}}
	j := job("", now)
	j.Schedule = domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(30 * time.Second)}
	r, err := p.Plan(j)
	require.NoError(t, err)
	require.Empty(t, r.Fires)
	require.Len(t, r.Skips, 1)
	require.Equal(t, now.Add(30*time.Second), *r.Next)
}

// TestPlanFixedDelayHonoursCalendars: the executor sets a fixed_delay job's next run from the
// end of its run, without the job's calendars; a claim moves one on an excluded day to the
// start of the next allowed one, and does not fire it yet.
func TestPlanFixedDelayHonoursCalendars(t *testing.T) {
	t.Parallel()
	sat := time.Date(2026, 3, 7, 3, 0, 0, 0, time.UTC) // 10:00 on a Saturday in Ho Chi Minh City
	p := Planner{Now: sat, Horizon: sat.Add(time.Second), MisfireThreshold: time.Minute, MaxFires: 1000}
	j := job("", sat)
	j.Schedule = domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Hour), Calendars: []string{"wk"}}
	j.CalendarRules = &domain.CalendarRules{Versions: map[string]int64{"wk": 1}, Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}}
	r, err := p.Plan(j)
	require.NoError(t, err)
	require.Empty(t, r.Fires)
	require.Equal(t, time.Date(2026, 3, 8, 17, 0, 0, 0, time.UTC), *r.Next, "Monday 00:00 in Ho Chi Minh City")
}
