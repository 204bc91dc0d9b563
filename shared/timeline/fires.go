package timeline

import (
	"slices"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// Fire is one entry of a job's fires: an instant its schedule names, or an execution of another
// trigger (or of an instant the schedule no longer names) in the range.
type Fire struct {
	// At is the instant, UTC; Local the same in the job's zone.
	At    time.Time `json:"at"`
	Local string    `json:"local"`
	// Expected is true for an instant of the job's schedule as it is now.
	Expected bool           `json:"expected"`
	Trigger  domain.Trigger `json:"trigger"`
	// ExecutionID and Status are the execution's, when there is one.
	ExecutionID string                 `json:"execution_id,omitempty"`
	Status      domain.ExecutionStatus `json:"status,omitempty"`
	// Reason is set when the fire did not run (or never reached its target): a word of the
	// vocabulary (ReasonPaused …); Detail is what was recorded, for people.
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Stage is where a missed fire stopped, as the watchdog recorded it (unclaimed,
	// unpublished, undelivered, unacknowledged); set with ReasonMissed only.
	Stage string          `json:"stage,omitempty"`
	Notes []schedule.Note `json:"notes,omitempty"`
}

// Interval is a span of time, open at the end when To is nil.
type Interval struct {
	From time.Time
	To   *time.Time
}

func (i Interval) holds(t time.Time) bool {
	return !t.Before(i.From) && (i.To == nil || t.Before(*i.To))
}

// StateChange is a recorded change of whether a job is enabled.
type StateChange struct {
	At      time.Time
	Enabled bool
}

// Pauses returns the spans during which the job was paused, from its changes of state (oldest
// first) and whether it is enabled now. A job with no recorded change is as it is now throughout;
// before its first change it was enabled (instants before its creation are not its fires).
func Pauses(changes []StateChange, enabledNow bool) []Interval {
	var out []Interval
	var open *time.Time
	for _, c := range changes {
		switch {
		case !c.Enabled && open == nil:
			at := c.At
			open = &at
		case c.Enabled && open != nil:
			end := c.At
			out = append(out, Interval{From: *open, To: &end})
			open = nil
		}
	}
	switch {
	case open != nil:
		out = append(out, Interval{From: *open})
	case len(changes) == 0 && !enabledNow:
		out = append(out, Interval{From: time.Time{}})
	}
	return out
}

// Missed is what the missed-fire watchdog recorded of a fire: how far it got.
type Missed struct {
	Stage  string
	Detail string
}

// Facts are what the fires of a range are assembled from.
type Facts struct {
	// Now is the instant of the question; instants after it are not yet due.
	Now time.Time
	// Due is how far ahead of now the tick claims: an instant within it may have no
	// execution yet without being late.
	Due time.Duration
	// Created is when the job was created; instants before it are not its fires.
	Created time.Time
	// Expected are the instants of the job's schedule in the range (schedule.Expected).
	Expected []schedule.Expected
	// Executions are the job's executions scheduled in the range, of every trigger.
	Executions []*domain.Execution
	// Pauses are the spans during which the job was paused (see Pauses).
	Pauses []Interval
	// Missed holds the watchdog's records by idempotency key; nil until it has some.
	Missed map[string]Missed
	// Location is the job's zone, for Fire.Local.
	Location *time.Location
}

// Assemble lists the fires of a range, oldest first: every expected instant with its execution
// or the reason it has none, then every other execution of the range in its place.
func Assemble(jobID string, f Facts) []Fire {
	byKey := make(map[string]*domain.Execution, len(f.Executions))
	var ranges []struct {
		from, until time.Time
		e           *domain.Execution
	}
	for _, e := range f.Executions {
		byKey[e.IdempotencyKey] = e
		if from, until, ok := misfireRange(e.Error); ok && e.Status == domain.StatusSkipped {
			ranges = append(ranges, struct {
				from, until time.Time
				e           *domain.Execution
			}{from, until, e})
		}
	}
	used := make(map[string]bool, len(f.Executions))
	local := func(t time.Time) string {
		if f.Location == nil {
			return t.UTC().Format("2006-01-02 15:04:05 MST")
		}
		return t.In(f.Location).Format("2006-01-02 15:04:05 MST")
	}
	out := make([]Fire, 0, len(f.Expected)+len(f.Executions))
	for _, x := range f.Expected {
		at := domain.Instant(x.At)
		fire := Fire{At: at, Local: local(at), Expected: true, Trigger: domain.TriggerSchedule, Notes: x.Notes}
		key := domain.ScheduledKey(jobID, at)
		if e, ok := byKey[key]; ok {
			used[key] = true
			fire.withExecution(e)
			out = append(out, fire)
			continue
		}
		fire.Reason, fire.Detail = f.reasonWithout(key, at, x)
		if fire.Reason == ReasonMissed {
			fire.Stage = f.Missed[key].Stage
		}
		if fire.Reason == ReasonUnknown {
			for _, r := range ranges {
				if !at.Before(r.from) && at.Before(r.until) {
					used[r.e.IdempotencyKey] = true
					fire.ExecutionID, fire.Status = r.e.ID, r.e.Status
					fire.Reason, fire.Detail = ReasonMisfire, summary(r.e.Error)
				}
			}
		}
		out = append(out, fire)
	}
	for _, e := range f.Executions {
		if used[e.IdempotencyKey] {
			continue
		}
		fire := Fire{At: e.ScheduledAt, Local: local(e.ScheduledAt), Trigger: e.Trigger}
		fire.withExecution(e)
		if e.Trigger == domain.TriggerSchedule {
			if _, _, ok := misfireRange(e.Error); !ok {
				fire.Notes = append(fire.Notes, schedule.Note{Kind: "not_in_schedule",
					Detail: "not an instant of the job's schedule as it is now (the schedule was edited since)"})
			}
		}
		out = append(out, fire)
	}
	slices.SortStableFunc(out, func(a, b Fire) int { return a.At.Compare(b.At) })
	return out
}

// withExecution fills fire from its execution e.
func (fire *Fire) withExecution(e *domain.Execution) {
	fire.ExecutionID, fire.Status = e.ID, e.Status
	switch {
	case e.Status == domain.StatusSkipped:
		fire.Reason, fire.Detail = SkipReason(e.Error), summary(e.Error)
	case notSentReason(e.Error) != "":
		fire.Reason, fire.Detail = notSentReason(e.Error), summary(e.Error)
	}
}

// reasonWithout says why the expected instant at (key) has no execution.
func (f Facts) reasonWithout(key string, at time.Time, x schedule.Expected) (string, string) {
	switch x.Kind {
	case schedule.ExpectedExcluded:
		return ReasonExcludedDate, x.Detail
	case schedule.ExpectedOutsideWindow:
		return ReasonOutsideWindow, x.Detail
	case schedule.ExpectedDSTGap:
		return ReasonDSTGap, x.Detail
	}
	switch {
	case at.After(f.Now):
		return ReasonNotYetDue, ""
	case at.After(f.Now.Add(-f.Due)):
		return ReasonNotYetDue, "due moments ago: its execution may not be recorded yet"
	}
	if at.Before(f.Created) {
		return ReasonBeforeCreated, "the job was created at " + f.Created.UTC().Format(time.RFC3339)
	}
	if m, ok := f.Missed[key]; ok {
		return ReasonMissed, m.Detail
	}
	for _, p := range f.Pauses {
		if p.holds(at) {
			return ReasonPaused, "the job was paused at this instant"
		}
	}
	return ReasonUnknown, "nothing recorded says what became of this fire"
}
