// Package humanize formats numbers, durations and instants for people reading the dashboard, in
// English ("en") or Vietnamese ("vi"). It is pure: no I/O, no clock; callers pass the instants.
//
// A lang of "vi" or a Vietnamese tag ("vi-VN", "vi_VN", in any case) selects Vietnamese; anything
// else selects English, so an unknown or empty lang never fails. Vietnamese writes a decimal comma,
// groups thousands with dots and puts the day before the month; English writes a decimal point,
// groups thousands with commas and puts the month first.
package humanize

import (
	"math"
	"strconv"
	"strings"
)

// locale holds what differs between the languages.
type locale struct {
	decimal, group byte
	percent        string // the sign, with the space Vietnamese puts before it
	justNow        string
	future, past   string // fmt patterns around the amount
	second         string
	minute, hour   string
	day, days      string
	dayShort       string // in a duration
	year, years    string
}

// pick returns the locale of lang. The locales are built on each call, not held in package
// variables, so nothing can change them.
func pick(lang string) locale {
	if IsVietnamese(lang) {
		return locale{
			decimal: ',', group: '.', percent: " %", justNow: "vừa xong",
			future: "sau %s", past: "%s trước",
			second: "giây", minute: "phút", hour: "giờ",
			day: "ngày", days: "ngày", dayShort: "ngày", year: "năm", years: "năm",
		}
	}
	return locale{
		decimal: '.', group: ',', percent: "%", justNow: "just now",
		future: "in %s", past: "%s ago",
		second: "s", minute: "min", hour: "h",
		day: "day", days: "days", dayShort: "d", year: "year", years: "years",
	}
}

// IsVietnamese reports whether lang selects Vietnamese: it starts with "vi", in any case, and is
// "vi" alone or followed by a '-' or '_' subtag.
func IsVietnamese(lang string) bool {
	if len(lang) < 2 || !strings.EqualFold(lang[:2], "vi") {
		return false
	}
	return len(lang) == 2 || lang[2] == '-' || lang[2] == '_'
}

// Int writes n with its thousands grouped: "1,234,567" in English, "1.234.567" in Vietnamese.
func Int(n int64, lang string) string {
	return groupDigits(n, pick(lang).group)
}

func groupDigits(n int64, sep byte) string {
	u := uint64(n)
	if n < 0 {
		u = -u // two's complement: right for math.MinInt64 too
	}
	digits := strconv.FormatUint(u, 10)
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i := range len(digits) {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(sep)
		}
		b.WriteByte(digits[i])
	}
	return b.String()
}

// Percent writes the fraction f (1 is 100%) as a percentage with at most one decimal, dropping a
// trailing zero: "98.5%", "100%" in English, "98,5 %" in Vietnamese. Values outside 0..1 are
// written the same way ("150%"); NaN and infinities are written "–".
func Percent(f float64, lang string) string {
	l := pick(lang)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	return decimal(f*100, &l) + l.percent
}

// decimal writes v rounded to one decimal, without a trailing ".0", with the locale's decimal
// separator and its integer part grouped.
func decimal(v float64, l *locale) string {
	tenths := math.Round(v * 10)
	if tenths == 0 { // never "-0"
		return "0"
	}
	neg := tenths < 0
	tenths = math.Abs(tenths)
	var s string
	if tenths >= 1e18 { // beyond int64: exponent notation is the honest form
		s = strconv.FormatFloat(tenths/10, 'g', 4, 64)
		if l.decimal != '.' {
			s = strings.ReplaceAll(s, ".", string(l.decimal))
		}
	} else {
		t := int64(tenths)
		s = groupDigits(t/10, l.group)
		if t%10 != 0 {
			s += string(l.decimal) + strconv.FormatInt(t%10, 10)
		}
	}
	if neg {
		return "-" + s
	}
	return s
}
