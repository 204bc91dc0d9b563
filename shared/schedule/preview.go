package schedule

import (
	"fmt"
	"time"
)

// Note kinds: what changed a fire in a Preview.
const (
	// NoteDSTGapShifted: the fire's wall time did not exist (a spring-forward skipped it); it
	// fired when the gap ended (dst_gap "shift_forward").
	NoteDSTGapShifted = "dst_gap_shifted"
	// NoteDSTGapSkipped: before this fire, a matching wall time did not exist and did not fire
	// (dst_gap "skip").
	NoteDSTGapSkipped = "dst_gap_skipped"
	// NoteDSTOverlap: the fire's wall time occurs twice (a fall-back repeated it).
	NoteDSTOverlap = "dst_overlap"
	// NoteExcludedDate: an excluded date suppressed fires before this one, or (fixed_delay) moved
	// this fire to the next allowed day.
	NoteExcludedDate = "excluded_date"
	// NoteJitter: the fire is delayed by the job's jitter offset.
	NoteJitter = "jitter"
)

// Fire is one fire of a Preview.
type Fire struct {
	// At is the fire instant, in UTC.
	At time.Time `json:"at"`
	// Local is At in the schedule's zone.
	Local time.Time `json:"local"`
	// Notes say where a DST transition, an excluded date or jitter changed the fire.
	Notes []Note `json:"notes,omitempty"`
}

// Note explains one way a fire differs from the plain reading of its schedule.
type Note struct {
	// Kind is NoteDSTGapShifted, NoteDSTGapSkipped, NoteDSTOverlap, NoteExcludedDate or NoteJitter.
	Kind string `json:"kind"`
	// Detail is a sentence for people, such as "2025-03-09 02:30 does not exist in
	// America/New_York; fired when the gap ended, at 03:00 EDT".
	Detail string `json:"detail"`
}

// Preview lists up to n fires strictly after after, each from the one before (for fixed_delay,
// as if every execution took no time). It returns fewer when the schedule ends, and nil when
// n ≤ 0.
func (s *Schedule) Preview(after time.Time, n int) []Fire {
	var fires []Fire
	prev := after
	for range max(n, 0) {
		var tr trace
		at, ok := s.next(prev, &tr)
		if !ok {
			break
		}
		nominal := at.Add(-s.offset)
		f := Fire{At: at, Local: at.In(s.loc)}
		f.Notes = append(f.Notes, s.excludedNotes(prev, nominal, &tr)...)
		f.Notes = append(f.Notes, s.dstNotes(&tr)...)
		if s.offset > 0 {
			f.Notes = append(f.Notes, Note{Kind: NoteJitter, Detail: fmt.Sprintf(
				"delayed by %s of jitter from %s", s.offset, nominal.In(s.loc).Format("2006-01-02 15:04:05.000 MST"))})
		}
		fires = append(fires, f)
		prev = at
	}
	return fires
}

// movedWhy words why, as exclusions.why says it, after the date.
func movedWhy(why string) string {
	if why == "it is an excluded date" {
		return "is an excluded date"
	}
	return "is excluded (" + why + ")"
}

// maxExcludedNotes bounds the excluded days one fire of a preview lists.
const maxExcludedNotes = 400

// excludedNotes lists the excluded dates on which the schedule would have fired between after
// and the nominal fire, or the day a fixed_delay fire was moved from.
func (s *Schedule) excludedNotes(after, nominal time.Time, tr *trace) []Note {
	if s.excl.empty() {
		return nil
	}
	if s.mode == modeDelay {
		if !tr.moved {
			return nil
		}
		return []Note{{Kind: NoteExcludedDate, Detail: fmt.Sprintf(
			"%s %s; moved to the start of %s", formatDay(tr.movedFrom), movedWhy(s.excl.why(tr.movedFrom)), formatDay(s.localDay(nominal)))}}
	}
	free := *s
	free.excl, free.offset = exclusions{}, 0
	var notes []Note
	lower := s.lowerBound(after)
	for range min(s.excl.rounds(), maxExcludedNotes) {
		f, ok := free.next(lower, nil)
		if !ok || !f.Before(nominal) {
			break
		}
		day := s.localDay(f)
		if !s.excl.has(day) {
			lower = f
			continue
		}
		notes = append(notes, Note{Kind: NoteExcludedDate, Detail: fmt.Sprintf(
			"no fire on %s: %s", formatDay(day), s.excl.why(day))})
		lower = s.startOfDay(day + 1).Add(-time.Nanosecond)
	}
	return notes
}

func (s *Schedule) dstNotes(tr *trace) []Note {
	var notes []Note
	for _, w := range tr.gapsSkipped {
		notes = append(notes, Note{Kind: NoteDSTGapSkipped, Detail: fmt.Sprintf(
			"%s does not exist in %s; skipped (dst_gap %q)", formatWall(w), s.loc, "skip")})
	}
	if tr.gapShifted {
		notes = append(notes, Note{Kind: NoteDSTGapShifted, Detail: fmt.Sprintf(
			"%s does not exist in %s; fired when the gap ended", formatWall(tr.gapWall), s.loc)})
	}
	if tr.overlapped {
		first, _ := time.Unix(tr.t1, 0).In(s.loc).Zone()
		second, _ := time.Unix(tr.t2, 0).In(s.loc).Zone()
		which := [...]string{1: "first", 2: "second"}[tr.occurrence]
		zone := [...]string{1: first, 2: second}[tr.occurrence]
		var how string
		switch s.overlap {
		case overlapBoth:
			how = fmt.Sprintf("fires at both; this is the %s (%s)", which, zone)
		default:
			how = fmt.Sprintf("fired at the %s occurrence (%s)", which, zone)
		}
		notes = append(notes, Note{Kind: NoteDSTOverlap, Detail: fmt.Sprintf(
			"%s occurs twice in %s (%s, then %s); %s", formatWall(tr.overlapWall), s.loc, first, second, how)})
	}
	return notes
}

// formatWall writes wall seconds as "2006-01-02 15:04", with seconds when not zero.
func formatWall(w int64) string {
	c := civilOf(w)
	if c.second != 0 {
		return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute, c.second)
	}
	return fmt.Sprintf("%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.minute)
}

// formatDay writes a day number as "2006-01-02".
func formatDay(day int64) string {
	y, m, d := civilFromDays(day)
	return fmt.Sprintf("%04d-%02d-%02d", y, m, d)
}
