package schedule_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// TestExpectedBerlinSpringForward: 02:30 does not exist in Berlin on 2026-03-29. Under the
// documented rule (shift_forward) the fire happens when the gap ends, 03:00 CEST, and says so;
// under dst_gap skip that day names the instant with reason dst_gap and no fire.
func TestExpectedBerlinSpringForward(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 3, 28, 0, 0, 0, 0, time.UTC)
	to := from.Add(72 * time.Hour)
	gapEnd := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) // 03:00 CEST

	shift, err := schedule.Parse(domain.Schedule{Cron: "0 30 2 * * ?"}, "Europe/Berlin")
	require.NoError(t, err)
	list, more := shift.Expected(from, to, 10)
	require.False(t, more)
	require.Len(t, list, 3)
	require.Equal(t, schedule.ExpectedFire, list[1].Kind)
	require.Equal(t, gapEnd, list[1].At)
	require.Len(t, list[1].Notes, 1)
	require.Equal(t, schedule.NoteDSTGapShifted, list[1].Notes[0].Kind)

	skip, err := schedule.Parse(domain.Schedule{Cron: "0 30 2 * * ?", DSTGap: "skip"}, "Europe/Berlin")
	require.NoError(t, err)
	list, _ = skip.Expected(from, to, 10)
	require.Len(t, list, 3)
	require.Equal(t, schedule.ExpectedDSTGap, list[1].Kind)
	require.Equal(t, gapEnd, list[1].At)
	require.Contains(t, list[1].Detail, "2026-03-29 02:30 does not exist in Europe/Berlin")
	require.Equal(t, schedule.ExpectedFire, list[2].Kind)
}

// TestExpectedNamesExcludedDatesAndTheWindow: a calendar's day and the instants outside
// start_at/end_at are named with their reason; fixed_delay names none.
func TestExpectedNamesExcludedDatesAndTheWindow(t *testing.T) {
	t.Parallel()
	start, end := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	s, err := schedule.Parse(domain.Schedule{Cron: "0 0 9 * * ?", StartAt: &start, EndAt: &end, ExcludedDates: []string{"2026-05-03"}}, "UTC")
	require.NoError(t, err)
	list, more := s.Expected(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC), 100)
	require.False(t, more)
	var kinds []string
	for _, e := range list {
		kinds = append(kinds, e.At.Format("01-02")+" "+e.Kind)
	}
	require.Equal(t, []string{"05-01 outside_window", "05-02 fire", "05-03 excluded_date", "05-04 fire", "05-05 outside_window"}, kinds)
	require.Contains(t, list[2].Detail, "no fire on 2026-05-03")

	list, more = s.Expected(time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC), 2)
	require.True(t, more)
	require.Len(t, list, 2)

	delay, err := schedule.Parse(domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute)}, "UTC")
	require.NoError(t, err)
	list, _ = delay.Expected(start, end, 10)
	require.Empty(t, list)
}

// TestPropertyExpectedAgreesWithNext: over random cron and fixed_rate schedules in zones with
// DST, with windows, excluded dates, jitter and both gap policies, Expected's fires are exactly
// Next's fires in the range; every other entry is an instant the schedule without its calendars
// and window fires (or a skipped DST wall), judged as the brute-force reference judges it.
func TestPropertyExpectedAgreesWithNext(t *testing.T) {
	t.Parallel()
	zones := []string{"Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Ho_Chi_Minh", "UTC"}
	rapid.Check(t, func(t *rapid.T) {
		tz := rapid.SampledFrom(zones).Draw(t, "tz")
		loc, err := time.LoadLocation(tz)
		require.NoError(t, err)
		// Around a spring-forward or fall-back of the northern or southern hemisphere.
		base := rapid.SampledFrom([]time.Time{
			time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 10, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 24, 0, 0, 0, 0, time.UTC),
			time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 4, 0, 0, 0, 0, time.UTC),
		}).Draw(t, "base")
		from := base.Add(time.Duration(rapid.IntRange(0, 48*60).Draw(t, "from")) * time.Minute)
		to := from.Add(time.Duration(rapid.IntRange(1, 72*60).Draw(t, "span")) * time.Minute)

		in := domain.Schedule{DSTGap: rapid.SampledFrom([]string{"", "skip"}).Draw(t, "gap")}
		if rapid.Bool().Draw(t, "rate") {
			anchor := base.Add(-time.Duration(rapid.IntRange(0, 600).Draw(t, "anchor")) * time.Minute)
			in = domain.Schedule{Kind: domain.ScheduleFixedRate, Anchor: &anchor,
				Every: domain.Duration(time.Duration(rapid.IntRange(5, 300).Draw(t, "every")) * time.Minute)}
		} else {
			in.Cron = fmt.Sprintf("0 %d %s * * ?", rapid.IntRange(0, 59).Draw(t, "minute"),
				rapid.SampledFrom([]string{"*", "*/3", "2", "2,3", "1-4", "0"}).Draw(t, "hour"))
		}
		if rapid.Bool().Draw(t, "jitter") {
			in.Jitter = domain.Duration(time.Duration(rapid.IntRange(1, 240).Draw(t, "jitterSeconds")) * time.Second)
		}
		free, err := schedule.Parse(in, tz)
		require.NoError(t, err)
		free = free.WithSeed("job")

		if rapid.Bool().Draw(t, "window") {
			start := from.Add(time.Duration(rapid.IntRange(-600, 2000).Draw(t, "start")) * time.Minute)
			end := start.Add(time.Duration(rapid.IntRange(60, 3000).Draw(t, "length")) * time.Minute)
			in.StartAt, in.EndAt = &start, &end
		}
		for _, off := range rapid.SliceOfNDistinct(rapid.IntRange(0, 4), 0, 2, func(i int) int { return i }).Draw(t, "excluded") {
			in.ExcludedDates = append(in.ExcludedDates, from.In(loc).AddDate(0, 0, off).Format(time.DateOnly))
		}
		s, err := schedule.Parse(in, tz)
		require.NoError(t, err)
		s = s.WithSeed("job")

		list, more := s.Expected(from, to, 10_000)
		require.False(t, more)
		var fires, others []time.Time
		for i, e := range list {
			require.False(t, e.At.Before(from) || !e.At.Before(to), "entry %v outside the range", e)
			if i > 0 {
				require.False(t, e.At.Before(list[i-1].At), "entries out of order")
			}
			switch e.Kind {
			case schedule.ExpectedFire:
				fires = append(fires, e.At)
			case schedule.ExpectedDSTGap:
				require.Equal(t, "skip", in.DSTGap)
			default:
				others = append(others, e.At)
				require.NotEmpty(t, e.Detail)
			}
		}
		// The reference: Next, one instant after another.
		var want []time.Time
		for f, ok := s.Next(from.Add(-time.Nanosecond)); ok && f.Before(to); f, ok = s.Next(f) {
			want = append(want, f)
		}
		require.Equal(t, want, fires, "fires of %+v", in)
		// Every instant of the schedule without calendars and window is a fire or is named.
		var all []time.Time
		for f, ok := free.Next(from.Add(-time.Nanosecond)); ok && f.Before(to); f, ok = free.Next(f) {
			all = append(all, f)
		}
		for _, a := range all {
			require.True(t, slices.Contains(fires, a) || slices.Contains(others, a), "instant %s neither fired nor named", a)
		}
		for _, o := range others {
			require.False(t, slices.Contains(want, o), "instant %s named and fired", o)
		}
	})
}
