package schedule

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
)

// Describe says in words when s fires, as an operator would say it, in English or, when lang
// selects it (see humanize.IsVietnamese), Vietnamese: "every 15 minutes", "at 09:00,
// Monday–Friday", "at 23:00 on the last day of the month"; "mỗi 15 phút", "lúc 09:00, Thứ
// Hai–Thứ Sáu", "lúc 23:00 ngày cuối tháng".
//
// A cron expression is read by the same parser that computes its fires, so the words and the
// fires cannot disagree; its times are wall-clock times of the job's zone. Where the fields
// combine in a way no short sentence says well, the description names each field's values
// instead ("at seconds 0–56 in steps of 7 of every minute"): plainer, never wrong. Quartz's W
// ("the weekday nearest the 15th") keeps its Quartz meaning: it never leaves the month.
//
// zone is the job's zone, in which a once schedule's instant and the window (start_at, end_at)
// are written; nil means domain.DefaultTimezone. Excluded dates and calendars are mentioned
// briefly ("…, except 3 excluded dates and calendar vn-holidays"); jitter and the DST policies
// are not.
//
// Describe validates no more than it must to speak (schedule.Parse validates): an invalid cron
// expression is returned as written, and a schedule lacking its kind's own field (every, at) or
// with an unknown kind is described by its kind alone ("fixed_rate"; "" without one). Describe
// never panics.
func Describe(s domain.Schedule, zone *time.Location, lang string) string {
	w := pickWords(humanize.IsVietnamese(lang))
	if zone == nil {
		zone, _ = LoadLocation("") // the default zone is compiled in
		if zone == nil {
			zone = time.UTC
		}
	}
	kind, expr := s.Kind, strings.TrimSpace(s.Cron)
	if kind == "" && expr != "" {
		kind = domain.ScheduleCron
	}
	var core string
	switch every := time.Duration(s.Every); kind {
	case domain.ScheduleCron:
		e, rate, reasons := parseCron(expr)
		switch {
		case len(reasons) > 0 || expr == "":
			return s.Cron
		case rate > 0:
			core = w.interval(rate)
		default:
			core = w.cron(e)
		}
	case domain.ScheduleFixedRate:
		if every < MinInterval {
			return string(kind)
		}
		core = w.interval(every)
	case domain.ScheduleFixedDelay:
		if every < MinInterval {
			return string(kind)
		}
		core = w.afterPrevious(every)
	case domain.ScheduleOnce:
		if s.At == nil {
			return string(kind)
		}
		return w.once(s.At.In(zone))
	default:
		return string(kind)
	}
	return core + w.window(s.StartAt, s.EndAt, zone) + w.exclusions(s.ExcludedDates, s.Calendars)
}

// words holds the phrases of one language.
type words struct {
	vi                        bool
	and                       string // the last separator of a list
	second, minute, hour, day [2]string
	everyDay                  string
	weekdays                  [7]string // Sunday first, as time.Weekday
	months                    [13]string
	ordinals                  [6]string // 1–5, for the nth weekday
	unitS, unitMin, unitH     string    // abbreviated, in compound intervals
	unitDay                   string
	decimalComma              bool
}

func pickWords(vi bool) *words {
	if vi {
		return &words{
			vi: true, and: " và ",
			second: [2]string{"giây", "giây"}, minute: [2]string{"phút", "phút"},
			hour: [2]string{"giờ", "giờ"}, day: [2]string{"ngày", "ngày"},
			everyDay: "mỗi ngày",
			weekdays: [7]string{"Chủ Nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"},
			months: [13]string{"", "tháng 1", "tháng 2", "tháng 3", "tháng 4", "tháng 5", "tháng 6",
				"tháng 7", "tháng 8", "tháng 9", "tháng 10", "tháng 11", "tháng 12"},
			ordinals: [6]string{"", "thứ nhất", "thứ hai", "thứ ba", "thứ tư", "thứ năm"},
			unitS:    "giây", unitMin: "phút", unitH: "giờ", unitDay: "ngày",
			decimalComma: true,
		}
	}
	return &words{
		and:    " and ",
		second: [2]string{"second", "seconds"}, minute: [2]string{"minute", "minutes"},
		hour: [2]string{"hour", "hours"}, day: [2]string{"day", "days"},
		everyDay: "every day",
		weekdays: [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		months: [13]string{"", "January", "February", "March", "April", "May", "June", "July",
			"August", "September", "October", "November", "December"},
		ordinals: [6]string{"", "first", "second", "third", "fourth", "fifth"},
		unitS:    "s", unitMin: "min", unitH: "h", unitDay: "d",
	}
}

// list joins items: "a, b and c" ("a, b và c").
func (w *words) list(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + w.and + items[len(items)-1]
}

// every says "every N units", with the unit alone for one: "every minute", "mỗi 5 phút".
func (w *words) every(n int64, unit [2]string) string {
	prefix := "every "
	if w.vi {
		prefix = "mỗi "
	}
	if n == 1 {
		return prefix + unit[0]
	}
	return prefix + strconv.FormatInt(n, 10) + " " + unit[1]
}

// amount says "N units" ("1 hour", "90 seconds").
func (w *words) amount(n int64, unit [2]string) string {
	if n == 1 {
		return "1 " + unit[0]
	}
	return strconv.FormatInt(n, 10) + " " + unit[1]
}

// span says an interval exactly, in one unit when it is a whole number of it and reads well
// ("1 hour", "90 seconds", "15 minutes"): n and unit; else in parts ("1 h 30 min", "1.5 s").
func (w *words) span(d time.Duration) (n int64, unit [2]string, parts string) {
	switch {
	case d%(24*time.Hour) == 0:
		return int64(d / (24 * time.Hour)), w.day, ""
	case d%time.Hour == 0:
		return int64(d / time.Hour), w.hour, ""
	case d%time.Minute == 0 && d < time.Hour:
		return int64(d / time.Minute), w.minute, ""
	case d%time.Second == 0 && d < 2*time.Minute:
		return int64(d / time.Second), w.second, ""
	}
	var p []string
	if days := d / (24 * time.Hour); days > 0 {
		p = append(p, strconv.FormatInt(int64(days), 10)+" "+w.unitDay)
	}
	if h := d % (24 * time.Hour) / time.Hour; h > 0 {
		p = append(p, strconv.FormatInt(int64(h), 10)+" "+w.unitH)
	}
	if m := d % time.Hour / time.Minute; m > 0 {
		p = append(p, strconv.FormatInt(int64(m), 10)+" "+w.unitMin)
	}
	if s := d % time.Minute; s > 0 {
		text := strconv.FormatFloat(s.Seconds(), 'f', -1, 64)
		if w.decimalComma {
			text = strings.Replace(text, ".", ",", 1)
		}
		p = append(p, text+" "+w.unitS)
	}
	return 0, unit, strings.Join(p, " ")
}

// interval says a fixed rate: "every 90 seconds", "every 1 h 30 min".
func (w *words) interval(d time.Duration) string {
	n, unit, parts := w.span(d)
	if parts == "" {
		return w.every(n, unit)
	}
	if w.vi {
		return "mỗi " + parts
	}
	return "every " + parts
}

// afterPrevious says a fixed delay: "every 1 h 30 min after the previous run finishes".
func (w *words) afterPrevious(d time.Duration) string {
	n, unit, parts := w.span(d)
	if w.vi {
		if parts == "" {
			parts = w.amount(n, unit)
		}
		return "chạy lại " + parts + " sau khi lần chạy trước kết thúc"
	}
	return w.interval(d) + " after the previous run finishes"
}

// instant writes a local date and time: "2026-12-24 09:00" ("09:00 ngày 24/12/2026"), with
// seconds when not zero.
func (w *words) instant(t time.Time) string {
	clock := "15:04"
	if t.Second() != 0 || t.Nanosecond() != 0 {
		clock = "15:04:05"
	}
	if w.vi {
		return t.Format(clock + " ngày 02/01/2006")
	}
	return t.Format("2006-01-02 " + clock)
}

func (w *words) once(t time.Time) string {
	if w.vi {
		return "một lần, lúc " + w.instant(t)
	}
	return "once, at " + w.instant(t)
}

// window says the bounds of the fires: ", from 2026-01-01 00:00 until 2026-06-30 18:00".
func (w *words) window(start, end *time.Time, zone *time.Location) string {
	var b strings.Builder
	if start != nil {
		b.WriteString(w.pick(", from ", ", từ "))
		b.WriteString(w.instant(start.In(zone)))
	}
	if end != nil {
		switch {
		case start != nil && w.vi:
			b.WriteString(" đến ")
		case start != nil:
			b.WriteString(" until ")
		case w.vi:
			b.WriteString(", đến ")
		default:
			b.WriteString(", until ")
		}
		b.WriteString(w.instant(end.In(zone)))
	}
	return b.String()
}

// exclusions says briefly what suppresses fires: ", except 3 excluded dates and calendar
// vn-holidays".
func (w *words) exclusions(dates, calendars []string) string {
	var parts []string
	distinct := map[string]bool{}
	for _, d := range dates {
		distinct[d] = true
	}
	if n := int64(len(distinct)); n > 0 {
		if w.vi {
			parts = append(parts, strconv.FormatInt(n, 10)+" ngày loại trừ")
		} else {
			parts = append(parts, w.amount(n, [2]string{"excluded date", "excluded dates"}))
		}
	}
	switch {
	case len(calendars) == 1 && w.vi:
		parts = append(parts, "lịch "+calendars[0])
	case len(calendars) == 1:
		parts = append(parts, "calendar "+calendars[0])
	case len(calendars) > 1 && w.vi:
		parts = append(parts, "các lịch "+w.list(calendars))
	case len(calendars) > 1:
		parts = append(parts, "calendars "+w.list(calendars))
	}
	if len(parts) == 0 {
		return ""
	}
	if w.vi {
		return ", trừ " + strings.Join(parts, " và ")
	}
	return ", except " + strings.Join(parts, " and ")
}

// The cron expression.

// cron describes a parsed expression: the times of day, then the days, months and years.
func (w *words) cron(e *cronExpr) string {
	at, point := w.timesOfDay(e)
	days, monthsSaid := w.days(e, point)
	return at + days + w.monthPart(e, monthsSaid) + w.yearPart(e)
}

// daySeconds summarises the times of day an expression matches (seconds since midnight): how
// many, the first few, and whether they are evenly spaced.
type daySeconds struct {
	n, first, last, step int
	even                 bool
	head                 [maxListedTimes]int
}

// maxListedTimes is how many times of day are listed one by one before a shorter form is used.
const maxListedTimes = 6

// summarise works the summary out field by field, without listing the times (up to 86,400).
func summarise(seconds, minutes, hours uint64) daySeconds {
	d := nest(nest(progressionOf(seconds), minutes, 60), hours, 3600)
	i := 0
	for h := nextBit(hours, 0); h >= 0 && i < maxListedTimes; h = nextBit(hours, h+1) {
		for m := nextBit(minutes, 0); m >= 0 && i < maxListedTimes; m = nextBit(minutes, m+1) {
			for s := nextBit(seconds, 0); s >= 0 && i < maxListedTimes; s = nextBit(seconds, s+1) {
				d.head[i] = h*3600 + m*60 + s
				i++
			}
		}
	}
	return d
}

// progressionOf summarises a set of values (the set bits of mask).
func progressionOf(mask uint64) daySeconds {
	d := daySeconds{n: bits.OnesCount64(mask), first: bits.TrailingZeros64(mask), last: 63 - bits.LeadingZeros64(mask), even: true}
	if d.n > 1 {
		d.step = nextBit(mask, d.first+1) - d.first
		var ap uint64
		for v := d.first; v <= d.last; v += d.step {
			ap |= 1 << uint(v)
		}
		d.even = ap == mask
	}
	return d
}

// nest summarises the values outer·unit + v for every outer value (the set bits of outer) and
// every v of inner, which all lie below unit. They are evenly spaced when one side is a single
// value and the other is evenly spaced, or when inner is evenly spaced and carries on evenly
// into the next unit (its last value plus its step is the next unit's first) through
// consecutive outer values.
func nest(inner daySeconds, outer uint64, unit int) daySeconds {
	o := progressionOf(outer)
	d := daySeconds{
		n:     inner.n * o.n,
		first: o.first*unit + inner.first,
		last:  o.last*unit + inner.last,
	}
	switch {
	case o.n == 1:
		d.step, d.even = inner.step, inner.even
	case inner.n == 1:
		d.step, d.even = o.step*unit, o.even
	default:
		d.step = inner.step
		d.even = inner.even && o.even && o.step == 1 && inner.last+inner.step == unit+inner.first
	}
	return d
}

// wholeDay reports whether evenly spaced times carry on evenly through midnight, so that they
// need no bounds: "every 15 minutes" rather than "every 15 minutes between 00:00 and 23:45".
func (d *daySeconds) wholeDay() bool {
	return d.even && d.step > 0 && 86400%d.step == 0 && d.first < d.step && d.last+d.step == 86400+d.first
}

// clock writes seconds since midnight as "09:00", or "09:00:15" when withSeconds.
func clock(t int, withSeconds bool) string {
	if withSeconds {
		return fmt.Sprintf("%02d:%02d:%02d", t/3600, t/60%60, t%60)
	}
	return fmt.Sprintf("%02d:%02d", t/3600, t/60%60)
}

// timesOfDay says the times of day e fires at, and whether they are a few fixed times ("at
// 09:00") rather than a repetition ("every 5 minutes"), which decides how the days are joined.
func (w *words) timesOfDay(e *cronExpr) (string, bool) {
	d := summarise(e.second, e.minute, e.hour)
	withSeconds := e.second != 1
	at := "at "
	if w.vi {
		at = "lúc "
	}
	// Three times read better listed, unless they are the whole day's ("every 8 hours").
	if d.n <= 2 || d.n == 3 && !d.wholeDay() || !d.even && d.n <= maxListedTimes {
		times := make([]string, d.n)
		for i := range d.n {
			times[i] = clock(d.head[i], withSeconds)
		}
		return at + w.list(times), true
	}
	if d.even {
		return w.evenTimes(d, withSeconds), false
	}
	if s, ok := w.hourly(e); ok {
		return s, false
	}
	return w.fieldByField(e), false
}

// evenTimes says evenly spaced times of day: "every 15 minutes", "every hour at minute 30",
// "every 2 hours between 08:00 and 18:00".
func (w *words) evenTimes(d daySeconds, withSeconds bool) string {
	p := time.Duration(d.step) * time.Second
	n, unit, parts := w.span(p)
	every := w.every(n, unit)
	if parts != "" {
		every = w.pick("every ", "mỗi ") + parts
	}
	if d.wholeDay() {
		a := d.first
		switch {
		case a == 0:
			return every
		case d.step < 60:
			return every + w.pick(", starting at second ", ", bắt đầu từ giây ") + strconv.Itoa(a)
		case d.step == 60:
			return every + w.pick(" at second ", " vào giây ") + strconv.Itoa(a)
		case d.step < 3600 && 3600%d.step == 0:
			return every + w.pick(", starting at ", ", bắt đầu từ ") + w.minuteSecond(a)
		case d.step%3600 == 0 && a < 3600:
			return every + w.pick(" at ", " vào ") + w.minuteSecond(a)
		}
	}
	return every + w.pick(" between ", " từ ") + clock(d.first, withSeconds) +
		w.pick(" and ", " đến ") + clock(d.last, withSeconds)
}

func (w *words) pick(en, vi string) string {
	if w.vi {
		return vi
	}
	return en
}

// minuteSecond says an offset into the hour: "minute 30", "minute 30, second 15".
func (w *words) minuteSecond(a int) string {
	s := w.pick("minute ", "phút ") + strconv.Itoa(a/60)
	if a%60 != 0 {
		s += w.pick(", second ", " giây ") + strconv.Itoa(a%60)
	}
	return s
}

// hourly says a pattern within the hour that repeats in some hours: "at minutes 0, 20 and 45 of
// every hour", "every 5 minutes during hours 9–11 and 13–17". It declines patterns that are
// neither few fixed minutes nor evenly spaced over the whole hour.
func (w *words) hourly(e *cronExpr) (string, bool) {
	in := summarise(e.second, e.minute, 1)
	var pattern string
	repeating := false
	switch {
	case in.even && in.n > 2 && 3600%in.step == 0 && in.first < in.step && in.last+in.step == 3600+in.first:
		repeating = true
		n, unit, parts := w.span(time.Duration(in.step) * time.Second)
		pattern = w.every(n, unit)
		if parts != "" {
			pattern = w.pick("every ", "mỗi ") + parts
		}
		if in.first != 0 {
			if in.step < 60 {
				pattern += w.pick(", starting at second ", ", bắt đầu từ giây ") + strconv.Itoa(in.first)
			} else {
				pattern += w.pick(", starting at ", ", bắt đầu từ ") + w.minuteSecond(in.first)
			}
		}
	case in.n <= maxListedTimes && e.second == 1:
		minutes := make([]string, in.n)
		for i := range in.n {
			minutes[i] = strconv.Itoa(in.head[i] / 60)
		}
		if in.n == 1 {
			pattern = w.pick("at minute ", "vào phút ") + minutes[0]
		} else {
			pattern = w.pick("at minutes ", "vào các phút ") + w.list(minutes)
		}
	case in.n == 1:
		pattern = w.pick("at ", "vào ") + w.minuteSecond(in.first)
	default:
		return "", false
	}
	hours := w.values(bitsOf(e.hour, 0, 23))
	single := e.hour&(e.hour-1) == 0
	switch {
	case e.hour == 1<<24-1:
		return pattern + w.pick(" of every hour", " của mỗi giờ"), true
	case repeating && single:
		return pattern + w.pick(" during hour ", " trong giờ ") + hours, true
	case repeating:
		return pattern + w.pick(" during hours ", " trong các giờ ") + hours, true
	case single:
		return pattern + w.pick(" of hour ", " của giờ ") + hours, true
	}
	return pattern + w.pick(" of hours ", " của các giờ ") + hours, true
}

// fieldByField is the plain form for any times of day: each field's values, finest first.
func (w *words) fieldByField(e *cronExpr) string {
	var levels []string
	level := func(mask uint64, lo, hi int, unit [2]string, plural string) string {
		if mask == (uint64(1)<<uint(hi+1))-1 {
			return w.every(1, unit)
		}
		vals := bitsOf(mask, lo, hi)
		if len(vals) == 1 {
			return unit[0] + " " + strconv.Itoa(vals[0])
		}
		return plural + " " + w.values(vals)
	}
	if e.second != 1 {
		levels = append(levels, level(e.second, 0, 59, w.second, w.pick("seconds", "các giây")))
	}
	levels = append(levels, level(e.minute, 0, 59, w.minute, w.pick("minutes", "các phút")))
	if e.hour != 1<<24-1 || e.minute != 1<<60-1 {
		levels = append(levels, level(e.hour, 0, 23, w.hour, w.pick("hours", "các giờ")))
	}
	s := strings.Join(levels, w.pick(" of ", " của "))
	if strings.HasPrefix(s, w.pick("every ", "mỗi ")) {
		return s
	}
	return w.pick("at ", "vào ") + s
}

// bitsOf lists the set bits of mask from lo to hi.
func bitsOf(mask uint64, lo, hi int) []int {
	var vals []int
	for v := nextBit(mask, lo); v >= 0 && v <= hi; v = nextBit(mask, v+1) {
		vals = append(vals, v)
	}
	return vals
}

// values says a set of numbers: "5", "1 and 15", "9–11 and 13–17", or for long regular sets
// "0–56 in steps of 7".
func (w *words) values(vals []int) string {
	if len(vals) >= 3 {
		step := vals[1] - vals[0]
		even := step > 1
		for i := 2; i < len(vals) && even; i++ {
			even = vals[i]-vals[i-1] == step
		}
		if even && len(vals) > 4 {
			return fmt.Sprintf("%d–%d %s %d", vals[0], vals[len(vals)-1], w.pick("in steps of", "bước"), step)
		}
	}
	var items []string
	for i := 0; i < len(vals); {
		j := i
		for j+1 < len(vals) && vals[j+1] == vals[j]+1 {
			j++
		}
		if j-i >= 2 {
			items = append(items, fmt.Sprintf("%d–%d", vals[i], vals[j]))
		} else {
			for k := i; k <= j; k++ {
				items = append(items, strconv.Itoa(vals[k]))
			}
		}
		i = j + 1
	}
	return w.list(items)
}

// cyclic says a set of cyclic members (weekdays, months) by name, as runs in the order given:
// "Monday–Friday", "Saturday and Sunday", "November–February". order lists the members in
// reading order; a run may wrap from the last back to the first.
func (w *words) cyclic(has func(int) bool, order []int, name func(int) string) string {
	n := len(order)
	start := -1 // a member whose predecessor is absent, so no run is cut in two
	for i := range n {
		if has(order[i]) && !has(order[(i+n-1)%n]) {
			start = i
			break
		}
	}
	if start < 0 { // all members, or none
		return ""
	}
	var runs [][2]int // indexes into order, from start
	for i := 0; i < n; {
		if !has(order[(start+i)%n]) {
			i++
			continue
		}
		j := i
		for j+1 < n && has(order[(start+j+1)%n]) {
			j++
		}
		runs = append(runs, [2]int{(start + i) % n, (start + j) % n})
		i = j + 1
	}
	// Read a set of runs in the natural order, unless it is one run that wraps.
	if len(runs) > 1 {
		for i := 1; i < len(runs); i++ {
			for k := i; k > 0 && runs[k][0] < runs[k-1][0]; k-- {
				runs[k], runs[k-1] = runs[k-1], runs[k]
			}
		}
	}
	var items []string
	for _, r := range runs {
		length := (r[1]-r[0]+n)%n + 1
		switch {
		case length >= 3:
			items = append(items, name(order[r[0]])+"–"+name(order[r[1]]))
		case length == 2:
			items = append(items, name(order[r[0]]), name(order[r[1]]))
		default:
			items = append(items, name(order[r[0]]))
		}
	}
	return w.list(items)
}

// weekdaySet says a set of weekdays (bit 0 = Sunday).
func (w *words) weekdaySet(days uint8) string {
	mondayFirst := []int{1, 2, 3, 4, 5, 6, 0} // reading order, as time.Weekday values
	return w.cyclic(func(d int) bool { return days&(1<<uint(d)) != 0 }, mondayFirst,
		func(d int) string { return w.weekdays[d] })
}

// weekdaysOf reads the weekday set back from a dowList rule: day d of a month whose 1st is a
// Sunday falls on weekday d-1.
func weekdaysOf(r *dayRule) uint8 {
	return uint8(r.dowMask[0] >> 1 & 0x7f)
}

const allDays31 = uint64(1)<<32 - 2 // bits 1–31

// days says which days e fires on, and whether it named the months itself (so the month part
// is left out). point tells whether the times are fixed times ("at 09:00"), which take "every
// day" and "every Monday", or a repetition, which takes nothing and "on Mondays".
func (w *words) days(e *cronExpr, point bool) (string, bool) {
	r := &e.days
	domAll := r.dom == domList && r.domBits&allDays31 == allDays31
	dowAll := r.dow == dowList && weekdaysOf(r) == 0x7f
	var every bool
	switch {
	case r.dom == domAny && r.dow == dowAny:
		every = true
	case r.dom == domAny:
		every = dowAll
	case r.dow == dowAny:
		every = domAll
	default: // 5-field form with both fields restricted: a day matching either fires
		every = domAll || dowAll
	}
	switch {
	case every && point:
		return " " + w.everyDay, false
	case every:
		return "", false
	case r.dom == domAny:
		return w.weekdayPart(r, point, false), false
	case r.dow == dowAny:
		return w.monthDayPart(e)
	}
	dom, _ := w.monthDayPart(&cronExpr{month: 1<<13 - 2, days: *r})
	return dom + w.pick(" and", " và") + w.weekdayPart(r, point, true), false
}

// weekdayPart says the day-of-week field: ", Monday–Friday", " every Monday", " on the last
// Friday of the month".
func (w *words) weekdayPart(r *dayRule, point, alsoOr bool) string {
	switch r.dow {
	case dowLast:
		return w.pick(" on the last ", " vào ") + w.weekdays[r.dowWD] + w.pick(" of the month", " cuối cùng của tháng")
	case dowNth:
		if w.vi {
			return " vào " + w.weekdays[r.dowWD] + " " + w.ordinals[r.dowK] + " của tháng"
		}
		return " on the " + w.ordinals[r.dowK] + " " + w.weekdays[r.dowWD] + " of the month"
	}
	days := weekdaysOf(r)
	set := w.weekdaySet(days)
	single := days&(days-1) == 0
	switch {
	case single && (point || alsoOr):
		return w.pick(" every ", " mỗi ") + set
	case single:
		return w.pick(" on ", " vào các ngày ") + set + w.pick("s", "")
	case alsoOr:
		return w.pick(" on ", " các ngày ") + set
	}
	return ", " + set
}

// monthDayPart says the day-of-month field, naming a single month with it when it can ("on 1
// January"); the bool reports that it did.
func (w *words) monthDayPart(e *cronExpr) (string, bool) {
	r := &e.days
	month := 0
	if e.month&(e.month-1) == 0 {
		month = nextBit(uint64(e.month), 1)
	}
	ofMonth := w.pick(" of the month", " hằng tháng")
	if w.vi && e.month != 1<<13-2 { // the months follow: "ngày 1 trong các tháng 1 và 7"
		ofMonth = ""
	}
	switch r.dom {
	case domList:
		days := bitsOf(r.domBits, 1, 31)
		if len(days) == 1 && month > 0 {
			if w.vi {
				return " ngày " + strconv.Itoa(days[0]) + " " + w.months[month], true
			}
			return " on " + strconv.Itoa(days[0]) + " " + w.months[month], true
		}
		if len(days) == 1 {
			return w.pick(" on day ", " ngày ") + strconv.Itoa(days[0]) + ofMonth, false
		}
		return w.pick(" on days ", " các ngày ") + w.values(days) + ofMonth, false
	case domNearest:
		if w.vi {
			return " vào ngày thường gần ngày " + strconv.Itoa(r.domN) + " nhất", false
		}
		return " on the weekday nearest the " + ordinalSuffix(r.domN), false
	}
	// domLast
	switch {
	case r.domN == 0 && !r.domW && month > 0:
		return w.pick(" on the last day of ", " ngày cuối ") + w.months[month], true
	case r.domN == 0 && !r.domW:
		return w.pick(" on the last day of the month", " ngày cuối tháng"), false
	case r.domN == 0:
		return w.pick(" on the last weekday of the month", " vào ngày thường cuối cùng của tháng"), false
	case !r.domW:
		return w.pick(", "+w.amount(int64(r.domN), w.day)+" before the last day of the month",
			", "+strconv.Itoa(r.domN)+" ngày trước ngày cuối tháng"), false
	}
	return w.pick(" on the weekday nearest "+w.amount(int64(r.domN), w.day)+" before the last day of the month",
		" vào ngày thường gần nhất với ngày "+strconv.Itoa(r.domN)+" ngày trước ngày cuối tháng"), false
}

// ordinalSuffix writes an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 21st.
func ordinalSuffix(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return strconv.Itoa(n) + suffix
}

// monthPart says the month field when it restricts: " in January–March" (" từ tháng 1 đến
// tháng 3").
func (w *words) monthPart(e *cronExpr, said bool) string {
	if said || e.month == 1<<13-2 {
		return ""
	}
	has := func(m int) bool { return e.month&(1<<uint(m)) != 0 }
	januaryFirst := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if !w.vi {
		return " in " + w.cyclic(has, januaryFirst, func(m int) string { return w.months[m] })
	}
	set := w.cyclic(has, januaryFirst, func(m int) string { return strconv.Itoa(m) })
	if e.month&(e.month-1) == 0 {
		return " trong tháng " + set
	}
	if a, b, ok := strings.Cut(set, "–"); ok && !strings.ContainsAny(set, ",") && !strings.Contains(set, " ") {
		return " từ tháng " + a + " đến tháng " + b
	}
	return " trong các tháng " + set
}

// yearPart says the year field when it restricts: " in 2026", " in 2026–2028".
func (w *words) yearPart(e *cronExpr) string {
	if e.allYears {
		return ""
	}
	var years []int
	all := true
	for y := minYear; y <= maxYear; y++ {
		if e.years.has(y - minYear) {
			years = append(years, y)
		} else {
			all = false
		}
	}
	if all { // Quartz's * for the year: every year it can name
		return ""
	}
	if len(years) == 1 {
		return w.pick(" in ", " năm ") + strconv.Itoa(years[0])
	}
	return w.pick(" in ", " trong các năm ") + w.values(years)
}
