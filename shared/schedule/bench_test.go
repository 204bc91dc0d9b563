package schedule_test

import (
	"testing"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

var benchSink time.Time

// BenchmarkNext measures one Next from a fixed instant: typical expressions, then pathological
// ones (rare dates, a schedule that never fires again, DST searches).
func BenchmarkNext(b *testing.B) {
	after := time.Date(2025, 3, 10, 3, 2, 3, 0, time.UTC)
	anchor := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		in    domain.Schedule
		tz    string
		after time.Time
	}{
		{name: "typical/every5min", in: domain.Schedule{Cron: "0 */5 * * * ?"}},
		{name: "typical/weekdays9am", in: domain.Schedule{Cron: "0 0 9 ? * MON-FRI"}},
		{name: "typical/everySecond", in: domain.Schedule{Cron: "* * * * * *"}},
		{name: "typical/every5minUTC", in: domain.Schedule{Cron: "0 */5 * * * ?"}, tz: "UTC"},
		{name: "typical/every5minNewYork", in: domain.Schedule{Cron: "0 */5 * * * ?"}, tz: "America/New_York"},
		{name: "typical/weekdays9amNewYork", in: domain.Schedule{Cron: "0 0 9 ? * MON-FRI"}, tz: "America/New_York"},
		{name: "typical/unix5field", in: domain.Schedule{Cron: "*/15 * * * *"}},
		{name: "typical/everyDescriptor", in: domain.Schedule{Cron: "@every 90s"}},
		{name: "typical/fixedRate", in: domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(time.Minute), Anchor: &anchor}},
		{name: "typical/fixedDelay", in: domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(time.Minute)}},
		{name: "typical/jitterAndExclusions", in: domain.Schedule{Cron: "0 0 9 ? * MON-FRI", Jitter: domain.Duration(time.Minute),
			ExcludedDates: []string{"2025-04-30", "2025-05-01", "2025-09-02"}}},
		{name: "pathological/leapDay2096", in: domain.Schedule{Cron: "0 0 0 29 2 ? 2096/4"}},
		{name: "pathological/lastMinus30", in: domain.Schedule{Cron: "0 0 0 L-30 * ?"}},
		{name: "pathological/februaryFiveFridays", in: domain.Schedule{Cron: "0 0 0 ? 2 6#5"}},
		{name: "pathological/yearsEnded", in: domain.Schedule{Cron: "0 15 10 ? * 6L 2002-2005"}},
		{name: "pathological/gapSkippedForever", in: domain.Schedule{Cron: "0 30 2 ? 3 1#2", DSTGap: "skip"}, tz: "America/New_York"},
		{name: "pathological/acrossFallBackBoth", in: domain.Schedule{Cron: "0 15,45 1 * * ?", DSTOverlap: "both"}, tz: "America/New_York",
			after: time.Date(2025, 11, 2, 5, 30, 0, 0, time.UTC)},
		{name: "pathological/everySecondExcludedYear", in: domain.Schedule{Cron: "* * * * * *", ExcludedDates: yearOfDates(2025)}, tz: "UTC",
			after: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		s, err := schedule.Parse(c.in, c.tz)
		if err != nil {
			b.Fatalf("%s: %v", c.name, err)
		}
		s = s.WithSeed("job")
		from := after
		if !c.after.IsZero() {
			from = c.after
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink, _ = s.Next(from)
			}
		})
	}
}

func yearOfDates(year int) []string {
	var dates []string
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
		dates = append(dates, d.Format(time.DateOnly))
	}
	return dates
}

var benchSchedule *schedule.Schedule

func BenchmarkParse(b *testing.B) {
	for _, c := range []struct{ name, cron, tz string }{
		{"every5min", "0 */5 * * * ?", ""},
		{"weekdays", "0 0 9 ? * MON-FRI", "America/New_York"},
		{"quartzFull", "0 10,44 14 ? 3 WED 2025-2030", "Europe/London"},
		{"unix", "*/15 9-17 * * 1-5", "UTC"},
		{"neverFires", "0 0 0 31 2 ?", "UTC"},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSchedule, _ = schedule.Parse(domain.Schedule{Cron: c.cron}, c.tz)
			}
		})
	}
}

func BenchmarkPreview(b *testing.B) {
	s, err := schedule.Parse(domain.Schedule{Cron: "0 0 9 ? * MON-FRI"}, "")
	if err != nil {
		b.Fatal(err)
	}
	after := time.Date(2025, 3, 10, 3, 2, 3, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Preview(after, 10)
	}
}
