package tick

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/store"
)

// Planner decides a claimed job's fires. It is pure: the instants come from its caller.
type Planner struct {
	// Now is the claim instant.
	Now time.Time
	// Horizon is the latest instant a fire may have to be claimed now (Now + lookahead).
	Horizon time.Time
	// MisfireThreshold is how late a fire may be and still fire on its own: the fires of a job
	// older than this (the tick was down) collapse into one catch-up fire, the oldest of them.
	MisfireThreshold time.Duration
	// MaxFires bounds the fires of one job per claim; the rest wait for the next claim.
	MaxFires int
}

// Plan returns j's fires scheduled at or before Horizon and the job's next run after them (nil
// when its schedule has ended).
func (p Planner) Plan(j *domain.Job) ([]store.Fire, *time.Time, error) {
	if j.NextRunAt == nil {
		return nil, nil, errors.New("claimed job has no next run")
	}
	sched, err := schedule.Parse(j.Schedule, j.Timezone)
	if err != nil {
		return nil, nil, err
	}
	var (
		at    []time.Time
		next  = *j.NextRunAt
		ok    = true
		limit = max(p.MaxFires, 1)
	)
	if cutoff := p.Now.Add(-p.MisfireThreshold); next.Before(cutoff) {
		at = append(at, next)
		next, ok = sched.Next(cutoff)
	}
	for ok && !next.After(p.Horizon) && len(at) < limit {
		at = append(at, next)
		next, ok = sched.Next(next)
	}
	fires := make([]store.Fire, len(at))
	for i, t := range at {
		key := domain.ScheduledKey(j.ID, t)
		payload, err := json.Marshal(event.DueFor(j, t, domain.TriggerSchedule, key))
		if err != nil {
			return nil, nil, err
		}
		fires[i] = store.Fire{Key: key, JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerSchedule, ScheduledAt: t, Payload: payload}
	}
	if !ok {
		return fires, nil, nil
	}
	return fires, &next, nil
}
