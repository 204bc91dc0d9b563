package schedule_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// withCalendars parses sched in tz under the calendars, resolved.
func withCalendars(t testing.TB, sched domain.Schedule, tz string, cals ...*domain.Calendar) *schedule.Schedule {
	t.Helper()
	for _, c := range cals {
		require.NoError(t, schedule.CheckCalendar(c))
	}
	rules, err := schedule.ResolveCalendars(cals)
	require.NoError(t, err)
	s, err := schedule.Parse(sched, tz)
	require.NoError(t, err)
	s, err = s.WithCalendars(rules)
	require.NoError(t, err)
	return s
}

func fires(s *schedule.Schedule, after time.Time, n int) []string {
	var out []string
	for t, ok := s.Next(after); ok && len(out) < n; t, ok = s.Next(t) {
		out = append(out, t.In(s.Location()).Format("2006-01-02 Mon 15:04 MST"))
	}
	return out
}

// weekdaysOnly is a new slice each time: CheckCalendar normalises a calendar's weekdays in place,
// so calendars of parallel tests must not share one.
func weekdaysOnly() []string { return []string{"mon", "tue", "wed", "thu", "fri"} }

// TestCalendarSkipsHolidaysInHoChiMinhCity: a business-day job of a bank skips Tết (2026-02-16
// to 02-20 here), weekends and a yearly holiday, in a zone without daylight saving.
func TestCalendarSkipsHolidaysInHoChiMinhCity(t *testing.T) {
	t.Parallel()
	vn := &domain.Calendar{Name: "vn-holidays", Namespace: "*", Weekdays: weekdaysOnly(), ExcludedDates: []domain.CalendarDate{
		{Date: "2026-02-16", Label: "Tết"}, {Date: "2026-02-17", Label: "Tết"}, {Date: "2026-02-18", Label: "Tết"},
		{Date: "2026-02-19", Label: "Tết"}, {Date: "2026-02-20", Label: "Tết"}, {Date: "09-02", Label: "Quốc khánh"},
	}}
	s := withCalendars(t, domain.Schedule{Cron: "0 0 8 * * ?"}, "Asia/Ho_Chi_Minh", vn)
	require.Equal(t, []string{
		"2026-02-13 Fri 08:00 +07", "2026-02-23 Mon 08:00 +07", "2026-02-24 Tue 08:00 +07",
	}, fires(s, time.Date(2026, 2, 12, 2, 0, 0, 0, time.UTC), 3))
	// 2026-09-02 is a Wednesday; the yearly holiday holds in 2027 (a Thursday) too.
	require.Equal(t, []string{"2026-09-01 Tue 08:00 +07", "2026-09-03 Thu 08:00 +07"}, fires(s, time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), 2))
	require.Equal(t, []string{"2027-09-01 Wed 08:00 +07", "2027-09-03 Fri 08:00 +07"}, fires(s, time.Date(2027, 9, 1, 0, 0, 0, 0, time.UTC), 2))

	// The preview says why the days were skipped.
	p := s.Preview(time.Date(2026, 2, 14, 0, 0, 0, 0, time.UTC), 1)
	require.Len(t, p, 1)
	var notes []string
	for _, n := range p[0].Notes {
		notes = append(notes, n.Detail)
	}
	require.Equal(t, []string{
		"no fire on 2026-02-14: a Saturday, not a business day of its calendars",
		"no fire on 2026-02-15: a Sunday, not a business day of its calendars",
		"no fire on 2026-02-16: excluded by vn-holidays: Tết",
		"no fire on 2026-02-17: excluded by vn-holidays: Tết",
		"no fire on 2026-02-18: excluded by vn-holidays: Tết",
		"no fire on 2026-02-19: excluded by vn-holidays: Tết",
		"no fire on 2026-02-20: excluded by vn-holidays: Tết",
		"no fire on 2026-02-21: a Saturday, not a business day of its calendars",
		"no fire on 2026-02-22: a Sunday, not a business day of its calendars",
	}, notes)
}

// TestCalendarDatesAreLocalAcrossDST: in New York the clocks spring forward on Sunday
// 2026-03-08; a business-day job at 02:30 with the Monday after excluded fires on Friday in EST,
// then on Tuesday in EDT. The date of a fire is its local date, not its UTC one.
func TestCalendarDatesAreLocalAcrossDST(t *testing.T) {
	t.Parallel()
	cal := &domain.Calendar{Name: "ny", Namespace: "ops", Weekdays: weekdaysOnly(), ExcludedDates: []domain.CalendarDate{{Date: "2026-03-09"}}}
	s := withCalendars(t, domain.Schedule{Cron: "0 30 2 * * ?"}, "America/New_York", cal)
	require.Equal(t, []string{"2026-03-06 Fri 02:30 EST", "2026-03-10 Tue 02:30 EDT", "2026-03-11 Wed 02:30 EDT"},
		fires(s, time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC), 3))
	// 23:30 local on Friday 2026-03-06 is Saturday in UTC: it fires, on its local business day.
	late := withCalendars(t, domain.Schedule{Cron: "0 30 23 * * ?"}, "America/New_York", cal)
	require.Equal(t, []string{"2026-03-05 Thu 23:30 EST", "2026-03-06 Fri 23:30 EST", "2026-03-10 Tue 23:30 EDT"},
		fires(late, time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC), 3))
}

// TestCalendarKindsAndNeverFires: fixed_rate, fixed_delay and once schedules honour calendars
// too, and calendars that leave a schedule no fire are refused on schedule.calendars.
func TestCalendarKindsAndNeverFires(t *testing.T) {
	t.Parallel()
	wk := &domain.Calendar{Name: "wk", Namespace: "*", Weekdays: weekdaysOnly()}
	anchor := time.Date(2026, 3, 6, 1, 0, 0, 0, time.UTC) // a Friday, 08:00 in Ho Chi Minh City
	rate := withCalendars(t, domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(24 * time.Hour), Anchor: &anchor}, "", wk)
	require.Equal(t, []string{"2026-03-06 Fri 08:00 +07", "2026-03-09 Mon 08:00 +07"}, fires(rate, anchor.Add(-time.Second), 2))

	delay := withCalendars(t, domain.Schedule{Kind: domain.ScheduleFixedDelay, Every: domain.Duration(20 * time.Hour)}, "", wk)
	next, ok := delay.Next(anchor) // Friday 08:00 + 20 h is Saturday 04:00: moved to Monday's start
	require.True(t, ok)
	require.Equal(t, "2026-03-09 Mon 00:00 +07", next.In(delay.Location()).Format("2006-01-02 Mon 15:04 MST"))
	admitted, ok := delay.Admit(anchor.Add(20 * time.Hour))
	require.True(t, ok)
	require.Equal(t, next, admitted)

	bad := func(sched domain.Schedule, cals ...*domain.Calendar) string {
		t.Helper()
		rules, err := schedule.ResolveCalendars(cals)
		if err == nil {
			var s *schedule.Schedule
			s, err = schedule.Parse(sched, "")
			require.NoError(t, err)
			_, err = s.WithCalendars(rules)
		}
		var verr *domain.ValidationError
		require.True(t, errors.As(err, &verr), "%v", err)
		require.Equal(t, "schedule.calendars", verr.Fields[0].Field)
		return verr.Fields[0].Reason
	}
	at := time.Date(2026, 3, 7, 3, 0, 0, 0, time.UTC) // a Saturday
	require.Contains(t, bad(domain.Schedule{Kind: domain.ScheduleOnce, At: &at}, wk), "2026-03-07 is excluded")
	require.Contains(t, bad(domain.Schedule{Cron: "0 0 9 ? * SAT,SUN"}, wk), "never fires")
	require.Contains(t, bad(domain.Schedule{Cron: "@daily"}, wk, &domain.Calendar{Name: "we", Weekdays: []string{"sat", "sun"}}), "no weekday in common")
}

// TestCheckCalendarNamesTheField: every mistake in a calendar is named.
func TestCheckCalendarNamesTheField(t *testing.T) {
	t.Parallel()
	c := &domain.Calendar{Name: "Bad Name", Namespace: "a b", Weekdays: []string{"Mon", "funday", "mon"},
		ExcludedDates: []domain.CalendarDate{{Date: "2026-02-30"}, {Date: "13-01"}, {Date: "02-29", Label: "leap\nday"}, {Date: "01-01"}, {Date: "01-01"}}}
	err := schedule.CheckCalendar(c)
	var verr *domain.ValidationError
	require.True(t, errors.As(err, &verr))
	var got []string
	for _, f := range verr.Fields {
		got = append(got, f.Field)
	}
	require.ElementsMatch(t, []string{"name", "namespace", "weekdays[1]", "weekdays[2]", "excluded_dates[0].date",
		"excluded_dates[1].date", "excluded_dates[2].label", "excluded_dates[4].date"}, got)

	year := &domain.Calendar{Name: "all", Namespace: "*"}
	for m := 1; m <= 12; m++ {
		for d := 1; d <= []int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m]; d++ {
			year.ExcludedDates = append(year.ExcludedDates, domain.CalendarDate{Date: fmt.Sprintf("%02d-%02d", m, d)})
		}
	}
	require.ErrorContains(t, schedule.CheckCalendar(year), "excluded_dates: excludes every day of the year")
	ok := &domain.Calendar{Name: "vn-holidays", Namespace: "*", Weekdays: []string{"MON", "Tue"}}
	require.NoError(t, schedule.CheckCalendar(ok))
	require.Equal(t, []string{"mon", "tue"}, ok.Weekdays)
}

// TestCalendarExclusionProperty: under any calendar rules that leave days allowed, in zones with
// and without daylight saving, every fire falls on an allowed local date, and the fires of the
// schedule without the calendars that come before it all fall on excluded dates — none is lost.
func TestCalendarExclusionProperty(t *testing.T) {
	t.Parallel()
	zones := []string{"Asia/Ho_Chi_Minh", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"}
	rapid.Check(t, func(t *rapid.T) {
		tz := rapid.SampledFrom(zones).Draw(t, "tz")
		loc, err := time.LoadLocation(tz)
		require.NoError(t, err)
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		cal := &domain.Calendar{Name: "c", Namespace: "*"}
		allowed := rapid.SliceOfNDistinct(rapid.IntRange(0, 6), 1, 7, func(i int) int { return i }).Draw(t, "weekdays")
		names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
		for _, wd := range allowed {
			cal.Weekdays = append(cal.Weekdays, names[wd])
		}
		for _, off := range rapid.SliceOfNDistinct(rapid.IntRange(0, 400), 0, 60, func(i int) int { return i }).Draw(t, "dates") {
			cal.ExcludedDates = append(cal.ExcludedDates, domain.CalendarDate{Date: base.AddDate(0, 0, off).Format(time.DateOnly)})
		}
		for _, yd := range rapid.SliceOfNDistinct(rapid.IntRange(0, 364), 0, 20, func(i int) int { return i }).Draw(t, "yearly") {
			cal.ExcludedDates = append(cal.ExcludedDates, domain.CalendarDate{Date: base.AddDate(0, 0, yd).Format("01-02")})
		}
		rules, err := schedule.ResolveCalendars([]*domain.Calendar{cal})
		require.NoError(t, err)
		excluded := func(local time.Time) bool {
			if !slices.Contains(allowed, int(local.Weekday())) {
				return true
			}
			return slices.Contains(rules.Dates, local.Format(time.DateOnly)) || slices.Contains(rules.Yearly, local.Format("01-02"))
		}
		expr := fmt.Sprintf("0 %d %d * * ?", rapid.IntRange(0, 59).Draw(t, "minute"), rapid.IntRange(0, 23).Draw(t, "hour"))
		if rapid.Bool().Draw(t, "hourly") {
			expr = fmt.Sprintf("0 %d */%d * * ?", rapid.IntRange(0, 59).Draw(t, "minute"), rapid.IntRange(1, 12).Draw(t, "step"))
		}
		free, err := schedule.Parse(domain.Schedule{Cron: expr}, tz)
		require.NoError(t, err)
		s, err := free.WithCalendars(rules)
		require.NoError(t, err)
		after := base.Add(time.Duration(rapid.Int64Range(0, 400*24*3600).Draw(t, "after")) * time.Second)
		for range 5 {
			f, ok := s.Next(after)
			require.True(t, ok)
			require.False(t, excluded(f.In(loc)), "fire %s of %s falls on an excluded date", f.In(loc), expr)
			require.False(t, s.Excluded(f))
			for g, ok := free.Next(after); ok && g.Before(f); g, ok = free.Next(g) {
				require.True(t, excluded(g.In(loc)), "fire %s of %s on an allowed date was lost", g.In(loc), expr)
			}
			after = f
		}
	})
}

// calendarField matches the fields a calendar's ValidationError may name.
var calendarField = regexp.MustCompile(`^(name|namespace|description|weekdays|weekdays\[\d\]|excluded_dates|excluded_dates\[\d+\]\.(date|label))$`)

// FuzzCheckCalendar checks that no calendar makes CheckCalendar, ResolveCalendars or a schedule
// under it panic or hang, that a rejection names only calendar fields, and that an accepted
// calendar leaves a daily schedule fires on allowed days only.
func FuzzCheckCalendar(f *testing.F) {
	for _, seed := range []string{
		`{"name":"vn-holidays","namespace":"*","excluded_dates":[{"date":"2026-02-17","label":"Tết"},{"date":"09-02"}],"weekdays":["mon","tue","wed","thu","fri"]}`,
		`{"name":"x","namespace":"team-a","weekdays":["sat"]}`,
		`{"name":"-bad","namespace":"","excluded_dates":[{"date":"02-30"},{"date":"2026-13-01"},{"date":"02-29"}],"weekdays":["x","mon","MON"]}`,
		`{"name":"y","namespace":"*","excluded_dates":[{"date":"0000-01-01"},{"date":"9999-12-31","label":"\u0000"}]}`,
	} {
		f.Add(seed, int64(1_770_000_000))
	}
	f.Fuzz(func(t *testing.T, raw string, after int64) {
		var c domain.Calendar
		if json.Unmarshal([]byte(raw), &c) != nil {
			return
		}
		err := schedule.CheckCalendar(&c)
		if err != nil {
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("rejection is not a ValidationError: %v", err)
			}
			for _, fe := range verr.Fields {
				if !calendarField.MatchString(fe.Field) || fe.Reason == "" {
					t.Fatalf("bad field error %q: %q", fe.Field, fe.Reason)
				}
			}
			return
		}
		rules, err := schedule.ResolveCalendars([]*domain.Calendar{&c})
		if err != nil {
			return // business days with no weekday in common cannot come from one calendar, but stay safe
		}
		daily, err := schedule.Parse(domain.Schedule{Cron: "0 0 12 * * ?"}, "Asia/Ho_Chi_Minh")
		if err != nil {
			t.Fatal(err)
		}
		s, err := daily.WithCalendars(rules)
		if err != nil {
			return
		}
		from := fuzzInstant(after)
		for range 3 {
			next, ok := s.Next(from)
			if !ok {
				return
			}
			if !next.After(from) || s.Excluded(next) {
				t.Fatalf("fire %s after %s is not later, or excluded", next, from)
			}
			from = next
		}
	})
}
