package dashboard

// TO BE REPLACED by package shared/humanize and schedule.Describe once they land: every function
// here has the signature of its replacement, so the swap is a rename (humanizeX → humanize.X,
// scheduleDescribe → schedule.Describe) and the deletion of this file. Until then these give
// plain, correct but unpolished text.

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
)

// humanizeRelative stands in for humanize.Relative: to as seen from from ("in 3 s", "2 min ago").
func humanizeRelative(from, to time.Time, lang string) string {
	d := to.Sub(from)
	future := d >= 0
	d = d.Abs()
	var n int64
	var unit string
	switch {
	case d < time.Minute:
		n, unit = int64(d/time.Second), "s"
	case d < time.Hour:
		n, unit = int64(d/time.Minute), "min"
	case d < 48*time.Hour:
		n, unit = int64(d/time.Hour), "h"
	default:
		n, unit = int64(d/(24*time.Hour)), "d"
	}
	if lang == "vi" {
		unit = map[string]string{"s": "giây", "min": "phút", "h": "giờ", "d": "ngày"}[unit]
		if future {
			return humanizeInt(n, lang) + " " + unit + " nữa"
		}
		return humanizeInt(n, lang) + " " + unit + " trước"
	}
	if future {
		return "in " + humanizeInt(n, lang) + " " + unit
	}
	return humanizeInt(n, lang) + " " + unit + " ago"
}

// humanizePercent stands in for humanize.Percent: f (0 to 1) as a percentage with one decimal.
func humanizePercent(f float64, lang string) string {
	s := strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64)
	if lang == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + "%"
}

// humanizeDateTime stands in for humanize.DateTime: t in its own location.
func humanizeDateTime(t time.Time, lang string) string {
	if lang == "vi" {
		return t.Format("15:04:05 02/01/2006 MST")
	}
	return t.Format("2006-01-02 15:04:05 MST")
}

// humanizeInt stands in for humanize.Int: n with the language's thousands separator.
func humanizeInt(n int64, lang string) string {
	sep := ","
	if lang == "vi" {
		sep = "."
	}
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// scheduleDescribe stands in for schedule.Describe: a short description of s.
func scheduleDescribe(s domain.Schedule, lang string) string {
	vi := lang == "vi"
	switch s.Kind {
	case domain.ScheduleFixedRate:
		if vi {
			return "mỗi " + time.Duration(s.Every).String()
		}
		return "every " + time.Duration(s.Every).String()
	case domain.ScheduleFixedDelay:
		if vi {
			return time.Duration(s.Every).String() + " sau lần chạy trước"
		}
		return time.Duration(s.Every).String() + " after the previous run"
	case domain.ScheduleOnce:
		if s.At == nil {
			return ""
		}
		if vi {
			return "một lần lúc " + humanizeDateTime(*s.At, lang)
		}
		return "once at " + humanizeDateTime(*s.At, lang)
	}
	return "cron " + s.Cron
}

// describeSchedule stands in for schedule.Describe: s in words, its instants read in zone.
func describeSchedule(s domain.Schedule, zone *time.Location, lang string) string {
	if s.Kind == domain.ScheduleOnce && s.At != nil && zone != nil {
		at := s.At.In(zone)
		s.At = &at
	}
	if s.Kind == "" && s.Cron != "" {
		s.Kind = domain.ScheduleCron
	}
	return scheduleDescribe(s, lang)
}
