// Package schedule turns a job's schedule and time zone into fire instants. It is pure: no I/O,
// no clock; callers pass the instant to compute from.
package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zone rules are compiled in so results never depend on the host image

	"github.com/robfig/cron/v3"

	"github.com/vecron/vecron/shared/domain"
)

// parser accepts 6 fields (seconds first), 5 fields (second 0) through Optional, and descriptors.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Schedule is a validated schedule bound to its time zone.
type Schedule struct {
	sched cron.Schedule
	loc   *time.Location
}

// Parse validates s in time zone tz ("" means domain.DefaultTimezone). It returns a
// *domain.ValidationError naming "schedule.cron" or "timezone" when either is wrong.
func Parse(s domain.Schedule, tz string) (*Schedule, error) {
	var verr domain.ValidationError
	loc, err := LoadLocation(tz)
	if err != nil {
		verr.Add("timezone", err.Error())
	}
	expr := strings.TrimSpace(s.Cron)
	var cs cron.Schedule
	switch {
	case expr == "":
		verr.Add("schedule.cron", "is required")
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		verr.Add("schedule.cron", "must not embed a time zone; set the timezone field instead")
	default:
		cs, err = parser.Parse(expr)
		if err != nil {
			verr.Add("schedule.cron", fmt.Sprintf("invalid cron expression %q: %v", expr, err))
		}
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	return &Schedule{sched: cs, loc: loc}, nil
}

// LoadLocation resolves an IANA zone name; "" means domain.DefaultTimezone. "Local" is rejected
// because it would make a schedule depend on the host's configuration.
func LoadLocation(tz string) (*time.Location, error) {
	if tz == "" {
		tz = domain.DefaultTimezone
	}
	if tz == "Local" {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone such as %q", tz, domain.DefaultTimezone)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone such as %q", tz, domain.DefaultTimezone)
	}
	return loc, nil
}

// maxSteps bounds Next's search: each step crosses one zone period or skips one repeated local
// time (an hour of every-second fires is 3600 steps).
const maxSteps = 100_000

// Next returns the first fire instant strictly after after, in UTC, and false when the schedule
// never fires again.
//
// Fields match local wall times, evaluated one zone period (a stretch of constant UTC offset)
// at a time so that clock changes cannot confuse the search:
//   - a local time that a spring-forward skips fires once, at the first instant after the gap;
//   - a local time that a fall-back repeats fires once, at its first occurrence.
func (s *Schedule) Next(after time.Time) (time.Time, bool) {
	spec, ok := s.sched.(*cron.SpecSchedule)
	if !ok { // @every: a fixed interval, independent of wall time
		next := s.sched.Next(after)
		return next.UTC(), !next.IsZero()
	}
	from := after // exclusive lower bound
	period := after.In(s.loc)
	for range maxSteps {
		name, offset := period.Zone()
		start, end := period.ZoneBounds()
		fixed := time.FixedZone(name, offset)
		// spec.Location is time.Local, so the fields are matched in the zone of its argument.
		next := spec.Next(from.In(fixed))
		if next.IsZero() {
			return time.Time{}, false
		}
		if end.IsZero() || next.Before(end) {
			if repeat := fallBack(start, offset, s.loc); repeat > 0 && next.Before(start.Add(repeat)) {
				from = next // its wall time already came, before the clocks went back
				continue
			}
			return next.UTC(), true
		}
		// The next match lies past this period. If its wall time falls in the gap a
		// spring-forward opens at end, it fires at end.
		_, newOffset := end.In(s.loc).Zone()
		if gap := time.Duration(newOffset-offset) * time.Second; gap > 0 && next.Before(end.Add(gap)) {
			return end.UTC(), true
		}
		// Search on from end in the next period; end itself may match.
		from, period = end.Add(-time.Nanosecond), end.In(s.loc)
	}
	return time.Time{}, false
}

// fallBack returns how far the clocks went back at start, the beginning of a period with offset
// (0 when they went forward or start is the zone's first period): the wall times of
// [start, start+repeat) occurred once already, just before start.
func fallBack(start time.Time, offset int, loc *time.Location) time.Duration {
	if start.IsZero() {
		return 0
	}
	_, prev := start.Add(-time.Nanosecond).In(loc).Zone()
	return max(time.Duration(prev-offset)*time.Second, 0)
}

// Location is the zone the schedule is evaluated in.
func (s *Schedule) Location() *time.Location { return s.loc }
