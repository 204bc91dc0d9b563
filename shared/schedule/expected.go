package schedule

import (
	"fmt"
	"time"
)

// Kinds of an Expected instant: what the schedule makes of one instant it names.
const (
	// ExpectedFire: the schedule fires at the instant.
	ExpectedFire = "fire"
	// ExpectedExcluded: the schedule names the instant, and its calendars exclude the day.
	ExpectedExcluded = "excluded_date"
	// ExpectedOutsideWindow: the schedule names the instant, before its start_at or after its
	// end_at.
	ExpectedOutsideWindow = "outside_window"
	// ExpectedDSTGap: the schedule names a wall time that a spring-forward skipped, and its
	// dst_gap policy is skip; the instant is where the gap ends. (Under the default policy,
	// shift_forward, the fire happens there instead: an ExpectedFire noted dst_gap_shifted.)
	ExpectedDSTGap = "dst_gap"
)

// Expected is one instant a schedule names and what it makes of it.
type Expected struct {
	// At is the instant, in UTC, jitter included.
	At time.Time
	// Kind is one of the Expected… constants.
	Kind string
	// Detail says, for people, why an instant that is not a fire is not one.
	Detail string
	// Notes are a fire's, as Preview gives them (a DST shift or overlap).
	Notes []Note
}

// Expected lists the instants of the schedule in [from, to), oldest first: its fires, and the
// instants it would have fired at but for its calendars, its window or a DST gap. It stops after
// limit entries and then reports true. A fixed_delay schedule names no instant of its own (each
// fire follows the end of the run before) and gives none.
//
// It runs the schedule without its calendars and window, and judges each instant as Next does:
// the fires it lists are exactly Next's (the property test holds it to that).
func (s *Schedule) Expected(from, to time.Time, limit int) (list []Expected, more bool) {
	if s.mode == modeDelay || !from.Before(to) || limit <= 0 {
		return nil, false
	}
	free := *s
	free.excl, free.hasStart, free.hasEnd = exclusions{}, false, false
	add := func(e Expected) bool {
		if len(list) == limit {
			more = true
			return false
		}
		list = append(list, e)
		return true
	}
	prev := from.Add(-time.Nanosecond)
	for {
		var tr trace
		at, ok := free.next(prev, &tr)
		// Walls a DST gap dropped come before the instant that follows them.
		for _, w := range tr.gapsSkipped {
			g := time.Unix(resolve(s.loc, w, periodAt(s.loc, w)).t1, 0).Add(s.offset).UTC()
			if g.Before(from) || !g.Before(to) || ok && g.After(at) {
				continue
			}
			if !add(Expected{At: g, Kind: ExpectedDSTGap, Detail: fmt.Sprintf(
				"%s does not exist in %s; skipped (dst_gap %q)", formatWall(w), s.loc, "skip")}) {
				return list, more
			}
		}
		if !ok || !at.Before(to) {
			return list, more
		}
		if !add(s.judge(at, &tr)) {
			return list, more
		}
		prev = at
		if s.mode == modeOnce {
			return list, more
		}
	}
}

// judge says what the schedule makes of at, an instant its calendar- and window-free copy fires.
func (s *Schedule) judge(at time.Time, tr *trace) Expected {
	nominal := at.Add(-s.offset)
	switch {
	case s.hasStart && nominal.Before(s.start):
		return Expected{At: at, Kind: ExpectedOutsideWindow, Detail: "before the schedule's start_at " + s.start.UTC().Format(time.RFC3339)}
	case s.hasEnd && nominal.After(s.end):
		return Expected{At: at, Kind: ExpectedOutsideWindow, Detail: "after the schedule's end_at " + s.end.UTC().Format(time.RFC3339)}
	}
	if !s.excl.empty() {
		if day := s.localDay(nominal); s.excl.has(day) {
			return Expected{At: at, Kind: ExpectedExcluded, Detail: fmt.Sprintf("no fire on %s: %s", formatDay(day), s.excl.why(day))}
		}
	}
	return Expected{At: at, Kind: ExpectedFire, Notes: s.dstNotes(tr)}
}
