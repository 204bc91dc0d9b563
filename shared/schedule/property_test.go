package schedule_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// propZones are zones with whole-hour, half-hour and 45-minute offsets, with and without
// daylight saving, including clocks that change by 30 minutes (Lord Howe), off the hour
// (Chatham) or at midnight (Havana, Santiago).
var propZones = []string{
	"UTC", "Asia/Ho_Chi_Minh", "Asia/Kathmandu", "Asia/Kolkata", "America/New_York",
	"Europe/London", "Australia/Adelaide", "America/St_Johns", "Europe/Dublin",
	"Pacific/Chatham", "Australia/Lord_Howe", "America/Havana", "America/Santiago",
}

// stepSpec is a generated expression: "*/sec */min <hour> * * <dow>".
type stepSpec struct {
	sec, min int
	hours    []int // nil means every hour
	dow      int   // -1 means every day
}

func (s stepSpec) String() string {
	hour := "*"
	if s.hours != nil {
		hour = fmt.Sprint(s.hours[0])
		for _, h := range s.hours[1:] {
			hour += fmt.Sprintf(",%d", h)
		}
	}
	dow := "*"
	if s.dow >= 0 {
		dow = fmt.Sprint(s.dow)
	}
	return fmt.Sprintf("*/%d */%d %s * * %s", s.sec, s.min, hour, dow)
}

// matches reports whether the local time of u satisfies s (at whole seconds).
func (s stepSpec) matches(u time.Time, loc *time.Location) bool {
	l := u.In(loc)
	return l.Nanosecond() == 0 &&
		l.Second()%s.sec == 0 &&
		l.Minute()%s.min == 0 &&
		(s.hours == nil || slices.Contains(s.hours, l.Hour())) &&
		(s.dow < 0 || int(l.Weekday()) == s.dow)
}

func genStepSpec(t *rapid.T) stepSpec {
	s := stepSpec{
		sec: rapid.IntRange(1, 30).Draw(t, "sec"),
		min: rapid.IntRange(1, 30).Draw(t, "min"),
		dow: -1,
	}
	if rapid.Bool().Draw(t, "restrictHours") {
		s.hours = rapid.SliceOfNDistinct(rapid.IntRange(0, 23), 1, 4, rapid.ID[int]).Draw(t, "hours")
		slices.Sort(s.hours)
	}
	if rapid.Bool().Draw(t, "restrictDay") {
		s.dow = rapid.IntRange(0, 6).Draw(t, "dow")
	}
	return s
}

// transition is an instant at which a zone's UTC offset changes, and by how much.
type transition struct {
	at     time.Time
	change time.Duration // negative when clocks go back
}

// transitions returns the offset changes of loc in year, to the second. A zone changes its offset
// at most once a day, so a day-by-day scan finds them all.
func transitions(loc *time.Location, year int) []transition {
	var out []transition
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	end := start.AddDate(1, 0, 0)
	offset := func(u time.Time) int { _, o := u.In(loc).Zone(); return o }
	for u := start; u.Before(end); u = u.Add(24 * time.Hour) {
		lo, hi := u, u.Add(24*time.Hour)
		if offset(lo) == offset(hi) {
			continue
		}
		for hi.Sub(lo) > time.Second { // offset(lo) != offset(hi)
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if offset(mid) == offset(lo) {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, transition{at: hi, change: time.Duration(offset(hi)-offset(lo)) * time.Second})
	}
	return out
}

// repeated reports whether the local wall time of u also occurs at another instant: it lies in
// the window a fall-back transition shows twice.
func repeated(u time.Time, trs []transition) bool {
	for _, tr := range trs {
		if tr.change < 0 && !u.Before(tr.at.Add(tr.change)) && u.Before(tr.at.Add(-tr.change)) {
			return true
		}
	}
	return false
}

// gapEnd reports whether u is the instant a spring-forward transition ends its gap.
func gapEnd(u time.Time, trs []transition) bool {
	for _, tr := range trs {
		if tr.change > 0 && u.Equal(tr.at) {
			return true
		}
	}
	return false
}

// genInstant draws an instant in 1990–2099, often a few hours from a DST change of loc.
func genInstant(t *rapid.T, loc *time.Location) time.Time {
	year := rapid.IntRange(1990, 2099).Draw(t, "year")
	nanos := time.Duration(rapid.IntRange(0, 999_999_999).Draw(t, "nanos"))
	if rapid.Bool().Draw(t, "nearTransition") {
		if trs := transitions(loc, year); len(trs) > 0 {
			at := rapid.SampledFrom(trs).Draw(t, "transition").at
			shift := time.Duration(rapid.Int64Range(-4*3600, 4*3600).Draw(t, "shiftSeconds")) * time.Second
			return at.Add(shift + nanos)
		}
	}
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	secs := rapid.Int64Range(0, 366*24*3600).Draw(t, "secondOfYear")
	return start.Add(time.Duration(secs)*time.Second + nanos)
}

// TestNextProperties checks, for random step expressions, zones and instants, that Next is the
// first instant strictly after its input whose local time matches every field, and that it is
// monotonic in its input.
func TestNextProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		spec := genStepSpec(t)
		tz := rapid.SampledFrom(propZones).Draw(t, "tz")
		s, err := schedule.Parse(domain.Schedule{Cron: spec.String()}, tz)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", spec, tz, err)
		}
		loc := s.Location()
		after := genInstant(t, loc)

		next, ok := s.Next(after)
		if !ok {
			t.Fatalf("Next(%s) of %q in %s: schedule never fires", after, spec, tz)
		}
		if !next.After(after) {
			t.Fatalf("Next(%s) = %s of %q in %s is not after its input", after, next, spec, tz)
		}
		if next.Location() != time.UTC {
			t.Fatalf("Next returned zone %s, want UTC", next.Location())
		}
		var trs []transition
		for y := after.Year() - 1; y <= next.Year()+1; y++ {
			trs = append(trs, transitions(loc, y)...)
		}
		// A fire whose local time does not match is a local time a spring-forward skipped,
		// fired when the gap ends.
		if !spec.matches(next, loc) && !gapEnd(next, trs) {
			t.Fatalf("Next(%s) = %s (local %s) does not match %q", after, next, next.In(loc), spec)
		}
		// No matching instant was skipped: every minute in (after, next) whose local time matches
		// is checked at each second the seconds field allows (all zones here have whole-minute
		// offsets). A wall time a fall-back shows twice fires at its first occurrence only, so
		// the repeat is exempt.
		for m := after.Truncate(time.Minute); m.Before(next); m = m.Add(time.Minute) {
			if !spec.matches(m, loc) && !spec.matches(m.Add(time.Duration(spec.sec)*time.Second), loc) {
				continue // the minute, hour or day does not match
			}
			for sec := 0; sec < 60; sec += spec.sec {
				u := m.Add(time.Duration(sec) * time.Second)
				if u.After(after) && u.Before(next) && spec.matches(u, loc) && !repeated(u, trs) {
					t.Fatalf("Next(%s) = %s of %q in %s skipped %s (local %s)", after, next, spec, tz, u, u.In(loc))
				}
			}
		}

		// Monotonic: a later input never gives an earlier fire.
		later := after.Add(time.Duration(rapid.Int64Range(0, int64(6*time.Hour)).Draw(t, "laterBy")))
		nextLater, ok := s.Next(later)
		if !ok {
			t.Fatalf("Next(%s): schedule never fires", later)
		}
		if nextLater.Before(next) {
			t.Fatalf("Next(%s) = %s is before Next(%s) = %s", later, nextLater, after, next)
		}
		// Chaining moves strictly forward.
		again, ok := s.Next(next)
		if !ok || !again.After(next) {
			t.Fatalf("Next(%s) = %s, %v: want a later fire", next, again, ok)
		}
	})
}
