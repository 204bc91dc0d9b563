package schedule

import (
	"fmt"
	"math/bits"
	"strings"
	"time"
)

// cronExpr is a parsed cron expression: the set of wall-clock date-times it matches. It knows
// nothing of zones; Schedule maps its matches to instants.
type cronExpr struct {
	second, minute, hour uint64 // bit v set when value v matches
	month                uint16 // bits 1–12
	allYears             bool   // no year field (or 5-field): every year matches
	years                bitset // bit y-minYear, when !allYears
	days                 dayRule
}

const (
	minYear = 1970 // Quartz's year field range
	maxYear = 2099
)

// bitset holds up to 192 small non-negative integers.
type bitset [3]uint64

func (b *bitset) set(i int)      { b[i>>6] |= 1 << (uint(i) & 63) }
func (b *bitset) has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

// next returns the smallest member ≥ i, or -1.
func (b *bitset) next(i int) int {
	for w := i >> 6; w < len(b); w++ {
		m := b[w]
		if w == i>>6 {
			m &= ^uint64(0) << (uint(i) & 63)
		}
		if m != 0 {
			return w<<6 + bits.TrailingZeros64(m)
		}
	}
	return -1
}

// nextBit returns the smallest set bit of mask at or above from, or -1.
func nextBit(mask uint64, from int) int {
	if from >= 64 {
		return -1
	}
	m := mask & (^uint64(0) << uint(from))
	if m == 0 {
		return -1
	}
	return bits.TrailingZeros64(m)
}

// Day-of-month forms.
const (
	domAny     = iota // * or ?
	domList           // values, ranges, steps
	domLast           // L or L-n (n in domN), LW / L-nW when domW
	domNearest        // nW: the weekday nearest day domN
)

// Day-of-week forms.
const (
	dowAny  = iota // * or ?
	dowList        // values, ranges, steps
	dowLast        // nL: the last weekday dowWD of the month
	dowNth         // n#k: the dowK-th weekday dowWD of the month
)

// dayRule selects the days of a month from its length and the weekday of its first day.
type dayRule struct {
	dom     int
	domBits uint64 // domList: bits 1–31
	domN    int
	domW    bool
	dow     int
	dowMask [7]uint64 // dowList: the matching days of a month whose 1st is weekday i
	dowWD   int       // 0 = Sunday
	dowK    int
}

// mask returns the matching days (bits 1–last) of a month with last days whose 1st is
// weekday wd1.
func (r *dayRule) mask(last, wd1 int) uint64 {
	valid := uint64(1)<<uint(last+1) - 2
	if r.dom == domAny && r.dow == dowAny {
		return valid
	}
	var dom, dow uint64
	switch r.dom {
	case domList:
		dom = r.domBits & valid
	case domLast:
		if d := last - r.domN; d >= 1 {
			if r.domW {
				d = nearestWeekday(d, last, wd1)
			}
			dom = 1 << uint(d)
		}
	case domNearest:
		if r.domN <= last {
			dom = 1 << uint(nearestWeekday(r.domN, last, wd1))
		}
	}
	switch r.dow {
	case dowList:
		dow = r.dowMask[wd1] & valid
	case dowLast:
		lastWD := (wd1 + last - 1) % 7
		dow = 1 << uint(last-(lastWD-r.dowWD+7)%7)
	case dowNth:
		if d := 1 + (r.dowWD-wd1+7)%7 + 7*(r.dowK-1); d <= last {
			dow = 1 << uint(d)
		}
	}
	switch {
	case r.dow == dowAny:
		return dom
	case r.dom == domAny:
		return dow
	}
	return dom | dow // only 5-field expressions restrict both (Vixie: either matches)
}

// nearestWeekday is Quartz's W: the weekday nearest day d, never leaving the month.
func nearestWeekday(d, last, wd1 int) int {
	switch (wd1 + d - 1) % 7 {
	case 6: // Saturday: Friday before, or Monday the 3rd when d is the 1st
		if d == 1 {
			return 3
		}
		return d - 1
	case 0: // Sunday: Monday after, or Friday before when d is the last day
		if d == last {
			return d - 2
		}
		return d + 1
	}
	return d
}

// nextCivil returns the first wall time after wall seconds lb that matches e, with no excluded
// dates and no later than the end of year yearLimit; false when there is none.
func (e *cronExpr) nextCivil(lb int64, yearLimit int, ex *exclusions) (civil, bool) {
	c := civilOf(lb + 1)
	y, mo, d, h, mi, s := c.year, c.month, c.day, c.hour, c.minute, c.second
	for {
		if y > yearLimit {
			return civil{}, false
		}
		if !e.allYears {
			i := e.years.next(max(y-minYear, 0))
			if i < 0 || i+minYear > yearLimit {
				return civil{}, false
			}
			if ny := i + minYear; ny != y {
				y, mo, d, h, mi, s = ny, 1, 1, 0, 0, 0
			}
		}
		nm := nextBit(uint64(e.month), mo)
		if nm < 0 {
			y, mo, d, h, mi, s = y+1, 1, 1, 0, 0, 0
			continue
		}
		if nm != mo {
			mo, d, h, mi, s = nm, 1, 0, 0, 0
		}
		first := daysFromCivil(y, mo, 1)
		dm := e.days.mask(lastDay(y, mo), weekdayOfDays(first))
		if !ex.empty() {
			dm &^= ex.monthMask(first)
		}
		nd := nextBit(dm, d)
		if nd < 0 {
			if mo++; mo > 12 {
				y, mo = y+1, 1
			}
			d, h, mi, s = 1, 0, 0, 0
			continue
		}
		if nd != d {
			d, h, mi, s = nd, 0, 0, 0
		}
		nh := nextBit(e.hour, h)
		if nh < 0 {
			d, h, mi, s = d+1, 0, 0, 0
			continue
		}
		if nh != h {
			h, mi, s = nh, 0, 0
		}
		nmi := nextBit(e.minute, mi)
		if nmi < 0 {
			h, mi, s = h+1, 0, 0
			continue
		}
		if nmi != mi {
			mi, s = nmi, 0
		}
		ns := nextBit(e.second, s)
		if ns < 0 {
			mi, s = mi+1, 0
			continue
		}
		return civil{year: y, month: mo, day: d, hour: h, minute: mi, second: ns}, true
	}
}

// firesEver reports whether some date matches e outside the excluded dates. Without a year field
// the calendar repeats, so it checks every month length and first weekday a month can have
// (excluded dates, finitely many, cannot stop such an expression; yearly days and weekdays
// outside the business days can); with one, every allowed month.
func (e *cronExpr) firesEver(ex *exclusions) bool {
	if e.allYears {
		for m := 1; m <= 12; m++ {
			if e.month&(1<<uint(m)) == 0 {
				continue
			}
			lengths := []int{lastDay(2001, m)}
			if m == 2 {
				lengths = append(lengths, 29)
			}
			for _, last := range lengths {
				for wd1 := range 7 {
					if e.days.mask(last, wd1)&^ex.repeatingMask(m, wd1) != 0 {
						return true
					}
				}
			}
		}
		return false
	}
	for i := e.years.next(0); i >= 0; i = e.years.next(i + 1) {
		y := i + minYear
		for m := 1; m <= 12; m++ {
			if e.month&(1<<uint(m)) == 0 {
				continue
			}
			first := daysFromCivil(y, m, 1)
			if e.days.mask(lastDay(y, m), weekdayOfDays(first))&^ex.monthMask(first) != 0 {
				return true
			}
		}
	}
	return false
}

// The parser.

// maxCronLength bounds the work Parse does on one expression.
const maxCronLength = 2048

// descriptors are the @ shorthands, as Quartz expressions.
func descriptor(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "@yearly", "@annually":
		return "0 0 0 1 1 ?", true
	case "@monthly":
		return "0 0 0 1 * ?", true
	case "@weekly":
		return "0 0 0 ? * SUN", true
	case "@daily", "@midnight":
		return "0 0 0 * * ?", true
	case "@hourly":
		return "0 0 * * * ?", true
	}
	return "", false
}

// fieldSpec describes one field of a cron expression.
type fieldSpec struct {
	name     string
	min, max int
	names    string // three-letter names, concatenated; the first is value nameBase
	nameBase int
	maxStep  int
	wrap     bool // a range may wrap around (FRI-MON, 22-2)
	base     int  // bit index = value - base
	// sevenIsSunday: Unix day-of-week, where 7 is another name for 0.
	sevenIsSunday bool
}

const (
	monthNames = "JANFEBMARAPRMAYJUNJULAUGSEPOCTNOVDEC"
	dayNames   = "SUNMONTUEWEDTHUFRISAT"
)

func secondSpec() fieldSpec { return fieldSpec{name: "second", max: 59, maxStep: 59, wrap: true} }
func minuteSpec() fieldSpec { return fieldSpec{name: "minute", max: 59, maxStep: 59, wrap: true} }
func hourSpec() fieldSpec   { return fieldSpec{name: "hour", max: 23, maxStep: 23, wrap: true} }
func domSpec() fieldSpec {
	return fieldSpec{name: "day-of-month", min: 1, max: 31, maxStep: 31, wrap: true}
}
func monthSpec() fieldSpec {
	return fieldSpec{name: "month", min: 1, max: 12, names: monthNames, nameBase: 1, maxStep: 12, wrap: true}
}
func yearSpec() fieldSpec {
	return fieldSpec{name: "year", min: minYear, max: maxYear, maxStep: maxYear - minYear, base: minYear}
}
func dowSpec(quartz bool) fieldSpec {
	if quartz { // 1 = SUN … 7 = SAT
		return fieldSpec{name: "day-of-week", min: 1, max: 7, names: dayNames, nameBase: 1, maxStep: 7, wrap: true}
	}
	return fieldSpec{name: "day-of-week", max: 7, names: dayNames, maxStep: 7, wrap: true, sevenIsSunday: true}
}

// span is how many distinct values the field has.
func (sp *fieldSpec) span() int {
	if sp.sevenIsSunday {
		return 7
	}
	return sp.max - sp.min + 1
}

// parseNumber reads a decimal number of at most five digits.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// value reads one value of the field: a number in range or a name.
func (sp *fieldSpec) value(s string) (int, string) {
	if n, ok := parseNumber(s); ok {
		if n < sp.min || n > sp.max {
			return 0, fmt.Sprintf("%q is out of range %d-%d", s, sp.min, sp.max)
		}
		return n, ""
	}
	if len(s) == 3 && sp.names != "" {
		if i := strings.Index(sp.names, asciiUpper(s)); i >= 0 && i%3 == 0 {
			return sp.nameBase + i/3, ""
		}
	}
	if len(s) > 5 && strings.Trim(s, "0123456789") == "" {
		return 0, fmt.Sprintf("%q is out of range %d-%d", s, sp.min, sp.max)
	}
	if s == "" {
		return 0, "a value is missing"
	}
	return 0, fmt.Sprintf("cannot parse %q", s)
}

// parseList parses a list of values, ranges and steps into a bitset (bit value-base).
func parseList(f string, sp fieldSpec) (bitset, string) {
	var bs bitset
	for item := range strings.SplitSeq(f, ",") {
		if reason := parseItem(item, &sp, &bs); reason != "" {
			return bs, reason
		}
	}
	if sp.sevenIsSunday && bs.has(7) {
		bs[0] = bs[0]&^(1<<7) | 1
	}
	return bs, ""
}

func parseItem(item string, sp *fieldSpec, bs *bitset) string {
	if item == "" {
		return "empty list item"
	}
	if strings.Contains(item, "?") {
		if sp.name == "day-of-month" || sp.name == "day-of-week" {
			return `"?" must be the whole field`
		}
		return `"?" is only allowed in day-of-month and day-of-week`
	}
	if sp.names == "" && sp.name != "day-of-month" {
		if i := strings.IndexAny(asciiUpper(item), "LW#"); i >= 0 {
			return fmt.Sprintf("%q is only allowed in day-of-month and day-of-week", asciiUpper(item[i:i+1]))
		}
	}
	rng, stepText, hasStep := strings.Cut(item, "/")
	step := 1
	if hasStep {
		n, ok := parseNumber(stepText)
		if !ok || n < 1 || n > sp.maxStep {
			return fmt.Sprintf("step %q in %q must be a number from 1 to %d", stepText, item, sp.maxStep)
		}
		step = n
	}
	var lo, hi int
	if rng == "*" {
		lo, hi = sp.min, sp.max
	} else {
		a, b, isRange := strings.Cut(rng, "-")
		var reason string
		if lo, reason = sp.value(a); reason != "" {
			return reason
		}
		switch {
		case isRange:
			if hi, reason = sp.value(b); reason != "" {
				return reason
			}
		case hasStep:
			hi = sp.max
		default:
			hi = lo
		}
	}
	if lo > hi && sp.sevenIsSunday { // 7 is Sunday: 5-7 is Friday to Sunday, 7-2 Sunday to Tuesday
		lo, hi = lo%7, hi%7
	}
	if lo > hi {
		if !sp.wrap {
			return fmt.Sprintf("range %q starts after it ends", rng)
		}
		hi += sp.span()
	}
	for v := lo; v <= hi; v += step {
		x := v
		if x > sp.max {
			x -= sp.span()
		}
		bs.set(x - sp.base)
	}
	return ""
}

// fieldErrors collects one reason per bad field of an expression.
type fieldErrors []string

func (fe *fieldErrors) add(field, reason string) {
	*fe = append(*fe, field+": "+reason)
}

// parseCron parses a Quartz (6 or 7 fields), Unix (5 fields) or descriptor expression. It returns
// a cronExpr, or for @every the interval, or the reasons it is invalid.
func parseCron(expr string) (*cronExpr, time.Duration, []string) {
	if len(expr) > maxCronLength {
		return nil, 0, []string{fmt.Sprintf("is too long (%d characters; at most %d)", len(expr), maxCronLength)}
	}
	if strings.HasPrefix(expr, "@") {
		words := strings.Fields(expr)
		if strings.EqualFold(words[0], "@every") {
			if len(words) != 2 {
				return nil, 0, []string{fmt.Sprintf("%q: @every takes one duration, such as \"@every 90s\"", expr)}
			}
			every, reason := parseEveryText(words[1])
			if reason != "" {
				return nil, 0, []string{reason}
			}
			return nil, every, nil
		}
		q, ok := descriptor(expr)
		if !ok {
			return nil, 0, []string{fmt.Sprintf("unknown descriptor %q: use @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>", expr)}
		}
		expr = q
	}
	fields := strings.Fields(expr)
	var (
		e    cronExpr
		errs fieldErrors
	)
	var domText, dowText string
	quartz := true
	switch len(fields) {
	case 5:
		quartz = false
		e.second = 1
		e.minute = parseBits(fields[0], minuteSpec(), &errs)
		e.hour = parseBits(fields[1], hourSpec(), &errs)
		domText, dowText = fields[2], fields[4]
		e.month = uint16(parseBits(fields[3], monthSpec(), &errs))
		e.allYears = true
	case 6, 7:
		e.second = parseBits(fields[0], secondSpec(), &errs)
		e.minute = parseBits(fields[1], minuteSpec(), &errs)
		e.hour = parseBits(fields[2], hourSpec(), &errs)
		domText, dowText = fields[3], fields[5]
		e.month = uint16(parseBits(fields[4], monthSpec(), &errs))
		e.allYears = true
		if len(fields) == 7 { // * is Quartz's year range, 1970–2099
			e.allYears = false
			bs, reason := parseList(fields[6], yearSpec())
			if reason != "" {
				errs.add("year", reason)
			}
			e.years = bs
		}
	default:
		return nil, 0, []string{fmt.Sprintf(
			"%q has %d fields; want 6 or 7 (Quartz: second minute hour day-of-month month day-of-week [year]) or 5 (Unix: minute hour day-of-month month day-of-week)",
			expr, len(fields))}
	}
	dom, domState := parseDOM(domText, quartz, &errs)
	dow, dowState := parseDOW(dowText, quartz, &errs)
	if len(errs) > 0 {
		return nil, 0, errs
	}
	e.days = combineDays(dom, domState, dow, dowState, quartz, &errs)
	if len(errs) > 0 {
		return nil, 0, errs
	}
	return &e, 0, nil
}

// parseBits parses a second, minute, hour or month field.
func parseBits(f string, sp fieldSpec, errs *fieldErrors) uint64 {
	bs, reason := parseList(f, sp)
	if reason != "" {
		errs.add(sp.name, reason)
	}
	return bs[0]
}

// How a day field was written.
const (
	dayRestricted = iota // a value, list, L, W or #
	dayStar              // *
	dayNoSpec            // ?
)

func parseDOM(f string, quartz bool, errs *fieldErrors) (dayRule, int) {
	const name = "day-of-month"
	var r dayRule
	switch f {
	case "?":
		return r, dayNoSpec
	case "*":
		return r, dayStar
	}
	// u has the letters upper-cased, byte for byte, so its indexes are f's.
	if u := asciiUpper(f); strings.ContainsAny(u, "LW#") {
		if !quartz {
			errs.add(name, `"L", "W" and "#" need the 6-field Quartz form (seconds first)`)
			return r, dayRestricted
		}
		if strings.Contains(u, "#") {
			errs.add(name, `"#" is only allowed in day-of-week`)
			return r, dayRestricted
		}
		if strings.ContainsAny(u, ",/*") {
			errs.add(name, fmt.Sprintf(`cannot parse %q: "L" and "W" must be used alone, such as L, L-2, LW or 15W`, f))
			return r, dayRestricted
		}
		if rest, ok := strings.CutPrefix(u, "L"); ok {
			rest, r.domW = strings.CutSuffix(rest, "W")
			r.dom = domLast
			if rest != "" {
				n, ok := parseNumber(strings.TrimPrefix(rest, "-"))
				if !strings.HasPrefix(rest, "-") || !ok || n > 30 {
					errs.add(name, fmt.Sprintf(`cannot parse %q: "L" may be followed only by an offset from 1 to 30 and W, such as L, L-2, LW or L-2W`, f))
					return r, dayRestricted
				}
				r.domN = n
			}
			return r, dayRestricted
		}
		if d, ok := strings.CutSuffix(u, "W"); ok && !strings.ContainsAny(d, "LW") {
			n, ok := parseNumber(d)
			if !ok {
				errs.add(name, fmt.Sprintf(`cannot parse %q: "W" follows a single day, such as 15W (not a list or range)`, f))
				return r, dayRestricted
			}
			if n < 1 || n > 31 {
				errs.add(name, fmt.Sprintf("%q is out of range 1-31", d))
				return r, dayRestricted
			}
			r.dom, r.domN = domNearest, n
			return r, dayRestricted
		}
		errs.add(name, fmt.Sprintf(`cannot parse %q: "L" and "W" must be used alone, such as L, L-2, LW or 15W`, f))
		return r, dayRestricted
	}
	bs, reason := parseList(f, domSpec())
	if reason != "" {
		errs.add(name, reason)
	}
	r.dom, r.domBits = domList, bs[0]
	return r, dayRestricted
}

func parseDOW(f string, quartz bool, errs *fieldErrors) (dayRule, int) {
	const name = "day-of-week"
	var r dayRule
	switch f {
	case "?":
		return r, dayNoSpec
	case "*":
		return r, dayStar
	}
	sp := dowSpec(quartz)
	weekday := func(v int) int { // Go numbering, 0 = Sunday
		if quartz {
			return v - 1
		}
		return v % 7
	}
	if u := asciiUpper(f); strings.ContainsAny(u, "L#") { // u's indexes are f's
		if !quartz {
			errs.add(name, `"L" and "#" need the 6-field Quartz form (seconds first)`)
			return r, dayRestricted
		}
		if u == "L" { // alone, L is Saturday
			return listDOW(1 << 6), dayRestricted
		}
		if strings.ContainsAny(u, ",-/*") || strings.Count(u, "L")+strings.Count(u, "#") > 1 {
			errs.add(name, fmt.Sprintf(`cannot parse %q: "L" and "#" must be used alone, such as L, 6L (the last Friday) or 6#3 (the third Friday)`, f))
			return r, dayRestricted
		}
		if v, ok := strings.CutSuffix(u, "L"); ok {
			n, reason := sp.value(f[:len(v)])
			if reason != "" {
				errs.add(name, reason)
				return r, dayRestricted
			}
			r.dow, r.dowWD = dowLast, weekday(n)
			return r, dayRestricted
		}
		if v, k, ok := strings.Cut(u, "#"); ok && !strings.Contains(v, "L") {
			n, reason := sp.value(f[:len(v)])
			if reason != "" {
				errs.add(name, reason)
				return r, dayRestricted
			}
			nth, ok := parseNumber(k)
			if !ok || nth < 1 || nth > 5 {
				errs.add(name, fmt.Sprintf("cannot parse %q: \"#\" must be followed by a number from 1 to 5, such as 6#3 (the third Friday)", f))
				return r, dayRestricted
			}
			r.dow, r.dowWD, r.dowK = dowNth, weekday(n), nth
			return r, dayRestricted
		}
		errs.add(name, fmt.Sprintf(`cannot parse %q: "L" and "#" must be used alone, such as L, 6L (the last Friday) or 6#3 (the third Friday)`, f))
		return r, dayRestricted
	}
	bs, reason := parseList(f, sp)
	if reason != "" {
		errs.add(name, reason)
		return r, dayRestricted
	}
	var days uint8
	for v := sp.min; v <= sp.max; v++ {
		if bs.has(v) {
			days |= 1 << uint(weekday(v))
		}
	}
	return listDOW(days), dayRestricted
}

// listDOW is the rule for a set of weekdays (bit 0 = Sunday).
func listDOW(days uint8) dayRule {
	r := dayRule{dow: dowList}
	for wd1 := range 7 {
		for d := 1; d <= 31; d++ {
			if days&(1<<uint((wd1+d-1)%7)) != 0 {
				r.dowMask[wd1] |= 1 << uint(d)
			}
		}
	}
	return r
}

// combineDays applies the rules that tie the two day fields together.
func combineDays(dom dayRule, domState int, dow dayRule, dowState int, quartz bool, errs *fieldErrors) dayRule {
	r := dow
	r.dom, r.domBits, r.domN, r.domW = dom.dom, dom.domBits, dom.domN, dom.domW
	if !quartz { // Vixie: * and ? leave a field unrestricted; both restricted means either (see mask)
		return r
	}
	switch {
	case domState == dayNoSpec && dowState == dayNoSpec:
		errs.add("day-of-month and day-of-week", `"?" may be used in only one of them`)
	case domState == dayRestricted && dowState == dayRestricted:
		errs.add("day-of-month and day-of-week",
			"specifying both a day-of-week and a day-of-month is not supported; use ? in one of them")
	}
	// A * beside a restricted field acts as ?; * in both means every day.
	return r
}

// asciiUpper upper-cases ASCII letters only, so the result has the same length and byte offsets.
func asciiUpper(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
