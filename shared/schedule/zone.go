package schedule

import (
	"math"
	"time"
)

// maxOffset bounds the UTC offset of any zone (the widest in the tz database are under 16 h), so
// the instants a wall time can denote lie within maxOffset of it.
const maxOffset = 26 * 3600

// period is a stretch of constant UTC offset: instants [start, end) in Unix seconds, unbounded
// ends as math.MinInt64 / math.MaxInt64. A period from periodAt may be shorter than the true
// stretch (see spanAt), never longer.
type period struct {
	start, end int64
	offset     int64 // seconds east of UTC
}

// periodAt returns the zone period containing Unix second sec.
func periodAt(loc *time.Location, sec int64) period {
	if loc == time.UTC {
		return period{start: math.MinInt64, end: math.MaxInt64}
	}
	t := time.Unix(sec, 0).In(loc)
	_, off := t.Zone()
	s, e := t.ZoneBounds()
	p := period{start: math.MinInt64, end: math.MaxInt64, offset: int64(off)}
	if !s.IsZero() {
		p.start = s.Unix()
	}
	if !e.IsZero() {
		p.end = e.Unix()
	}
	return p
}

// spanAt returns the stretch of constant offset around Unix second sec. It differs from
// periodAt for instants past a zone's last listed transition, where the zone follows a POSIX
// rule: there time.Time.ZoneBounds reports bounds at UTC year ends where nothing changes, and in
// leap years an end (December 31) that a lookup at it does not get past. spanAt merges those
// away, so the offset differs on each side of its bounds (within a few years).
func spanAt(loc *time.Location, sec int64) period {
	p := periodAt(loc, sec)
	for range 4 {
		if p.end == math.MaxInt64 {
			break
		}
		q := p.end
		np := periodAt(loc, q)
		if np.end <= q { // stuck on a leap year's December 31: the offset holds into the next year
			np = periodAt(loc, q+secondsPerDay)
			if np.offset != p.offset {
				p.end = max(np.start, q)
				break
			}
		}
		if np.offset != p.offset {
			break
		}
		p.end = np.end
	}
	for range 4 {
		if p.start == math.MinInt64 {
			break
		}
		pp := periodAt(loc, p.start-1)
		if pp.offset != p.offset {
			break
		}
		p.start = pp.start
	}
	return p
}

// offsetAt returns the UTC offset in force at Unix second sec.
func offsetAt(loc *time.Location, sec int64) int64 {
	if loc == time.UTC {
		return 0
	}
	_, off := time.Unix(sec, 0).In(loc).Zone()
	return int64(off)
}

// How many instants a wall time denotes.
const (
	inGap    = 0 // none: a clock change skipped it
	single   = 1
	repeated = 2 // two: a clock change repeated it
)

// resolved is what a wall time maps to in a zone.
type resolved struct {
	n int
	// t1 is the instant (repeated: the first); in a gap, the instant the gap ends.
	t1 int64
	// t2 is the second instant of a repeated wall time.
	t2 int64
	// gapEnd is, in a gap, the wall time at which the gap ends (the wall time of t1).
	gapEnd int64
}

// resolve maps wall seconds w to instants in loc. hint is a period of loc: when w's candidate
// instants all lie inside it, no zone lookup is needed. Otherwise the candidates come from every
// period within maxOffset of w, each checked against the offset actually in force, rather than
// relying on time.Date's normalisation.
func resolve(loc *time.Location, w int64, hint period) resolved {
	if hint.start <= w-maxOffset && w+maxOffset < hint.end {
		return resolved{n: single, t1: w - hint.offset}
	}
	// The periods within maxOffset of w, oldest first, with neighbours of equal offset merged
	// and holes closed (see spanAt): each later one starts where the one before ends.
	var (
		ps [8]period
		n  int
	)
	for q := w - maxOffset; n < len(ps); {
		p := periodAt(loc, q)
		if p.end <= q {
			// A leap year's December 31 that a lookup does not get past: the offset holds to
			// the next UTC year.
			p.end = q + secondsPerDay
		}
		switch {
		case n > 0 && p.offset == ps[n-1].offset:
			ps[n-1].end = p.end
		case n > 0:
			ps[n-1].end = p.start
			ps[n] = p
			n++
		default:
			ps[0] = p
			n = 1
		}
		if p.end == math.MaxInt64 || p.end > w+maxOffset {
			break
		}
		q = p.end
	}
	r := resolved{}
	for _, p := range ps[:n] {
		if t := w - p.offset; p.start <= t && t < p.end {
			switch r.n {
			case inGap:
				r.n, r.t1 = single, t
			default:
				r.n, r.t2 = repeated, t
			}
		}
	}
	if r.n != inGap {
		return r
	}
	// No instant: w lies where the wall clock jumped over it, between the last wall time of one
	// period and the first of the next.
	for i := 1; i < n; i++ {
		if first := ps[i].start + ps[i].offset; first > w {
			return resolved{n: inGap, t1: ps[i].start, gapEnd: first}
		}
	}
	// Unreachable for real zones; fall back on the last period.
	last := ps[n-1]
	return resolved{n: inGap, t1: last.start, gapEnd: last.start + last.offset}
}
