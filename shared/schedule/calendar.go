package schedule

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vecron/vecron/shared/domain"
)

// Limits of calendars.
const (
	// MaxCalendarDates is how many excluded dates one calendar may list.
	MaxCalendarDates = 1000
	// MaxCalendarsPerJob is how many calendars one schedule may name.
	MaxCalendarsPerJob = 10
	// MaxCalendarLabel bounds the label of an excluded date, in bytes.
	MaxCalendarLabel = 100
	// MaxCalendarDescription bounds a calendar's description, in bytes.
	MaxCalendarDescription = 4096
)

// repeatSearch bounds the days searched for one a calendar allows: a yearly day falls on every
// weekday within 28 years, so past the explicit dates, rules that leave some day of some year
// allowed allow one within this many days.
const repeatSearch = 28*366 + 7

// calendarName is what a calendar may be named: a DNS label, so that it reads the same in a URL,
// a schedule and a log line.
var calendarName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidCalendarName reports whether name may name a calendar.
func ValidCalendarName(name string) bool { return calendarName.MatchString(name) }

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// weekdayOf returns the weekday (0 = Sunday) a name such as "mon" or "Mon" stands for.
func weekdayOf(name string) (int, bool) {
	i := slices.Index(weekdayNames[:], strings.ToLower(name))
	return i, i >= 0
}

// exclusions are the days a schedule does not fire on: explicit dates (sorted, distinct day
// numbers), days of every year, and weekdays outside the business days.
type exclusions struct {
	days []int64
	// yearly holds, for each month (index 1–12), bit d set when day d of that month is excluded
	// every year.
	yearly    [13]uint64
	hasYearly bool
	// weekdays holds bit w set when weekday w (0 = Sunday) is excluded; pattern[w] is the mask of
	// the days of a month (bits 1–31) that fall on an excluded weekday, when the month begins on
	// weekday w.
	weekdays uint8
	pattern  [7]uint64
	// labels and yearlyLabels say why a day is excluded, for a preview: by day number, and by
	// month*100+day.
	labels       map[int64]string
	yearlyLabels map[int]string
}

func (ex *exclusions) repeating() bool { return ex.hasYearly || ex.weekdays != 0 }

func (ex *exclusions) empty() bool { return len(ex.days) == 0 && !ex.repeating() }

func (ex *exclusions) has(day int64) bool {
	if len(ex.days) > 0 {
		if _, ok := slices.BinarySearch(ex.days, day); ok {
			return true
		}
	}
	if ex.weekdays != 0 && ex.weekdays&(1<<weekdayOfDays(day)) != 0 {
		return true
	}
	if ex.hasYearly {
		_, m, d := civilFromDays(day)
		return ex.yearly[m]&(1<<uint(d)) != 0
	}
	return false
}

// monthMask returns the excluded days (bits 1–31) of the month whose first day is day number
// first.
func (ex *exclusions) monthMask(first int64) uint64 {
	i, _ := slices.BinarySearch(ex.days, first)
	var m uint64
	for ; i < len(ex.days) && ex.days[i] < first+31; i++ {
		m |= 1 << uint(ex.days[i]-first+1)
	}
	if ex.repeating() {
		_, month, _ := civilFromDays(first)
		m |= ex.repeatingMask(month, weekdayOfDays(first))
	}
	return m
}

// repeatingMask returns the days (bits 1–31) of month m, beginning on weekday wd1, that are
// excluded every year or fall on an excluded weekday. Bits past the month's end mean nothing.
func (ex *exclusions) repeatingMask(m, wd1 int) uint64 {
	return ex.yearly[m] | ex.pattern[wd1]
}

// nextAllowed returns the first day from day on that is not excluded; false when the rules
// exclude every day from day on.
func (ex *exclusions) nextAllowed(day int64) (int64, bool) {
	for range len(ex.days) + repeatSearch {
		if !ex.has(day) {
			return day, true
		}
		day++
	}
	return 0, false
}

// rounds bounds the rounds of a search that passes at least one excluded day per round.
func (ex *exclusions) rounds() int {
	n := len(ex.days) + 2
	if ex.repeating() {
		n += repeatSearch
	}
	return n
}

// why says why day is excluded, for a preview note.
func (ex *exclusions) why(day int64) string {
	if _, ok := slices.BinarySearch(ex.days, day); ok {
		if l := ex.labels[day]; l != "" {
			return "excluded by " + l
		}
		return "it is an excluded date"
	}
	if ex.hasYearly {
		_, m, d := civilFromDays(day)
		if ex.yearly[m]&(1<<uint(d)) != 0 {
			if l := ex.yearlyLabels[m*100+d]; l != "" {
				return "excluded every year by " + l
			}
			return "it is excluded every year"
		}
	}
	return fmt.Sprintf("a %s, not a business day of its calendars", time.Weekday(weekdayOfDays(day)))
}

// parseCalendarNames checks the names of a schedule's calendars; whether they exist is the
// caller's to check.
func (s *Schedule) parseCalendarNames(names []string, v *domain.ValidationError) {
	if len(names) > MaxCalendarsPerJob {
		v.Add("schedule.calendars", fmt.Sprintf("names more than %d calendars", MaxCalendarsPerJob))
		return
	}
	for i, n := range names {
		switch {
		case !ValidCalendarName(n):
			v.Add(fmt.Sprintf("schedule.calendars[%d]", i), fmt.Sprintf("%q is not a calendar name: lowercase letters, digits and '-', at most 63", printable(n)))
		case slices.Index(names, n) < i:
			v.Add(fmt.Sprintf("schedule.calendars[%d]", i), fmt.Sprintf("%q is named twice", n))
		}
	}
}

// printable bounds and cleans a user's string for an error message.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, strings.ToValidUTF8(s, "?"))
}

// parseYearly reads a day of every year written MM-DD (02-29 included).
func parseYearly(s string) (month, day int, ok bool) {
	if len(s) != 5 || s[2] != '-' {
		return 0, 0, false
	}
	m, ok1 := parseNumber(s[0:2])
	d, ok2 := parseNumber(s[3:5])
	if !ok1 || !ok2 || m < 1 || m > 12 || d < 1 || d > lastDay(2000, m) {
		return 0, 0, false
	}
	return m, d, true
}

// CheckCalendar validates a calendar as a user wrote it, normalising its weekdays to lowercase
// in place. It returns a *domain.ValidationError naming every bad field: "name", "namespace",
// "description", "excluded_dates", "excluded_dates[i].date", "excluded_dates[i].label" or
// "weekdays[i]".
func CheckCalendar(c *domain.Calendar) error {
	var v domain.ValidationError
	if !ValidCalendarName(c.Name) {
		v.Add("name", "must be 1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit")
	}
	if c.Namespace != domain.AllNamespaces && !domain.ValidNamespace(c.Namespace) {
		v.Add("namespace", `must be a namespace name, or "*" for a calendar every namespace's jobs may name`)
	}
	switch {
	case len(c.Description) > MaxCalendarDescription:
		v.Add("description", fmt.Sprintf("is longer than %d bytes", MaxCalendarDescription))
	case !utf8.ValidString(c.Description):
		v.Add("description", "is not UTF-8")
	}
	if len(c.ExcludedDates) > MaxCalendarDates {
		v.Add("excluded_dates", fmt.Sprintf("lists more than %d dates", MaxCalendarDates))
	}
	var yearly [13]uint64
	seen := map[string]int{}
	for i, d := range c.ExcludedDates[:min(len(c.ExcludedDates), MaxCalendarDates)] {
		field := fmt.Sprintf("excluded_dates[%d]", i)
		if _, ok := parseDate(d.Date); !ok {
			if m, day, ok := parseYearly(d.Date); ok {
				yearly[m] |= 1 << uint(day)
			} else {
				v.Add(field+".date", fmt.Sprintf(`%q is not a date: write YYYY-MM-DD ("2026-02-17"), or MM-DD for every year ("09-02")`, printable(d.Date)))
			}
		}
		if j, dup := seen[d.Date]; dup {
			v.Add(field+".date", fmt.Sprintf("%s is listed twice (also excluded_dates[%d])", d.Date, j))
		} else {
			seen[d.Date] = i
		}
		switch {
		case len(d.Label) > MaxCalendarLabel:
			v.Add(field+".label", fmt.Sprintf("is longer than %d bytes", MaxCalendarLabel))
		case !utf8.ValidString(d.Label) || strings.IndexFunc(d.Label, unicode.IsControl) >= 0:
			v.Add(field+".label", "must be UTF-8 text without control characters")
		}
	}
	if everyDay(yearly) {
		v.Add("excluded_dates", "excludes every day of the year: nothing could ever fire")
	}
	if len(c.Weekdays) > 7 {
		v.Add("weekdays", "lists more than the 7 days of a week")
	}
	var days uint8
	for i, w := range c.Weekdays[:min(len(c.Weekdays), 7)] {
		wd, ok := weekdayOf(w)
		switch {
		case !ok:
			v.Add(fmt.Sprintf("weekdays[%d]", i), fmt.Sprintf(`%q is not a weekday: use "mon", "tue", "wed", "thu", "fri", "sat" or "sun"`, printable(w)))
		case days&(1<<wd) != 0:
			v.Add(fmt.Sprintf("weekdays[%d]", i), fmt.Sprintf("%q is listed twice", w))
		default:
			days |= 1 << wd
			c.Weekdays[i] = weekdayNames[wd]
		}
	}
	return v.Err()
}

// everyDay reports whether yearly days exclude all 366 days of the year.
func everyDay(yearly [13]uint64) bool {
	for m := 1; m <= 12; m++ {
		full := uint64(1)<<uint(lastDay(2000, m)+1) - 2 // bits 1..last
		if yearly[m]&full != full {
			return false
		}
	}
	return true
}

// ResolveCalendars merges the calendars a schedule names into its rules: the union of their
// excluded days and the intersection of their business days. It returns a
// *domain.ValidationError on "schedule.calendars" when their business days have no weekday in
// common or their yearly days exclude the whole year. Labels name the calendar of each day.
func ResolveCalendars(cals []*domain.Calendar) (*domain.CalendarRules, error) {
	if len(cals) == 0 {
		return nil, nil
	}
	r := &domain.CalendarRules{Versions: map[string]int64{}, Labels: map[string]string{}}
	allowed := uint8(0x7f)
	var yearly [13]uint64
	dates, years := map[string]bool{}, map[string]bool{}
	for _, c := range cals {
		r.Versions[c.Name] = c.Version
		for _, d := range c.ExcludedDates {
			label := c.Name
			if d.Label != "" {
				label += ": " + d.Label
			}
			if prev, ok := r.Labels[d.Date]; ok {
				label = prev + "; " + label
			}
			r.Labels[d.Date] = label
			if m, day, ok := parseYearly(d.Date); ok {
				years[d.Date] = true
				yearly[m] |= 1 << uint(day)
			} else {
				dates[d.Date] = true
			}
		}
		if len(c.Weekdays) > 0 {
			var mask uint8
			for _, w := range c.Weekdays {
				if wd, ok := weekdayOf(w); ok {
					mask |= 1 << wd
				}
			}
			allowed &= mask
		}
	}
	if allowed == 0 {
		return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "schedule.calendars",
			Reason: "the business days of these calendars have no weekday in common: nothing could ever fire"}}}
	}
	if everyDay(yearly) {
		return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "schedule.calendars",
			Reason: "together these calendars exclude every day of the year: nothing could ever fire"}}}
	}
	r.Dates = slices.Sorted(maps.Keys(dates))
	r.Yearly = slices.Sorted(maps.Keys(years))
	if allowed != 0x7f {
		for wd := range 7 {
			if allowed&(1<<wd) != 0 {
				r.Weekdays = append(r.Weekdays, weekdayNames[wd])
			}
		}
	}
	return r, nil
}

// WithCalendars returns a copy of s that also skips the days rules exclude (nil: s itself). It
// returns a *domain.ValidationError on "schedule.calendars" when the rules are malformed or leave
// a cron or once schedule no fire at all.
func (s *Schedule) WithCalendars(r *domain.CalendarRules) (*Schedule, error) {
	if r == nil {
		return s, nil
	}
	bad := func(reason string) error {
		return &domain.ValidationError{Fields: []domain.FieldError{{Field: "schedule.calendars", Reason: reason}}}
	}
	c := *s
	ex := exclusions{days: slices.Clone(s.excl.days), labels: map[int64]string{}, yearlyLabels: map[int]string{}}
	for _, d := range r.Dates {
		day, ok := parseDate(d)
		if !ok {
			return nil, bad(fmt.Sprintf("%q is not a date", printable(d)))
		}
		ex.days = append(ex.days, day)
		if l := r.Labels[d]; l != "" {
			ex.labels[day] = l
		}
	}
	slices.Sort(ex.days)
	ex.days = slices.Compact(ex.days)
	for _, d := range r.Yearly {
		m, day, ok := parseYearly(d)
		if !ok {
			return nil, bad(fmt.Sprintf("%q is not a day of the year", printable(d)))
		}
		ex.yearly[m] |= 1 << uint(day)
		ex.hasYearly = true
		if l := r.Labels[d]; l != "" {
			ex.yearlyLabels[m*100+day] = l
		}
	}
	if len(r.Weekdays) > 0 {
		allowed := uint8(0)
		for _, w := range r.Weekdays {
			wd, ok := weekdayOf(w)
			if !ok {
				return nil, bad(fmt.Sprintf("%q is not a weekday", printable(w)))
			}
			allowed |= 1 << wd
		}
		ex.weekdays = ^allowed & 0x7f
		for wd1 := range 7 {
			for d := 1; d <= 31; d++ {
				if ex.weekdays&(1<<((wd1+d-1)%7)) != 0 {
					ex.pattern[wd1] |= 1 << uint(d)
				}
			}
		}
	}
	if ex.weekdays == 0x7f || everyDay(ex.yearly) {
		return nil, bad("the calendars exclude every day: nothing could ever fire")
	}
	c.excl = ex
	switch {
	case c.cron != nil && !c.cron.firesEver(&c.excl):
		return nil, bad("never fires: every date its cron expression matches is excluded by its calendars")
	case c.mode == modeOnce && c.excl.has(c.localDay(c.at)):
		return nil, bad(fmt.Sprintf("never fires: %s is excluded by its calendars", formatDay(c.localDay(c.at))))
	}
	return &c, nil
}

// ForJob parses j's schedule in its zone with the rules of its calendars, seeded with its id:
// the schedule the tick plans j by. It returns a *domain.ValidationError as Parse and
// WithCalendars do.
func ForJob(j *domain.Job) (*Schedule, error) {
	s, err := Parse(j.Schedule, j.Timezone)
	if err != nil {
		return nil, err
	}
	if s, err = s.WithCalendars(j.CalendarRules); err != nil {
		return nil, err
	}
	return s.WithSeed(j.ID), nil
}

// Admit returns t when its local date is not excluded, or else the start of the next allowed
// day; false when no day is allowed from t's on. It serves fixed_delay fires, whose instants
// come from the end of the run before.
func (s *Schedule) Admit(t time.Time) (time.Time, bool) {
	if s.excl.empty() {
		return t, true
	}
	day := s.localDay(t)
	if !s.excl.has(day) {
		return t, true
	}
	next, ok := s.excl.nextAllowed(day)
	if !ok {
		return time.Time{}, false
	}
	return s.startOfDay(next).Add(s.offset), true
}

// Excluded reports whether the local date of t is a day the schedule does not fire on.
func (s *Schedule) Excluded(t time.Time) bool {
	return !s.excl.empty() && s.excl.has(s.localDay(t))
}
