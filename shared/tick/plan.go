package tick

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/schedule"
)

// SkipRecordLimit is how many missed fires of one job a claim records one by one; the rest of a
// longer outage is recorded as one summary row.
const SkipRecordLimit = 100

// Planner decides a claimed job's fires. It is pure: the instants come from its caller.
type Planner struct {
	// Now is the claim instant.
	Now time.Time
	// Horizon is the latest instant a fire may have to be claimed now (Now + lookahead).
	Horizon time.Time
	// MisfireThreshold is how late a fire may be and still fire as usual; older fires are
	// misfires, handled by the job's misfire policy.
	MisfireThreshold time.Duration
	// MaxFires bounds the fires of one job per claim; the rest wait for the next claim.
	MaxFires int
	// Freezes are the freezes that may hold a fire of this claim: a fire they hold is recorded
	// skipped with reason "frozen", and the job's next run moves on past it.
	Freezes []*domain.Freeze
	// Instance names the replica that claims, written into each fire's due event with Now
	// (docs/fire-timeline.md).
	Instance string
}

// frozen returns the freeze that holds a fire of a job of namespace ns at at, or nil.
func (p Planner) frozen(ns string, at time.Time) *domain.Freeze {
	for _, f := range p.Freezes {
		if f.Holds(ns, at) {
			return f
		}
	}
	return nil
}

// fire adds the fire at t to b, or records it skipped when a freeze holds it, and then reports
// true.
func (p Planner) fire(b *builder, t time.Time) (frozen bool) {
	if f := p.frozen(b.job.Namespace, t); f != nil {
		b.skip(t, f.FreezeReason())
		return true
	}
	b.fire(t)
	return false
}

// Plan returns j's fires due at or before Horizon, the misfires it records as skipped, and the
// job's next run after them: nil when the schedule has ended, or for a fixed_delay job until its
// execution finishes.
func (p Planner) Plan(j *domain.Job) (domain.PlanResult, error) {
	var r domain.PlanResult
	if j.NextRunAt == nil {
		return r, errors.New("claimed job has no next run")
	}
	sched, err := schedule.ForJob(j)
	if err != nil {
		return r, err
	}
	b := builder{job: j, claimedBy: p.Instance, claimedAt: p.Now.UTC()}
	next, ok := *j.NextRunAt, true
	cutoff := p.Now.Add(-p.MisfireThreshold)

	if sched.Kind() == domain.ScheduleFixedDelay {
		// The executor computed this next run from the end of the last one, without the job's
		// calendars: a day they exclude moves it to the next day they allow.
		if next, ok = sched.Admit(next); !ok {
			return b.result(nil)
		}
		// One fire at a time: the executor sets the next run when this one finishes.
		switch f := p.frozen(j.Namespace, next); {
		case next.After(p.Horizon):
			r.Next = &next
			return r, nil
		case next.Before(cutoff) && j.MisfirePolicy == domain.MisfireSkip:
			b.skip(next, fmt.Sprintf("missed by %s; misfire policy skip", p.Now.Sub(next).Round(time.Second)))
			if n, ok := sched.Next(p.Now); ok {
				r.Next = &n
			}
		case f != nil:
			// No run ends to set the next one: it is due every after the frozen one.
			b.skip(next, f.FreezeReason())
			if n, ok := sched.Next(next); ok {
				r.Next = &n
			}
		default:
			b.fire(next)
		}
		return b.result(r.Next)
	}

	if next.Before(cutoff) {
		next, ok = p.misfire(&b, sched, next, cutoff)
	}
	// Fires a freeze holds count against the cap as fires do.
	for limit, frozen := max(p.MaxFires, 1), 0; ok && !next.After(p.Horizon) && len(b.fires)+frozen < limit; {
		if p.fire(&b, next) {
			frozen++
		}
		next, ok = sched.Next(next)
	}
	if !ok {
		return b.result(nil)
	}
	return b.result(&next)
}

// misfire applies j's misfire policy to the fires from first (inclusive) to cutoff (exclusive),
// all later than the threshold allows, and returns the first fire at or after cutoff.
func (p Planner) misfire(b *builder, sched *schedule.Schedule, first, cutoff time.Time) (time.Time, bool) {
	j := b.job
	var keep []time.Time
	switch j.MisfirePolicy {
	case domain.MisfireFireAll:
		keep = lastFires(sched, first, cutoff, max(j.MaxCatchup, 1))
	case domain.MisfireSkip:
	default: // fire_once
		keep = lastFires(sched, first, cutoff, 1)
	}
	end := cutoff // the skipped fires are those before the first kept one
	if len(keep) > 0 {
		end = keep[0]
	}
	reason := func(t time.Time) string {
		late := p.Now.Sub(t).Round(time.Second)
		switch j.MisfirePolicy {
		case domain.MisfireFireAll:
			return fmt.Sprintf("missed by %s; beyond max_catchup %d of misfire policy fire_all", late, j.MaxCatchup)
		case domain.MisfireSkip:
			return fmt.Sprintf("missed by %s; misfire policy skip", late)
		}
		return fmt.Sprintf("missed by %s; misfire policy fire_once ran the latest missed fire instead", late)
	}
	t, ok := first, true
	for n := 0; ok && t.Before(end); n++ {
		if n == SkipRecordLimit {
			b.skipRange(t, end, reason(t))
			break
		}
		b.skip(t, reason(t))
		t, ok = sched.Next(t)
	}
	for _, t := range keep {
		p.fire(b, t)
	}
	return sched.Next(cutoff.Add(-time.Nanosecond))
}

// lastFires returns up to k of the latest fires in [first, cutoff), oldest first. It searches
// backwards from cutoff in doubling windows, so a long outage costs about 2k evaluations.
func lastFires(sched *schedule.Schedule, first, cutoff time.Time, k int) []time.Time {
	for window := time.Second; ; window *= 2 {
		from := cutoff.Add(-window)
		whole := !from.After(first)
		if whole {
			from = first.Add(-time.Nanosecond)
		}
		var fires []time.Time
		for t, ok := sched.Next(from); ok && t.Before(cutoff); t, ok = sched.Next(t) {
			fires = append(fires, t)
		}
		if len(fires) >= k || whole {
			return fires[max(len(fires)-k, 0):]
		}
	}
}

// builder accumulates a plan's fires and skips.
type builder struct {
	job       *domain.Job
	claimedBy string
	claimedAt time.Time
	fires     []time.Time
	skips     []domain.Skip
}

func (b *builder) fire(t time.Time) { b.fires = append(b.fires, t) }

func (b *builder) skip(t time.Time, reason string) {
	t = domain.Instant(t)
	b.skips = append(b.skips, domain.Skip{Key: domain.ScheduledKey(b.job.ID, t), ScheduledAt: t, Reason: reason})
}

// skipRange records the fires from from up to to as one row; its key cannot collide with a fire's.
func (b *builder) skipRange(from, to time.Time, reason string) {
	from = domain.Instant(from)
	b.skips = append(b.skips, domain.Skip{
		Key:         domain.MisfireRangeKey(b.job.ID, from),
		ScheduledAt: from,
		Reason:      fmt.Sprintf("every fire from %s until %s: %s", from.Format(time.RFC3339), to.Format(time.RFC3339), reason),
		Until:       domain.Instant(to),
	})
}

func (b *builder) result(next *time.Time) (domain.PlanResult, error) {
	r := domain.PlanResult{Skips: b.skips, Next: next, Fires: make([]domain.Fire, len(b.fires))}
	for i, t := range b.fires {
		t = domain.Instant(t)
		key := domain.ScheduledKey(b.job.ID, t)
		due := event.DueFor(b.job, t, domain.TriggerSchedule, key)
		due.ClaimedBy, due.ClaimedAt = b.claimedBy, &b.claimedAt
		payload, err := json.Marshal(due)
		if err != nil {
			return domain.PlanResult{}, err
		}
		r.Fires[i] = domain.Fire{Key: key, JobID: b.job.ID, Kind: b.job.Kind, Trigger: domain.TriggerSchedule, ScheduledAt: t, Payload: payload}
	}
	return r, nil
}
