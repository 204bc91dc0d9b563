package schedule_test

import (
	"fmt"
	"slices"
	"strings"
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

// wall is a local date and time, read from the time package (independently of the package's own
// calendar code).
type wall struct {
	year                int
	month               time.Month
	day, hour, min, sec int
}

func wallOf(t time.Time, loc *time.Location) wall {
	l := t.In(loc)
	return wall{l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second()}
}

// expr is a generated Quartz expression with an independent predicate over wall times.
type expr struct {
	text  string
	match func(w wall) bool
}

// genValues draws a field: its text and the set of values it denotes.
func genValues(t *rapid.T, name string, lo, hi int, names []string) (string, []bool) {
	set := make([]bool, hi+1)
	val := func(v int) string {
		if names != nil && rapid.Bool().Draw(t, name+"Name") {
			return names[v-lo]
		}
		return fmt.Sprint(v)
	}
	item := func() string {
		switch rapid.IntRange(0, 5).Draw(t, name+"Form") {
		case 0: // *
			for v := lo; v <= hi; v++ {
				set[v] = true
			}
			return "*"
		case 1: // a
			v := rapid.IntRange(lo, hi).Draw(t, name+"Value")
			set[v] = true
			return val(v)
		case 2: // a-b, wrapping when a > b
			a, b := rapid.IntRange(lo, hi).Draw(t, name+"From"), rapid.IntRange(lo, hi).Draw(t, name+"To")
			for v := lo; v <= hi; v++ {
				if (a <= b && a <= v && v <= b) || (a > b && (v >= a || v <= b)) {
					set[v] = true
				}
			}
			return val(a) + "-" + val(b)
		case 3: // a/n
			a, n := rapid.IntRange(lo, hi).Draw(t, name+"Start"), rapid.IntRange(1, hi).Draw(t, name+"Step")
			for v := a; v <= hi; v += n {
				set[v] = true
			}
			return fmt.Sprintf("%s/%d", val(a), n)
		case 4: // */n
			n := rapid.IntRange(1, hi).Draw(t, name+"Step")
			for v := lo; v <= hi; v += n {
				set[v] = true
			}
			return fmt.Sprintf("*/%d", n)
		default: // a-b/n, a ≤ b
			a := rapid.IntRange(lo, hi).Draw(t, name+"From")
			b := rapid.IntRange(a, hi).Draw(t, name+"To")
			n := rapid.IntRange(1, hi).Draw(t, name+"Step")
			for v := a; v <= b; v += n {
				set[v] = true
			}
			return fmt.Sprintf("%s-%s/%d", val(a), val(b), n)
		}
	}
	items := []string{item()}
	for range rapid.IntRange(0, 2).Draw(t, name+"More") {
		items = append(items, item())
	}
	return strings.Join(items, ","), set
}

var (
	monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}
	dayNames   = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}
)

func lastOfMonth(y int, m time.Month) int { return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day() }

func weekday(y int, m time.Month, d int) int {
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday())
}

// nearestWeekdayOracle is Quartz's nW, read off a calendar: the weekday closest to day n
// without leaving the month (-1 when the month has no day n).
func nearestWeekdayOracle(y int, m time.Month, n int) int {
	last := lastOfMonth(y, m)
	if n > last {
		return -1
	}
	best := -1
	for d := 1; d <= last; d++ {
		if wd := weekday(y, m, d); wd == 0 || wd == 6 {
			continue
		}
		if best < 0 || abs(d-n) < abs(best-n) {
			best = d
		}
	}
	return best
}

func abs(x int) int { return max(x, -x) }

// genDays draws the two day fields.
func genDays(t *rapid.T) (dom, dow string, match func(y int, m time.Month, d int) bool) {
	all := func(int, time.Month, int) bool { return true }
	switch rapid.IntRange(0, 2).Draw(t, "dayMode") {
	case 0: // every day
		return rapid.SampledFrom([]string{"*", "?"}).Draw(t, "domAll"), "*", all
	case 1: // day-of-month
		dow = rapid.SampledFrom([]string{"*", "?"}).Draw(t, "dowOther")
		switch rapid.IntRange(0, 3).Draw(t, "domForm") {
		case 0:
			text, set := genValues(t, "dom", 1, 31, nil)
			return text, dow, func(_ int, _ time.Month, d int) bool { return set[d] }
		case 1:
			n := rapid.IntRange(0, 30).Draw(t, "lastOffset")
			text := "L"
			if n > 0 {
				text = fmt.Sprintf("L-%d", n)
			}
			return text, dow, func(y int, m time.Month, d int) bool { return d == lastOfMonth(y, m)-n }
		case 2:
			n := rapid.IntRange(1, 31).Draw(t, "nearest")
			return fmt.Sprintf("%dW", n), dow, func(y int, m time.Month, d int) bool { return d == nearestWeekdayOracle(y, m, n) }
		default:
			return "LW", dow, func(y int, m time.Month, d int) bool {
				return d == nearestWeekdayOracle(y, m, lastOfMonth(y, m))
			}
		}
	default: // day-of-week, Quartz numbering 1 = SUN
		dom = rapid.SampledFrom([]string{"*", "?"}).Draw(t, "domOther")
		n := rapid.IntRange(1, 7).Draw(t, "dowDay")
		name := fmt.Sprint(n)
		if rapid.Bool().Draw(t, "dowName") {
			name = dayNames[n-1]
		}
		switch rapid.IntRange(0, 3).Draw(t, "dowForm") {
		case 0:
			text, set := genValues(t, "dow", 1, 7, dayNames)
			return dom, text, func(y int, m time.Month, d int) bool { return set[weekday(y, m, d)+1] }
		case 1:
			return dom, name + "L", func(y int, m time.Month, d int) bool {
				return weekday(y, m, d) == n-1 && d+7 > lastOfMonth(y, m)
			}
		case 2:
			k := rapid.IntRange(1, 5).Draw(t, "nth")
			return dom, fmt.Sprintf("%s#%d", name, k), func(y int, m time.Month, d int) bool {
				return weekday(y, m, d) == n-1 && (d-1)/7 == k-1
			}
		default:
			return dom, "L", func(y int, m time.Month, d int) bool { return weekday(y, m, d) == 6 }
		}
	}
}

// genExpr draws a Quartz expression over every part of the language.
func genExpr(t *rapid.T) expr {
	secText, secs := genValues(t, "sec", 0, 59, nil)
	minText, mins := genValues(t, "min", 0, 59, nil)
	hourText, hours := genValues(t, "hour", 0, 23, nil)
	monthText, months := genValues(t, "month", 1, 12, monthNames)
	dom, dow, days := genDays(t)
	text := strings.Join([]string{secText, minText, hourText, dom, monthText, dow}, " ")
	yearOK := func(int) bool { return true }
	if rapid.Bool().Draw(t, "hasYear") {
		a := rapid.IntRange(1990, 2080).Draw(t, "yearFrom")
		b := rapid.IntRange(a, 2099).Draw(t, "yearTo")
		text += fmt.Sprintf(" %d-%d", a, b)
		yearOK = func(y int) bool { return a <= y && y <= b }
	}
	return expr{text: text, match: func(w wall) bool {
		return secs[w.sec] && mins[w.min] && hours[w.hour] && months[w.month] &&
			yearOK(w.year) && days(w.year, w.month, w.day)
	}}
}

// transitions returns the instants in year at which loc's offset changes, to the second, found
// by comparing offsets (a zone changes its offset at most once a day).
func transitions(loc *time.Location, year int) []time.Time {
	var out []time.Time
	offset := func(u time.Time) int { _, o := u.In(loc).Zone(); return o }
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	for u := start; u.Year() == year; u = u.Add(24 * time.Hour) {
		lo, hi := u, u.Add(24*time.Hour)
		if offset(lo) == offset(hi) {
			continue
		}
		for hi.Sub(lo) > time.Second {
			mid := lo.Add(hi.Sub(lo) / 2).Truncate(time.Second)
			if offset(mid) == offset(lo) {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, hi)
	}
	return out
}

// occurrences returns the instants whose wall time in loc is w, found from the offsets in force
// within a day of near.
func occurrences(loc *time.Location, w wall, near time.Time) []time.Time {
	naive := time.Date(w.year, w.month, w.day, w.hour, w.min, w.sec, 0, time.UTC)
	var out []time.Time
	seen := map[int]bool{}
	for d := -36; d <= 36; d++ {
		_, off := near.Add(time.Duration(d) * time.Hour).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		if u := naive.Add(-time.Duration(off) * time.Second); wallOf(u, loc) == w {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// firesAt is the brute-force oracle: whether instant u (whole seconds) is a fire of match in loc
// under the DST policies.
func firesAt(u time.Time, loc *time.Location, match func(wall) bool, gap, overlap string) bool {
	w := wallOf(u, loc)
	if match(w) {
		occ := occurrences(loc, w, u)
		switch {
		case len(occ) < 2, overlap == domain.DSTOverlapBoth:
			return true
		case overlap == domain.DSTOverlapLast:
			return u.Equal(occ[len(occ)-1])
		default:
			return u.Equal(occ[0])
		}
	}
	if gap == domain.DSTGapSkip {
		return false
	}
	// A spring-forward at u: does a skipped wall time match?
	_, before := u.Add(-time.Second).In(loc).Zone()
	_, after := u.In(loc).Zone()
	if after <= before {
		return false
	}
	for s := time.Duration(0); s < time.Duration(after-before)*time.Second; s += time.Second {
		if match(wallOf(u.Add(-time.Second), loc).add(time.Second + s)) {
			return true
		}
	}
	return false
}

// add returns the wall time d later on the wall clock (no zone involved).
func (w wall) add(d time.Duration) wall {
	t := time.Date(w.year, w.month, w.day, w.hour, w.min, w.sec, 0, time.UTC).Add(d)
	return wall{t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second()}
}

// genInstant draws an instant in 1990–2090, often within hours of a clock change of loc.
func genInstant(t *rapid.T, loc *time.Location) time.Time {
	year := rapid.IntRange(1990, 2090).Draw(t, "year")
	nanos := time.Duration(rapid.IntRange(0, 999_999_999).Draw(t, "nanos"))
	if rapid.IntRange(0, 2).Draw(t, "nearTransition") > 0 {
		if ends := transitions(loc, year); len(ends) > 0 {
			at := rapid.SampledFrom(ends).Draw(t, "transition")
			shift := time.Duration(rapid.Int64Range(-3*3600, 3*3600).Draw(t, "shiftSeconds")) * time.Second
			return at.Add(shift + nanos)
		}
	}
	start := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
	return start.Add(time.Duration(rapid.Int64Range(0, 365*24*3600).Draw(t, "secondOfYear"))*time.Second + nanos)
}

func genPolicies(t *rapid.T) (gap, overlap string) {
	return rapid.SampledFrom([]string{"", domain.DSTGapShiftForward, domain.DSTGapSkip}).Draw(t, "gap"),
		rapid.SampledFrom([]string{"", domain.DSTOverlapFirst, domain.DSTOverlapLast, domain.DSTOverlapBoth}).Draw(t, "overlap")
}

// TestPropertyNextMatchesExpression: for random expressions over the whole Quartz language,
// random zones, policies and instants, Next moves strictly forward, in UTC, to an instant whose
// wall time matches every field (or, shifted, the end of a gap holding a matching wall time, or
// the occurrence of a repeated wall time the policy picks); every instant between after and the
// fire gives the same fire; Preview agrees with chained Next.
func TestPropertyNextMatchesExpression(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		e := genExpr(t)
		tz := rapid.SampledFrom(propZones).Draw(t, "tz")
		gap, overlap := genPolicies(t)
		s, err := schedule.Parse(domain.Schedule{Cron: e.text, DSTGap: gap, DSTOverlap: overlap}, tz)
		if err != nil {
			if strings.Contains(err.Error(), "never fires") {
				return // a schedule without fires has nothing to check
			}
			t.Fatalf("Parse(%q): %v", e.text, err)
		}
		loc := s.Location()
		after := genInstant(t, loc)
		var fires []time.Time
		for i := range 4 {
			next, ok := s.Next(after)
			if !ok {
				break
			}
			if !next.After(after) || next.Location() != time.UTC || next.Nanosecond() != 0 {
				t.Fatalf("step %d: Next(%s) = %s of %q in %s", i, after, next, e.text, tz)
			}
			if !firesAt(next, loc, e.match, gap, overlap) {
				t.Fatalf("step %d: Next(%s) = %s (local %s) of %q in %s (gap %q, overlap %q) is not a fire",
					i, after, next, next.In(loc), e.text, tz, gap, overlap)
			}
			between := after.Add(time.Duration(rapid.Int64Range(0, int64(next.Sub(after))-1).Draw(t, "between")))
			if again, ok := s.Next(between); !ok || !again.Equal(next) {
				t.Fatalf("step %d: Next(%s) = %s but Next(%s) = %s, %v", i, after, next, between, again, ok)
			}
			fires = append(fires, next)
			after = next
		}
		preview := s.Preview(after.Add(0), 0)
		if preview != nil {
			t.Fatalf("Preview(_, 0) = %v", preview)
		}
		if len(fires) > 0 {
			got := s.Preview(fires[0].Add(-time.Nanosecond), len(fires))
			if len(got) != len(fires) {
				t.Fatalf("Preview gave %d fires, Next %d", len(got), len(fires))
			}
			for i, f := range got {
				if !f.At.Equal(fires[i]) || !f.Local.Equal(fires[i]) || f.Local.Location() != loc {
					t.Fatalf("Preview fire %d = %+v, Next gave %s", i, f, fires[i])
				}
			}
		}
	})
}

// TestPropertyBruteForce compares Next with a second-by-second search over the next four hours,
// for random simple expressions, zones, policies and instants near clock changes.
func TestPropertyBruteForce(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		sec := rapid.IntRange(1, 30).Draw(t, "secStep")
		mins := rapid.SliceOfNDistinct(rapid.IntRange(0, 59), 1, 6, rapid.ID[int]).Draw(t, "mins")
		hourAll := rapid.Bool().Draw(t, "everyHour")
		hours := rapid.SliceOfNDistinct(rapid.IntRange(0, 23), 1, 4, rapid.ID[int]).Draw(t, "hours")
		dow := rapid.IntRange(0, 7).Draw(t, "dow") // 0: every day; else Quartz 1–7
		text := fmt.Sprintf("*/%d %s %s %s * %s", sec, joinInts(mins), "*", "?", "*")
		if !hourAll {
			text = fmt.Sprintf("*/%d %s %s ? * *", sec, joinInts(mins), joinInts(hours))
		}
		if dow > 0 {
			text = text[:len(text)-len("? * *")] + fmt.Sprintf("? * %d", dow)
		}
		match := func(w wall) bool {
			return w.sec%sec == 0 && slices.Contains(mins, w.min) && (hourAll || slices.Contains(hours, w.hour)) &&
				(dow == 0 || weekday(w.year, w.month, w.day) == dow-1)
		}
		tz := rapid.SampledFrom(propZones).Draw(t, "tz")
		gap, overlap := genPolicies(t)
		s, err := schedule.Parse(domain.Schedule{Cron: text, DSTGap: gap, DSTOverlap: overlap}, tz)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		after := genInstant(t, s.Location())
		const horizon = 4 * time.Hour
		var want time.Time
		for u := after.Truncate(time.Second).Add(time.Second); !u.After(after.Add(horizon)); u = u.Add(time.Second) {
			if firesAt(u, s.Location(), match, gap, overlap) {
				want = u
				break
			}
		}
		got, ok := s.Next(after)
		switch {
		case !want.IsZero() && (!ok || !got.Equal(want)):
			t.Fatalf("Next(%s) of %q in %s (gap %q, overlap %q) = %s (local %s), %v; brute force: %s (local %s)",
				after, text, tz, gap, overlap, got, got.In(s.Location()), ok, want, want.In(s.Location()))
		case want.IsZero() && ok && !got.After(after.Add(horizon)):
			t.Fatalf("Next(%s) of %q in %s = %s (local %s); brute force finds no fire within %s",
				after, text, tz, got, got.In(s.Location()), horizon)
		}
	})
}

func joinInts(vs []int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, ",")
}

// TestPropertyFixedRateNeverDrifts: every fire is exactly anchor + k·every, the first one after
// its input, however far the input lies from the anchor; @every is the same on the epoch.
func TestPropertyFixedRateNeverDrifts(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		anchor := time.Unix(rapid.Int64Range(0, 7e9).Draw(t, "anchorSec"), rapid.Int64Range(0, 999_999_999).Draw(t, "anchorNanos")).UTC()
		every := time.Duration(rapid.Int64Range(int64(time.Second), int64(30*24*time.Hour)).Draw(t, "every")).Truncate(time.Millisecond)
		var in domain.Schedule
		if rapid.Bool().Draw(t, "descriptor") {
			every = every.Truncate(time.Second)
			anchor = time.Unix(0, 0).UTC()
			in = domain.Schedule{Cron: "@every " + every.String()}
		} else {
			in = domain.Schedule{Kind: domain.ScheduleFixedRate, Every: domain.Duration(every), Anchor: &anchor}
		}
		// Within ±280 years of the anchor, so that next.Sub(anchor) below fits a time.Duration.
		after := anchor.Add(time.Duration(rapid.Int64Range(-int64(100*365*24*time.Hour), int64(280*365*24*time.Hour)).Draw(t, "afterOffset")))
		s, err := schedule.Parse(in, rapid.SampledFrom(propZones).Draw(t, "tz"))
		if err != nil {
			t.Fatalf("Parse(%+v): %v", in, err)
		}
		prev := time.Time{}
		for i := range 3 {
			next, ok := s.Next(after)
			if !ok {
				t.Fatalf("Next(%s): ended", after)
			}
			k := next.Sub(anchor) / every
			switch {
			case !next.After(after):
				t.Fatalf("Next(%s) = %s is not after its input", after, next)
			case next.Before(anchor), anchor.Add(k*every) != next:
				t.Fatalf("Next(%s) = %s is not anchor %s + k·%s", after, next, anchor, every)
			case next.After(anchor) && next.Add(-every).After(after):
				t.Fatalf("Next(%s) = %s skipped %s", after, next, next.Add(-every))
			case i > 0 && next.Sub(prev) != every:
				t.Fatalf("fires %s and %s are not %s apart", prev, next, every)
			}
			prev, after = next, next
		}
	})
}

// TestPropertyZoneIsAShift: Ho Chi Minh City has kept UTC+7 since 1975, so there a schedule
// fires exactly 7 hours before the same schedule in UTC.
func TestPropertyZoneIsAShift(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		e := genExpr(t)
		hcm, err := schedule.Parse(domain.Schedule{Cron: e.text}, "Asia/Ho_Chi_Minh")
		if err != nil {
			if strings.Contains(err.Error(), "never fires") {
				return // a schedule without fires has nothing to check
			}
			t.Fatalf("Parse(%q): %v", e.text, err)
		}
		utc, err := schedule.Parse(domain.Schedule{Cron: e.text}, "UTC")
		if err != nil {
			t.Fatalf("Parse(%q): %v", e.text, err)
		}
		const shift = 7 * time.Hour
		after := time.Date(rapid.IntRange(1976, 2090).Draw(t, "year"), 1, 1, 0, 0, 0, 0, time.UTC).
			Add(time.Duration(rapid.Int64Range(0, 365*24*3600*1e9).Draw(t, "offset")))
		for i := range 3 {
			a, okA := hcm.Next(after)
			b, okB := utc.Next(after.Add(shift))
			if okA != okB || (okA && !a.Equal(b.Add(-shift))) {
				t.Fatalf("step %d of %q: Ho Chi Minh City Next(%s) = %s, %v; UTC Next(%s) = %s, %v",
					i, e.text, after, a, okA, after.Add(shift), b, okB)
			}
			if !okA {
				return
			}
			after = a
		}
	})
}
