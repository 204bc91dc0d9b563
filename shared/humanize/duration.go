package humanize

import (
	"strconv"
	"strings"
	"time"
)

// Duration writes d briefly, to the precision a person reading it needs: "850 ms", "1.2 s",
// "42 s", "3 min 20 s", "2 h 5 min", "3 d 4 h" in English; "850 ms", "1,2 giây", "3 phút 20 giây",
// "2 giờ 5 phút", "3 ngày 4 giờ" in Vietnamese. Below a second it keeps three significant units
// (ns, µs, ms); from a second to ten it keeps one decimal; above, two units at most, the smaller
// rounded. A negative d is written with a leading "-".
func Duration(d time.Duration, lang string) string {
	l := pick(lang)
	if d < 0 {
		if d == minDuration { // -d overflows; a nanosecond less changes nothing shown
			d++
		}
		return "-" + Duration(-d, lang)
	}
	switch {
	case d == 0:
		return "0 " + l.second
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + " ns"
	case d < time.Millisecond-time.Microsecond/2:
		return strconv.FormatInt(int64(d.Round(time.Microsecond)/time.Microsecond), 10) + " µs"
	case d < time.Second-time.Millisecond/2:
		return strconv.FormatInt(int64(d.Round(time.Millisecond)/time.Millisecond), 10) + " ms"
	case d < 10*time.Second-50*time.Millisecond:
		return decimal(d.Seconds(), &l) + " " + l.second
	case d < time.Minute-time.Second/2:
		return strconv.FormatInt(int64(d.Round(time.Second)/time.Second), 10) + " " + l.second
	case d < time.Hour-time.Second/2:
		return pair(d.Round(time.Second), time.Minute, l.minute, time.Second, l.second)
	case d < 24*time.Hour-time.Minute/2:
		return pair(d.Round(time.Minute), time.Hour, l.hour, time.Minute, l.minute)
	}
	if d > maxDuration-time.Hour/2 {
		d = maxDuration - time.Hour/2
	}
	return pair(d.Round(time.Hour), 24*time.Hour, l.dayShort, time.Hour, l.hour)
}

const (
	minDuration = time.Duration(-1 << 63)
	maxDuration = time.Duration(1<<63 - 1)
)

// pair writes d as a number of big units and, when not zero, of small units: "3 min 20 s".
func pair(d, big time.Duration, bigName string, small time.Duration, smallName string) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(int64(d/big), 10))
	b.WriteString(" " + bigName)
	if rest := d % big / small; rest != 0 {
		b.WriteString(" " + strconv.FormatInt(int64(rest), 10) + " " + smallName)
	}
	return b.String()
}
