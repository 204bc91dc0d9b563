package schedule_test

import (
	"hash/fnv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

func ptr(t time.Time) *time.Time { return &t }

func dur(d time.Duration) domain.Duration { return domain.Duration(d) }

// steps checks successive Next results from after; "end" means Next reports the end.
func steps(t *testing.T, s *schedule.Schedule, after string, want ...string) {
	t.Helper()
	at := mustTime(t, after)
	for i, w := range want {
		got, ok := s.Next(at)
		if w == "end" {
			assert.False(t, ok, "step %d: Next(%s) = %s, want the end", i, at, got)
			return
		}
		require.True(t, ok, "step %d: Next(%s) ended, want %s", i, at, w)
		assert.Equal(t, time.UTC, got.Location())
		assert.Equal(t, w, got.Format(time.RFC3339Nano), "step %d: Next(%s)", i, at)
		at = got
	}
}

func mustParse(t *testing.T, in domain.Schedule, tz string) *schedule.Schedule {
	t.Helper()
	s, err := schedule.Parse(in, tz)
	require.NoError(t, err)
	return s
}

func TestFixedRate(t *testing.T) {
	t.Parallel()
	anchor := mustTime(t, "2025-01-01T00:00:00.25Z")
	s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedRate, Every: dur(15 * time.Minute), Anchor: &anchor}, "UTC")

	t.Run("FromBeforeTheAnchor", func(t *testing.T) {
		t.Parallel()
		steps(t, s, "2024-12-31T00:00:00Z", "2025-01-01T00:00:00.25Z", "2025-01-01T00:15:00.25Z")
	})
	t.Run("BetweenFires", func(t *testing.T) {
		t.Parallel()
		steps(t, s, "2025-01-01T00:20:00Z", "2025-01-01T00:30:00.25Z")
		steps(t, s, "2025-01-01T00:30:00.25Z", "2025-01-01T00:45:00.25Z")
		steps(t, s, "2025-01-01T00:30:00.2499Z", "2025-01-01T00:30:00.25Z")
	})
	t.Run("CenturiesLater", func(t *testing.T) {
		t.Parallel()
		after := mustTime(t, "2400-07-01T12:34:56.789Z") // beyond what a time.Duration spans
		got, ok := s.Next(after)
		require.True(t, ok)
		assert.True(t, got.After(after) && !got.Add(-15*time.Minute).After(after), "got %s", got)
		assert.Zero(t, (got.Unix()-anchor.Unix())%900)
		assert.Equal(t, anchor.Nanosecond(), got.Nanosecond())
	})
	t.Run("StartAtIsTheAnchor", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedRate, Every: dur(time.Hour), StartAt: ptr(mustTime(t, "2025-01-01T10:00:00Z"))}, "UTC")
		steps(t, s, "2025-01-01T00:00:00Z", "2025-01-01T10:00:00Z", "2025-01-01T11:00:00Z")
	})
	t.Run("Window", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedRate, Every: dur(time.Hour),
			Anchor:  ptr(mustTime(t, "2025-01-01T00:00:00Z")),
			StartAt: ptr(mustTime(t, "2025-01-01T05:30:00Z")),
			EndAt:   ptr(mustTime(t, "2025-01-01T07:00:00Z"))}, "UTC")
		steps(t, s, "2025-01-01T00:00:00Z", "2025-01-01T06:00:00Z", "2025-01-01T07:00:00Z", "end")
	})
	t.Run("ExcludedLocalDates", func(t *testing.T) {
		t.Parallel()
		// Every 6 h from 07:00 in Ho Chi Minh City; 2025-09-02 (local) is a holiday.
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedRate, Every: dur(6 * time.Hour),
			Anchor: ptr(mustTime(t, "2025-09-01T00:00:00Z")), ExcludedDates: []string{"2025-09-02"}}, "Asia/Ho_Chi_Minh")
		steps(t, s, "2025-09-01T06:00:00Z", "2025-09-01T12:00:00Z", "2025-09-02T18:00:00Z", "2025-09-03T00:00:00Z")
		fires := s.Preview(mustTime(t, "2025-09-01T12:00:00Z"), 1)
		require.Len(t, fires, 1)
		assert.Equal(t, []string{"excluded_date: no fire on 2025-09-02: it is an excluded date"}, noteStrings(fires[0].Notes))
		assert.Equal(t, "2025-09-03 01:00:00 +07", fires[0].Local.Format("2006-01-02 15:04:05 MST"))
	})
	t.Run("EverySecondSkipsExcludedDaysAtOnce", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedRate, Every: dur(time.Second),
			Anchor: ptr(mustTime(t, "2025-01-01T00:00:00Z")), ExcludedDates: []string{"2025-01-03", "2025-01-02", "2025-01-04", "2025-01-03"}}, "UTC")
		steps(t, s, "2025-01-01T23:59:59Z", "2025-01-05T00:00:00Z", "2025-01-05T00:00:01Z")
	})
}

func TestEveryDescriptorNeverDrifts(t *testing.T) {
	t.Parallel()
	s := mustParse(t, domain.Schedule{Cron: "@every 1h30m"}, "Asia/Kolkata")
	// Fires sit on the epoch grid whatever after is.
	steps(t, s, "2025-01-01T00:00:00Z", "2025-01-01T01:30:00Z", "2025-01-01T03:00:00Z")
	steps(t, s, "2025-01-01T01:29:59.999Z", "2025-01-01T01:30:00Z")
}

func TestFixedDelay(t *testing.T) {
	t.Parallel()
	t.Run("AfterTheLastRun", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: dur(10 * time.Minute)}, "UTC")
		steps(t, s, "2025-01-01T00:03:07.5Z", "2025-01-01T00:13:07.5Z", "2025-01-01T00:23:07.5Z")
	})
	t.Run("Window", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: dur(time.Hour),
			StartAt: ptr(mustTime(t, "2025-01-01T06:00:00Z")), EndAt: ptr(mustTime(t, "2025-01-01T08:00:00Z"))}, "UTC")
		steps(t, s, "2025-01-01T00:00:00Z", "2025-01-01T06:00:00Z", "2025-01-01T07:00:00Z", "2025-01-01T08:00:00Z", "end")
	})
	t.Run("ExcludedDateMovesToStartOfNextDay", func(t *testing.T) {
		t.Parallel()
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: dur(time.Hour),
			ExcludedDates: []string{"2025-09-02"}}, "Asia/Ho_Chi_Minh")
		// Finished 23:30 local on 09-01: an hour later is 00:30 on the holiday, so 00:00 on 09-03.
		steps(t, s, "2025-09-01T16:30:00Z", "2025-09-02T17:00:00Z")
		fires := s.Preview(mustTime(t, "2025-09-01T16:30:00Z"), 2)
		require.Len(t, fires, 2)
		assert.Equal(t, []string{"excluded_date: 2025-09-02 is an excluded date; moved to the start of 2025-09-03"}, noteStrings(fires[0].Notes))
		assert.Empty(t, fires[1].Notes)
	})
	t.Run("NextAllowedDayStartsAfterAGap", func(t *testing.T) {
		t.Parallel()
		// In Havana 2025-03-09 starts at 01:00 CDT (midnight does not exist).
		s := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: dur(time.Hour),
			ExcludedDates: []string{"2025-03-08"}}, "America/Havana")
		steps(t, s, "2025-03-08T04:30:00Z", "2025-03-09T05:00:00Z")
	})
}

func TestOnce(t *testing.T) {
	t.Parallel()
	s := mustParse(t, domain.Schedule{Kind: domain.ScheduleOnce, At: ptr(mustTime(t, "2025-06-01T12:00:00+07:00"))}, "")
	steps(t, s, "2025-01-01T00:00:00Z", "2025-06-01T05:00:00Z", "end")
	steps(t, s, "2025-06-01T05:00:00Z", "end")
	assert.Len(t, s.Preview(mustTime(t, "2025-01-01T00:00:00Z"), 10), 1)

	// A window and excluded dates that leave the instant alone are fine.
	w := mustParse(t, domain.Schedule{Kind: domain.ScheduleOnce, At: ptr(mustTime(t, "2025-06-01T05:00:00Z")),
		StartAt: ptr(mustTime(t, "2025-06-01T05:00:00Z")), EndAt: ptr(mustTime(t, "2025-06-01T05:00:00Z")),
		ExcludedDates: []string{"2025-05-31", "2025-06-02"}}, "")
	steps(t, w, "2025-01-01T00:00:00Z", "2025-06-01T05:00:00Z", "end")
}

func TestJitter(t *testing.T) {
	t.Parallel()
	const jitter = 10 * time.Minute
	s := mustParse(t, domain.Schedule{Cron: "0 0 9 * * ?", Jitter: dur(jitter)}, "Asia/Ho_Chi_Minh")

	h := fnv.New64a()
	_, _ = h.Write([]byte("job-1"))
	offset := time.Duration(h.Sum64() % uint64(jitter)).Truncate(time.Millisecond)
	require.NotZero(t, offset)

	seeded := s.WithSeed("job-1")
	nominal := mustTime(t, "2025-03-10T02:00:00Z")
	got, ok := seeded.Next(mustTime(t, "2025-03-10T00:00:00Z"))
	require.True(t, ok)
	assert.Equal(t, nominal.Add(offset), got)
	assert.Zero(t, got.Nanosecond()%int(time.Millisecond), "truncated to the millisecond")

	// Chaining from a jittered fire gives the next day's, and so does every instant up to it.
	next, ok := seeded.Next(got)
	require.True(t, ok)
	assert.Equal(t, nominal.Add(24*time.Hour+offset), next)
	again, ok := seeded.Next(nominal)
	require.True(t, ok)
	assert.Equal(t, got, again, "the nominal instant is before the jittered fire")

	// Deterministic, per seed; no seed and the original mean no offset.
	assert.Equal(t, got, must(seeded.WithSeed("job-1").Next(mustTime(t, "2025-03-10T00:00:00Z"))))
	assert.Equal(t, nominal, must(s.Next(mustTime(t, "2025-03-10T00:00:00Z"))))
	assert.Equal(t, nominal, must(s.WithSeed("").Next(mustTime(t, "2025-03-10T00:00:00Z"))))
	other := must(s.WithSeed("job-2").Next(mustTime(t, "2025-03-10T00:00:00Z")))
	assert.NotEqual(t, got, other)

	fires := seeded.Preview(mustTime(t, "2025-03-10T00:00:00Z"), 1)
	require.Len(t, fires, 1)
	assert.Equal(t, []string{"jitter: delayed by " + offset.String() + " of jitter from 2025-03-10 09:00:00.000 +07"}, noteStrings(fires[0].Notes))

	// Jitter on a schedule without jitter does nothing.
	plain := mustParse(t, domain.Schedule{Cron: "0 0 9 * * ?"}, "Asia/Ho_Chi_Minh").WithSeed("job-1")
	assert.Equal(t, nominal, must(plain.Next(mustTime(t, "2025-03-10T00:00:00Z"))))
}

func TestJitterAppliesAfterTheWindow(t *testing.T) {
	t.Parallel()
	// end_at is checked on the nominal instant: the last fire is at end_at plus the offset.
	end := mustTime(t, "2025-01-01T10:00:00Z")
	s := mustParse(t, domain.Schedule{Cron: "0 0 * * * ?", Jitter: dur(time.Minute), EndAt: &end}, "UTC").WithSeed("x")
	var last time.Time
	for f := range nexts(s, mustTime(t, "2025-01-01T08:30:00Z"), 10) {
		last = f
	}
	assert.True(t, last.After(end) && last.Before(end.Add(time.Minute)), "last fire %s", last)
}

// nexts yields up to n successive fires after after.
func nexts(s *schedule.Schedule, after time.Time, n int) func(func(time.Time) bool) {
	return func(yield func(time.Time) bool) {
		for range n {
			f, ok := s.Next(after)
			if !ok || !yield(f) {
				return
			}
			after = f
		}
	}
}

func must(t time.Time, ok bool) time.Time {
	if !ok {
		return time.Time{}
	}
	return t
}

func TestCronWindowAndExcludedDates(t *testing.T) {
	t.Parallel()
	s := mustParse(t, domain.Schedule{Cron: "0 0 9 * * ?",
		StartAt:       ptr(mustTime(t, "2025-09-01T00:00:00Z")),
		EndAt:         ptr(mustTime(t, "2025-09-05T02:00:00Z")),
		ExcludedDates: []string{"2025-09-03", "2025-09-02"}}, "Asia/Ho_Chi_Minh")
	fires := s.Preview(mustTime(t, "2025-08-01T00:00:00Z"), 10)
	var got []string
	for _, f := range fires {
		got = append(got, f.At.Format(time.RFC3339))
	}
	assert.Equal(t, []string{"2025-09-01T02:00:00Z", "2025-09-04T02:00:00Z", "2025-09-05T02:00:00Z"}, got)
	require.Len(t, fires, 3)
	assert.Equal(t, []string{
		"excluded_date: no fire on 2025-09-02: it is an excluded date",
		"excluded_date: no fire on 2025-09-03: it is an excluded date",
	}, noteStrings(fires[1].Notes))
	assert.Empty(t, fires[0].Notes)
	assert.Nil(t, s.Preview(mustTime(t, "2025-08-01T00:00:00Z"), 0))
}

// TestExcludedRunOfDays: a daily job with a thousand excluded days in a row still answers at once.
func TestExcludedRunOfDays(t *testing.T) {
	t.Parallel()
	dates := make([]string, schedule.MaxExcludedDates)
	for i := range dates {
		dates[i] = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format(time.DateOnly)
	}
	s := mustParse(t, domain.Schedule{Cron: "0 0 12 * * ?", ExcludedDates: dates}, "UTC")
	steps(t, s, "2024-12-31T12:00:00Z", "2027-09-28T12:00:00Z")
	r := mustParse(t, domain.Schedule{Kind: domain.ScheduleFixedRate, Every: dur(time.Minute), Anchor: ptr(mustTime(t, "2020-01-01T00:00:00Z")), ExcludedDates: dates}, "UTC")
	steps(t, r, "2024-12-31T23:59:00Z", "2027-09-28T00:00:00Z")
}
