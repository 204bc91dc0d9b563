package humanize

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// Relative says when to is, seen from from, in one rounded unit: "in 3 s", "in 5 min", "in 2 h",
// "in 3 days", "in 2 years", "3 s ago", "just now" in English; "sau 3 giây", "5 phút trước",
// "vừa xong" in Vietnamese. A gap under a second is "just now".
//
// Each unit is used until its rounded count reaches the next unit: 59.4 s is "59 s", 59.5 s is
// "1 min", 23 h 29 min is "23 h", 23 h 30 min is "1 day"; a year counts 365 days. So a later to
// is never described as sooner, and the past reads as the future mirrored.
func Relative(from, to time.Time, lang string) string {
	l := pick(lang)
	d := to.Sub(from) // saturates at ±292 years, which reads the same
	future := d > 0
	if d < 0 {
		d = -d
		if d < 0 { // the minimum Duration
			d = maxDuration
		}
	}
	if d < time.Second {
		return l.justNow
	}
	var amount string
	count := func(unit time.Duration) int64 {
		return int64(math.Round(float64(d) / float64(unit)))
	}
	switch {
	case count(time.Second) < 60:
		amount = strconv.FormatInt(count(time.Second), 10) + " " + l.second
	case count(time.Minute) < 60:
		amount = strconv.FormatInt(count(time.Minute), 10) + " " + l.minute
	case count(time.Hour) < 24:
		amount = strconv.FormatInt(count(time.Hour), 10) + " " + l.hour
	case count(24*time.Hour) < 365:
		amount = plural(count(24*time.Hour), l.day, l.days)
	default:
		amount = plural(count(365*24*time.Hour), l.year, l.years)
	}
	if future {
		return fmt.Sprintf(l.future, amount)
	}
	return fmt.Sprintf(l.past, amount)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
