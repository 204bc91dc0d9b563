// Package schedule turns a job's schedule and time zone into fire instants. It is pure: no I/O,
// no clock; callers pass the instant to compute from.
//
// A schedule is one of four kinds (domain.ScheduleKind):
//   - cron: a Quartz cron expression (6 or 7 fields, seconds first), a 5-field Unix expression or a
//     descriptor (@daily, @every 90s), matched against the wall clock of the job's zone;
//   - fixed_rate: anchor + k·every, k ≥ 0, whatever the runs take;
//   - fixed_delay: every after the previous execution finished;
//   - once: at one instant.
//
// Any kind may carry a window (start_at, end_at), excluded dates and jitter.
//
// Describe says a schedule in words for people, in English or Vietnamese, from the same parsed
// expression that computes the fires.
//
// Cron expressions are matched on the local wall-clock calendar, then each matching wall time is
// mapped to instants in the zone. A wall time that a spring-forward skips fires when the gap ends
// (dst_gap "shift_forward", the default; several in one gap fire once) or not at all ("skip"); one
// that a fall-back repeats fires at its first occurrence (dst_overlap "first", the default), its
// second ("last") or both ("both").
package schedule

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // zone rules are compiled in so results never depend on the host image

	"github.com/vecron/vecron/shared/domain"
)

// Limits of the values a schedule takes.
const (
	// MaxJitter is the largest jitter a schedule may have.
	MaxJitter = time.Hour
	// MinInterval is the shortest every of fixed_rate and fixed_delay, and of @every.
	MinInterval = time.Second
	// MaxExcludedDates is how many excluded dates a schedule may list.
	MaxExcludedDates = 1000
)

const (
	// horizonYears is how far past its input Next searches a cron expression. The calendar
	// repeats every 400 years, so an expression that matches no wall time in that span (or only
	// wall times a clock change skips, with dst_gap "skip") never fires.
	horizonYears = 400
	// maxScan bounds the candidate wall times one Next examines: each is a fire, or a wall time
	// in a gap (skipped, at most one per gap), so a few hundred is plenty within the horizon.
	maxScan = 4 * horizonYears
	// minInstant and maxInstant bound the instants a schedule deals in: 0001-01-01T00:00:00Z and
	// 9999-12-31T23:59:59Z, as Unix seconds.
	minInstant = -62135596800
	maxInstant = 253402300799
)

// mode is how a Schedule computes its fires.
type mode uint8

const (
	modeCron  mode = iota // wall-clock cron expression
	modeRate              // fixed_rate and @every
	modeDelay             // fixed_delay
	modeOnce              // once
)

// DST policies, as stored.
const (
	gapShift = iota
	gapSkip
)

const (
	overlapFirst = iota
	overlapLast
	overlapBoth
)

// Schedule is a validated schedule bound to its time zone. It is immutable and safe for
// concurrent use.
type Schedule struct {
	kind     domain.ScheduleKind
	mode     mode
	loc      *time.Location
	cron     *cronExpr     // modeCron
	every    time.Duration // modeRate, modeDelay
	anchor   time.Time     // modeRate
	at       time.Time     // modeOnce
	start    time.Time
	end      time.Time
	hasStart bool
	hasEnd   bool
	gap      uint8
	overlap  uint8
	excl     exclusions
	jitter   time.Duration // the bound
	offset   time.Duration // this job's jitter, in [0, jitter)
}

// Parse validates s in time zone tz ("" means domain.DefaultTimezone). On bad input it returns a
// nil Schedule and a *domain.ValidationError naming every bad field: "schedule.kind",
// "schedule.cron", "schedule.every", "schedule.anchor", "schedule.at", "schedule.start_at",
// "schedule.end_at", "schedule.dst_gap", "schedule.dst_overlap", "schedule.jitter",
// "schedule.excluded_dates[i]" or "timezone". A cron reason names the cron field, such as
// `day-of-month: "32" is out of range 1-31`.
func Parse(in domain.Schedule, tz string) (*Schedule, error) {
	var v domain.ValidationError
	loc, err := LoadLocation(tz)
	if err != nil {
		v.Add("timezone", err.Error())
	}
	s := &Schedule{loc: loc}
	expr := strings.TrimSpace(in.Cron)
	kind := in.Kind
	if kind == "" {
		kind = domain.ScheduleCron
		if expr == "" && (in.Every != 0 || in.At != nil || in.Anchor != nil) {
			v.Add("schedule.kind", `is required: "cron", "fixed_rate", "fixed_delay" or "once"`)
			kind = ""
		}
	}
	s.kind = kind
	notFor := func(field string) {
		v.Add(field, fmt.Sprintf("does not apply to kind %q", kind))
	}

	// Which fields the kind takes, and the kind's own.
	window, dst, excl := true, true, true
	switch kind {
	case domain.ScheduleCron:
		s.parseCronKind(expr, in, &v)
		if in.At != nil {
			notFor("schedule.at")
		}
	case domain.ScheduleFixedRate:
		s.mode = modeRate
		dst = false
		s.every = parseEvery(in.Every, &v)
		switch {
		case in.Anchor != nil:
			s.anchor = checkInstant("schedule.anchor", *in.Anchor, &v)
		case in.StartAt != nil:
			s.anchor = in.StartAt.UTC() // checked with the window
		default:
			v.Add("schedule.anchor", "is required for fixed_rate: the instant it fires at first (or set start_at, which then serves as the anchor)")
		}
	case domain.ScheduleFixedDelay:
		s.mode = modeDelay
		dst = false
		s.every = parseEvery(in.Every, &v)
		if in.Anchor != nil {
			notFor("schedule.anchor")
		}
	case domain.ScheduleOnce:
		s.mode = modeOnce
		dst = false
		if in.At == nil {
			v.Add("schedule.at", "is required for once: the instant it fires at")
		} else {
			s.at = checkInstant("schedule.at", *in.At, &v)
		}
		if in.Every != 0 {
			notFor("schedule.every")
		}
		if in.Anchor != nil {
			notFor("schedule.anchor")
		}
	case "":
		// reported above
	default:
		v.Add("schedule.kind", fmt.Sprintf(`%q is not a schedule kind: use "cron", "fixed_rate", "fixed_delay" or "once"`, kind))
	}
	if kind != domain.ScheduleCron && kind != "" {
		if expr != "" {
			notFor("schedule.cron")
		}
		if kind != domain.ScheduleOnce && in.At != nil {
			notFor("schedule.at")
		}
	}

	if window {
		if in.StartAt != nil {
			s.start, s.hasStart = checkInstant("schedule.start_at", *in.StartAt, &v), true
		}
		if in.EndAt != nil {
			s.end, s.hasEnd = checkInstant("schedule.end_at", *in.EndAt, &v), true
		}
		if s.hasStart && s.hasEnd && s.end.Before(s.start) {
			v.Add("schedule.end_at", "is before start_at")
		}
	} else {
		if in.StartAt != nil {
			notFor("schedule.start_at")
		}
		if in.EndAt != nil {
			notFor("schedule.end_at")
		}
	}
	s.parseDST(in, dst, notFor, &v)
	s.parseJitter(in.Jitter, &v)
	if excl {
		s.excl = parseExcludedDates(in.ExcludedDates, &v)
	} else if len(in.ExcludedDates) > 0 {
		notFor("schedule.excluded_dates[0]")
	}

	if s.mode == modeOnce && len(v.Fields) == 0 {
		switch {
		case s.hasStart && s.at.Before(s.start):
			v.Add("schedule.at", "never fires: it is before start_at")
		case s.hasEnd && s.at.After(s.end):
			v.Add("schedule.at", "never fires: it is after end_at")
		case s.excl.has(s.localDay(s.at)):
			v.Add("schedule.at", fmt.Sprintf("never fires: %s is an excluded date", formatDay(s.localDay(s.at))))
		}
	}
	s.parseCalendarNames(in.Calendars, &v)
	if s.cron != nil && len(v.Fields) == 0 && !s.cron.firesEver(&s.excl) {
		if s.cron.firesEver(&exclusions{}) {
			v.Add("schedule.cron", "never fires: every date it matches is an excluded date")
		} else {
			v.Add("schedule.cron", "never fires: no date matches its day-of-month, day-of-week, month and year fields together")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseCronKind validates the fields of a cron schedule.
func (s *Schedule) parseCronKind(expr string, in domain.Schedule, v *domain.ValidationError) {
	if in.Every != 0 {
		v.Add("schedule.every", `does not apply to kind "cron": use the expression "@every 90s" or kind "fixed_rate"`)
	}
	switch {
	case expr == "":
		v.Add("schedule.cron", "is required")
		return
	case strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ="):
		v.Add("schedule.cron", "must not embed a time zone; set the timezone field instead")
		return
	}
	e, every, reasons := parseCron(expr)
	for _, r := range reasons {
		v.Add("schedule.cron", r)
	}
	if len(reasons) > 0 {
		return
	}
	if every > 0 { // @every: a fixed rate from the anchor, by default the Unix epoch
		s.mode, s.every, s.anchor = modeRate, every, time.Unix(0, 0).UTC()
		if in.Anchor != nil {
			s.anchor = checkInstant("schedule.anchor", *in.Anchor, v)
		}
		return
	}
	s.cron = e
	if in.Anchor != nil {
		v.Add("schedule.anchor", `does not apply to kind "cron" (only to "@every" expressions)`)
	}
}

// parseEveryText reads the argument of @every: a duration of at least MinInterval.
func parseEveryText(arg string) (time.Duration, string) {
	d, err := time.ParseDuration(arg)
	if err != nil {
		return 0, fmt.Sprintf("@every needs a duration such as 90s or 1h30m, got %q", arg)
	}
	if d < MinInterval {
		return 0, fmt.Sprintf("@every %s is shorter than %s", arg, MinInterval)
	}
	return d, ""
}

// parseEvery validates the interval of fixed_rate and fixed_delay.
func parseEvery(d domain.Duration, v *domain.ValidationError) time.Duration {
	switch every := time.Duration(d); {
	case every == 0:
		v.Add("schedule.every", fmt.Sprintf(`is required: a duration of at least %s, such as "15m"`, MinInterval))
	case every < MinInterval:
		v.Add("schedule.every", fmt.Sprintf("must be at least %s", MinInterval))
	default:
		return every
	}
	return 0
}

// checkInstant checks that t lies in years 1–9999 and returns it in UTC.
func checkInstant(field string, t time.Time, v *domain.ValidationError) time.Time {
	if u := t.Unix(); u < minInstant || u > maxInstant {
		v.Add(field, "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
	}
	return t.UTC()
}

func (s *Schedule) parseDST(in domain.Schedule, applies bool, notFor func(string), v *domain.ValidationError) {
	if !applies {
		if in.DSTGap != "" {
			notFor("schedule.dst_gap")
		}
		if in.DSTOverlap != "" {
			notFor("schedule.dst_overlap")
		}
		return
	}
	switch in.DSTGap {
	case "", domain.DSTGapShiftForward:
		s.gap = gapShift
	case domain.DSTGapSkip:
		s.gap = gapSkip
	default:
		v.Add("schedule.dst_gap", fmt.Sprintf("%q is not a policy: use %q or %q", in.DSTGap, domain.DSTGapShiftForward, domain.DSTGapSkip))
	}
	switch in.DSTOverlap {
	case "", domain.DSTOverlapFirst:
		s.overlap = overlapFirst
	case domain.DSTOverlapLast:
		s.overlap = overlapLast
	case domain.DSTOverlapBoth:
		s.overlap = overlapBoth
	default:
		v.Add("schedule.dst_overlap", fmt.Sprintf("%q is not a policy: use %q, %q or %q", in.DSTOverlap, domain.DSTOverlapFirst, domain.DSTOverlapLast, domain.DSTOverlapBoth))
	}
}

func (s *Schedule) parseJitter(d domain.Duration, v *domain.ValidationError) {
	j := time.Duration(d)
	switch {
	case j < 0:
		v.Add("schedule.jitter", "must not be negative")
	case j > MaxJitter:
		v.Add("schedule.jitter", fmt.Sprintf("must be at most %s", MaxJitter))
	case s.mode == modeRate && s.every > 0 && j >= s.every:
		v.Add("schedule.jitter", fmt.Sprintf("must be shorter than the interval (%s)", s.every))
	default:
		s.jitter = j
	}
}

// LoadLocation resolves an IANA zone name; "" means domain.DefaultTimezone. "Local" is rejected
// because it would make a schedule depend on the host's configuration. The error names the zone.
func LoadLocation(tz string) (*time.Location, error) {
	if tz == "" {
		tz = domain.DefaultTimezone
	}
	if tz == "Local" || len(tz) > maxZoneName || !zoneNameRE.MatchString(tz) {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone such as %q", tz, domain.DefaultTimezone)
	}
	if loc, ok := locations.Load(tz); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q: name an IANA zone such as %q", tz, domain.DefaultTimezone)
	}
	locations.Store(tz, loc)
	return loc, nil
}

// locations caches the zones loaded: time.LoadLocation reads and parses the zone's data every
// time, which was a seventh of the tick's work. Only zones that exist, spelled as the zone
// database spells them, are kept, so the cache is bounded by the zone database: "America/./X"
// and "America//X" load too, and would let anyone who may preview a schedule grow it at will.
var locations sync.Map

// zoneNameRE is how the zone database names zones: segments of letters, digits, "_", "-" and
// "+", never "." or "..", joined by single slashes.
var zoneNameRE = regexp.MustCompile(`^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$`)

// maxZoneName bounds a zone name; the longest in the zone database has 32 bytes.
const maxZoneName = 64

// Location is the zone the schedule is evaluated in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Kind is the schedule's kind (cron for an @every expression).
func (s *Schedule) Kind() domain.ScheduleKind { return s.kind }

// WithSeed returns a copy of s whose fires are all delayed by the same jitter offset, derived from
// seed (the job id): the 64-bit FNV-1a hash of seed modulo the schedule's jitter, truncated to
// the millisecond. Without a seed ("") or without jitter the offset is 0.
func (s *Schedule) WithSeed(seed string) *Schedule {
	c := *s
	c.offset = 0
	if seed != "" && s.jitter > 0 {
		h := fnv.New64a()
		_, _ = h.Write([]byte(seed))
		c.offset = time.Duration(h.Sum64() % uint64(s.jitter)).Truncate(time.Millisecond)
	}
	return &c
}

// Next returns the first fire strictly after after, in UTC, and false when the schedule never
// fires again. For fixed_delay, after is the instant the previous execution finished (or the
// job's creation, for the first fire) and the fire is every later.
//
// The window and excluded dates apply to the nominal fire; the jitter offset is added last.
func (s *Schedule) Next(after time.Time) (time.Time, bool) {
	return s.next(after, nil)
}

func (s *Schedule) next(after time.Time, tr *trace) (time.Time, bool) {
	switch s.mode {
	case modeCron:
		return s.nextCron(after, tr)
	case modeRate:
		return s.nextRate(after, tr)
	case modeDelay:
		return s.nextDelay(after, tr)
	}
	if f := s.at.Add(s.offset); f.After(after) {
		return f.UTC(), true
	}
	return time.Time{}, false
}

// lowerBound is the instant nominal fires must be strictly after: after less the jitter
// offset, and not before start_at.
func (s *Schedule) lowerBound(after time.Time) time.Time {
	lower := after.Add(-s.offset)
	if s.hasStart && lower.Before(s.start) {
		lower = s.start.Add(-time.Nanosecond)
	}
	return lower
}

// finish applies end_at and the jitter offset to a nominal fire.
func (s *Schedule) finish(f time.Time) (time.Time, bool) {
	if s.hasEnd && f.After(s.end) {
		return time.Time{}, false
	}
	return f.Add(s.offset).UTC(), true
}

// trace records, for Preview, how DST and excluded dates shaped a fire.
type trace struct {
	gapShifted  bool
	gapWall     int64   // the first matching wall time of the gap a shifted fire came from
	gapsSkipped []int64 // matching wall times in gaps that did not fire (dst_gap skip)
	overlapped  bool
	overlapWall int64
	occurrence  int   // 1 or 2: which occurrence of a repeated wall time fired
	t1, t2      int64 // the two occurrences
	movedFrom   int64 // fixed_delay: the excluded day a fire was moved from
	moved       bool
}

// nextCron finds the first fire of a wall-clock cron expression after after.
//
// Matching wall times come in ascending order from a civil-calendar search, and map to instants
// in the same order, with one exception: near a fall-back, the wall times of the overlap have a
// second occurrence later than after even when they are not later than after's own wall time.
// So the search starts from after's wall time, moved back to the start of the overlap when after
// lies in its first occurrence and the policy fires second occurrences, or forward to its end
// when after lies in its second occurrence and the policy fires first occurrences only.
func (s *Schedule) nextCron(after time.Time, tr *trace) (time.Time, bool) {
	as := s.lowerBound(after).Unix()
	if as > maxInstant {
		return time.Time{}, false
	}
	as = max(as, minInstant-1)
	pa := periodAt(s.loc, as)
	w := as + pa.offset
	limit := min(civilOf(w).year+horizonYears, 9999)
	lb := w
	// Near a clock change? periodAt's bounds may be artificial (see spanAt): check the true ones.
	near := pa.end != math.MaxInt64 && as >= pa.end-maxOffset || pa.start != math.MinInt64 && as < pa.start+maxOffset
	if near {
		pa = spanAt(s.loc, as)
	}
	if near && pa.end != math.MaxInt64 && as >= pa.end-maxOffset {
		// Does a fall-back at pa.end repeat wall times up to after's?
		if next := offsetAt(s.loc, pa.end); next < pa.offset && as >= pa.end-(pa.offset-next) {
			overlapStart := pa.end + next - 1 // the wall time just before the repeat begins
			switch s.overlap {
			case overlapLast:
				lb = overlapStart
			case overlapBoth:
				// The rest of the first occurrence, or else the second occurrence of the earliest
				// match in the overlap.
				var tr2 trace
				var tr2p *trace
				if tr != nil {
					tr2p = &tr2
				}
				f1, ok1 := s.scan(w, as, limit, pa, tr)
				f2, ok2 := s.scan(overlapStart, as, limit, pa, tr2p)
				if ok2 && (!ok1 || f2 < f1) {
					f1, ok1 = f2, true
					if tr != nil {
						*tr = tr2
					}
				}
				if !ok1 {
					return time.Time{}, false
				}
				return s.finish(time.Unix(f1, 0))
			}
		}
	} else if near && pa.start != math.MinInt64 && as < pa.start+maxOffset && s.overlap == overlapFirst {
		// Does after lie in the second occurrence of wall times a fall-back at pa.start repeated?
		if prev := offsetAt(s.loc, pa.start-1); prev > pa.offset && as < pa.start+(prev-pa.offset) {
			lb = max(lb, pa.start+prev-1)
		}
	}
	f, ok := s.scan(lb, as, limit, pa, tr)
	if !ok {
		return time.Time{}, false
	}
	return s.finish(time.Unix(f, 0))
}

// scan returns the first fire later than Unix second as among the wall times matching the
// expression after wall seconds lb. hint is after's zone period.
func (s *Schedule) scan(lb, as int64, limit int, hint period, tr *trace) (int64, bool) {
	for range maxScan {
		c, ok := s.cron.nextCivil(lb, limit, &s.excl)
		if !ok {
			return 0, false
		}
		w := c.wallSeconds()
		r := resolve(s.loc, w, hint)
		switch r.n {
		case single:
			if r.t1 > as {
				return r.t1, true
			}
			lb = w
		case repeated:
			f, occ := int64(0), 0
			switch {
			case s.overlap != overlapLast && r.t1 > as:
				f, occ = r.t1, 1
			case s.overlap != overlapFirst && r.t2 > as:
				f, occ = r.t2, 2
			}
			if occ > 0 {
				if tr != nil {
					tr.overlapped, tr.overlapWall, tr.occurrence, tr.t1, tr.t2 = true, w, occ, r.t1, r.t2
				}
				return f, true
			}
			lb = w
		default: // in a gap
			if s.gap == gapShift && r.t1 > as && !s.excl.has(floorDiv(r.gapEnd, secondsPerDay)) {
				if tr != nil {
					tr.gapShifted, tr.gapWall = true, w
				}
				return r.t1, true
			}
			if s.gap == gapSkip && tr != nil && len(tr.gapsSkipped) < 10 {
				tr.gapsSkipped = append(tr.gapsSkipped, w)
			}
			lb = r.gapEnd - 1 // every wall time up to the gap's end is in the gap too
		}
	}
	return 0, false
}

// nextRate finds the first fire of fixed_rate (and @every) after after, skipping fires on
// excluded dates.
func (s *Schedule) nextRate(after time.Time, _ *trace) (time.Time, bool) {
	lower := s.lowerBound(after)
	for range s.excl.rounds() { // each round passes at least one excluded date
		f, ok := s.rateAfter(lower)
		if !ok || (s.hasEnd && f.After(s.end)) {
			return time.Time{}, false
		}
		if !s.excl.empty() {
			if day := s.localDay(f); s.excl.has(day) {
				next, ok := s.excl.nextAllowed(day)
				if !ok {
					return time.Time{}, false
				}
				lower = s.startOfDay(next).Add(-time.Nanosecond)
				continue
			}
		}
		return s.finish(f)
	}
	return time.Time{}, false
}

// rateAfter returns the first anchor + k·every (k ≥ 0) strictly after lower.
func (s *Schedule) rateAfter(lower time.Time) (time.Time, bool) {
	if lower.Before(s.anchor) {
		return s.anchor, true
	}
	if lower.Unix() > maxInstant {
		return time.Time{}, false
	}
	// k = floor((lower - anchor) / every) + 1, in 128-bit nanoseconds: the span can exceed the
	// 292 years a time.Duration holds.
	ds := lower.Unix() - s.anchor.Unix()
	dn := int64(lower.Nanosecond()) - int64(s.anchor.Nanosecond())
	if dn < 0 {
		ds, dn = ds-1, dn+1e9
	}
	hi, lo := bits.Mul64(uint64(ds), 1e9)
	lo, carry := bits.Add64(lo, uint64(dn), 0)
	hi += carry
	k, _ := bits.Div64(hi, lo, uint64(s.every)) // hi < every: the span is under 2^70 ns
	hi, lo = bits.Mul64(k+1, uint64(s.every))
	sec, nsec := bits.Div64(hi, lo, 1e9)
	f := time.Unix(s.anchor.Unix()+int64(sec), int64(s.anchor.Nanosecond())+int64(nsec))
	if f.Unix() > maxInstant {
		return time.Time{}, false
	}
	return f.UTC(), true
}

// nextDelay returns the fire every after after (the end of the previous execution); one on an
// excluded date moves to the start of the next allowed day.
func (s *Schedule) nextDelay(after time.Time, tr *trace) (time.Time, bool) {
	if after.Unix() > maxInstant {
		return time.Time{}, false
	}
	f := after.Add(s.every)
	if s.hasStart && f.Before(s.start) {
		f = s.start
	}
	if !s.excl.empty() {
		if day := s.localDay(f); s.excl.has(day) {
			next, ok := s.excl.nextAllowed(day)
			if !ok {
				return time.Time{}, false
			}
			if tr != nil {
				tr.moved, tr.movedFrom = true, day
			}
			f = s.startOfDay(next)
		}
	}
	return s.finish(f)
}

// localDay is the day number (days since 1970-01-01) of t's date in the zone.
func (s *Schedule) localDay(t time.Time) int64 {
	u := t.Unix()
	return floorDiv(u+offsetAt(s.loc, u), secondsPerDay)
}

// startOfDay is the first instant of a local date: 00:00, its first occurrence when repeated,
// or the end of the gap when a clock change skips it.
func (s *Schedule) startOfDay(day int64) time.Time {
	w := day * secondsPerDay
	r := resolve(s.loc, w, periodAt(s.loc, w))
	return time.Unix(r.t1, 0).UTC()
}

// parseExcludedDates validates dates written YYYY-MM-DD.
func parseExcludedDates(dates []string, v *domain.ValidationError) exclusions {
	if len(dates) == 0 {
		return exclusions{}
	}
	if len(dates) > MaxExcludedDates {
		v.Add(fmt.Sprintf("schedule.excluded_dates[%d]", MaxExcludedDates),
			fmt.Sprintf("too many excluded dates: at most %d", MaxExcludedDates))
		dates = dates[:MaxExcludedDates]
	}
	ex := make([]int64, 0, len(dates))
	for i, d := range dates {
		day, ok := parseDate(d)
		if !ok {
			v.Add(fmt.Sprintf("schedule.excluded_dates[%d]", i), fmt.Sprintf(`%q is not a date: write YYYY-MM-DD, such as "2025-09-02"`, d))
			continue
		}
		ex = append(ex, day)
	}
	slices.Sort(ex)
	return exclusions{days: slices.Compact(ex)}
}

// parseDate reads a valid date YYYY-MM-DD (years 0001–9999) as a day number.
func parseDate(s string) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := parseNumber(s[0:4])
	m, ok2 := parseNumber(s[5:7])
	d, ok3 := parseNumber(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1 || m < 1 || m > 12 || d < 1 || d > lastDay(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}
