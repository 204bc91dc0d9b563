package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/timeline"
)

// Bounds of a fires request (docs/fire-timeline.md): a week of instants, and no more of them
// than a page of history, so that one request costs one bounded read of executions.
const (
	firesMaxSpan     = 7 * 24 * time.Hour
	firesMaxInstants = 2000
	firesDefaultSpan = 24 * time.Hour
	// firesMaxExecutions bounds the executions of a range read back; a job that ran more in
	// one week is asked about in shorter ranges.
	firesMaxExecutions = 5000
	// firesDue is how long an instant may be past without being recorded and still count as
	// not yet due: the tick claims and stages fires ahead, and a worker records one around its
	// instant.
	firesDue = 5 * time.Second
	// maxStateChanges bounds the pause history read for one request.
	maxStateChanges = 1000
)

// TimelineStore is what the timeline routes read.
type TimelineStore interface {
	DeliveryFacts(ctx context.Context, id string, scheduledAt time.Time) (*domain.DeliveryFacts, error)
	EnabledChanges(ctx context.Context, jobID string, until time.Time, limit int) ([]store.EnabledChange, error)
}

// firesResponse is the answer of GET /jobs/{id}/fires.
type firesResponse struct {
	JobID    string    `json:"job_id"`
	Timezone string    `json:"timezone"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Note says when the schedule names no instants of its own (fixed_delay, events only).
	Note  string          `json:"note,omitempty"`
	Fires []timeline.Fire `json:"fires"`
}

func (s *Server) executionTimeline(w http.ResponseWriter, r *http.Request) {
	e, ok := s.execution(w, r, domain.PermExecutionRead)
	if !ok {
		return
	}
	attempts, err := s.store.Attempts(r.Context(), e.ID, e.ScheduledAt)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	facts, err := s.store.DeliveryFacts(r.Context(), e.ID, e.ScheduledAt)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, timeline.ForExecution(e, facts, attempts))
}

// firesRange reads from and to: RFC 3339, from before to, at most firesMaxSpan apart; by
// default the last firesDefaultSpan up to now.
func firesRange(r *http.Request, now time.Time) (from, to time.Time, err error) {
	q := r.URL.Query()
	var v domain.ValidationError
	instant := func(name string) (time.Time, bool) {
		raw := q.Get(name)
		if raw == "" {
			return time.Time{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			v.Add(name, quoted(printable(raw, 40))+" is not an RFC 3339 instant such as 2026-12-01T00:00:00+07:00")
			return time.Time{}, false
		}
		return t.UTC(), true
	}
	f, hasFrom := instant("from")
	t, hasTo := instant("to")
	if err := v.Err(); err != nil {
		return from, to, err
	}
	switch {
	case hasFrom && hasTo:
		from, to = f, t
	case hasFrom:
		from, to = f, f.Add(firesDefaultSpan)
	case hasTo:
		from, to = t.Add(-firesDefaultSpan), t
	default:
		from, to = now.Add(-firesDefaultSpan), now
	}
	// An answer repeats from and to, and JSON writes the years 0000 to 9999 only: past them
	// the answer could not be written at all. The end that is off is named, or the one given
	// when the other was derived from it.
	outside := func(t time.Time) bool { return t.Year() < 1 || t.Year() > 9999 }
	name := func(off string, given bool, other string) string {
		if given {
			return off
		}
		return other
	}
	switch {
	case outside(from):
		v.Add(name("from", hasFrom, "to"), "must be in the years 0001 to 9999 (UTC), and so must the range it makes")
	case outside(to):
		v.Add(name("to", hasTo, "from"), "must be in the years 0001 to 9999 (UTC), and so must the range it makes")
	case !from.Before(to):
		v.Add("to", "must be after from")
	case to.Sub(from) > firesMaxSpan:
		v.Add("to", "must be at most 7 days after from")
	}
	return from, to, v.Err()
}

func (s *Server) jobFires(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobRead)
	if !ok {
		return
	}
	now := s.now().UTC()
	from, to, err := firesRange(r, now)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	resp := firesResponse{JobID: j.ID, Timezone: j.Timezone, From: from, To: to}
	var (
		expected []schedule.Expected
		sched    *schedule.Schedule
	)
	if j.HasSchedule() {
		sched, err = schedule.ForJob(j)
	}
	switch {
	case !j.HasSchedule():
		resp.Note = "the job has no schedule: it runs when its triggers start it"
	case err != nil:
		// A job its own schedule cannot plan stopped firing (the tick logged why); its
		// executions still answer.
		resp.Note = "the job's schedule cannot be evaluated: " + err.Error()
	case j.Schedule.Kind == domain.ScheduleFixedDelay:
		resp.Note = "a fixed_delay schedule names no instants ahead of its runs: each fire follows the end of the one before"
	default:
		var more bool
		expected, more = sched.Expected(from, to, firesMaxInstants)
		// Asked nothing, a busy schedule gets the latest instants that fit instead of a 400.
		for q := r.URL.Query(); more && q.Get("from") == "" && q.Get("to") == "" && to.Sub(from) > time.Second; {
			from = to.Add(-to.Sub(from) / 4)
			expected, more = sched.Expected(from, to, firesMaxInstants)
			resp.From = from
		}
		if more {
			writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "to",
				Reason: "the range holds more than " + strconv.Itoa(firesMaxInstants) + " instants of this schedule; ask for a shorter one"}}})
			return
		}
	}
	execs, err := s.store.ListExecutions(r.Context(), j.ID, domain.ExecutionFilter{From: &from, To: &to}, nil, firesMaxExecutions+1)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if len(execs) > firesMaxExecutions {
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "to",
			Reason: "the range holds more than " + strconv.Itoa(firesMaxExecutions) + " executions of this job; ask for a shorter one"}}})
		return
	}
	// Up to now, not to the range's end: a change after the range says what the job was in it
	// when nothing before the range is left (audit rows are pruned), where the job's state now
	// would not (paused today is not paused last week).
	changes, err := s.store.EnabledChanges(r.Context(), j.ID, later(now, to), maxStateChanges)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if len(changes) == maxStateChanges {
		// The oldest changes were not read: a fire before the first one read may show unknown
		// where it was paused, and the caller is told so rather than left to guess.
		resp.Note = strings.TrimPrefix(resp.Note+"; ", "; ") + "only the latest " + strconv.Itoa(maxStateChanges) +
			" pauses and resumes of this job were read, back to " + changes[0].At.UTC().Format(time.RFC3339) +
			"; a fire before then may be unknown where it was paused"
	}
	states := make([]timeline.StateChange, len(changes))
	for i, c := range changes {
		states[i] = timeline.StateChange{At: c.At, Enabled: c.Enabled}
	}
	missed, err := s.missedFires(r.Context(), j.ID, from, to)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	loc, _ := schedule.LoadLocation(j.Timezone) // nil (UTC) for a zone the job cannot have
	if sched != nil {
		loc = sched.Location()
	}
	resp.Fires = timeline.Assemble(j.ID, timeline.Facts{
		Now: now, Due: firesDue, Created: j.CreatedAt, Expected: expected, Executions: execs,
		Pauses: timeline.Pauses(states, j.Enabled), Missed: missed, Location: loc,
	})
	if !identityOf(r).Can(domain.PermExecutionRead, j.Namespace) {
		// As with a job's statistics: the fires of its schedule are the job's, its executions
		// are not this caller's to look up, nor what they recorded. Runs of other triggers
		// (manual, event, webhook, chain) are not instants of the schedule but executions, so
		// they are left out whole: who ran the job by hand, or which event started it, and when,
		// is execution history.
		kept := resp.Fires[:0]
		for _, f := range resp.Fires {
			if !f.Expected {
				continue
			}
			if f.ExecutionID != "" {
				f.ExecutionID, f.Detail = "", ""
			}
			kept = append(kept, f)
		}
		resp.Fires = kept
	}
	writeJSON(w, http.StatusOK, resp)
}

// missedFires returns what the missed-fire watchdog recorded of the job's fires in [from, to),
// by idempotency key: where a fire without an execution stopped (docs/missed-fires.md). The
// range holds at most firesMaxInstants instants of the schedule, and the watchdog records a
// fire at most once, so one read of that many holds every record of it.
func (s *Server) missedFires(ctx context.Context, jobID string, from, to time.Time) (map[string]timeline.Missed, error) {
	list, err := s.store.MissedFires(ctx, jobID, from, to, nil, firesMaxInstants)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	out := make(map[string]timeline.Missed, len(list))
	for _, m := range list {
		out[m.Key] = timeline.Missed{Stage: string(m.Stage), Detail: m.Detail}
	}
	return out, nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
