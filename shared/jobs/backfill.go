package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/schedule"
)

// Backfill limits.
const (
	MaxBackfillFires    = 10_000
	BackfillRateDefault = 1.0   // fires per second
	MaxBackfillRate     = 100.0 // fires per second
	// MinBackfillRate keeps the last fire of the largest backfill within days: below it the
	// interval between fires overflows.
	MinBackfillRate = 0.01
)

// BackfillRequest asks for the fires of a past time range.
type BackfillRequest struct {
	// From and To bound the range (RFC 3339, both included).
	From   string `json:"from"`
	To     string `json:"to"`
	DryRun bool   `json:"dry_run"`
	// Rate is how many fires per second are published (default 1, at most 100).
	Rate float64 `json:"rate"`
}

// BackfillFire is one fire of a backfill.
type BackfillFire struct {
	ScheduledAt time.Time `json:"scheduled_at"`
	Local       string    `json:"local"`
	// AlreadyRan is true when the fire has an execution already; it is not queued again.
	AlreadyRan bool `json:"already_ran"`
	// PublishAt is when the fire is published (absent on a dry run and for fires that ran).
	PublishAt *time.Time `json:"publish_at,omitempty"`
}

// BackfillResult lists the fires of a backfill and what became of them.
type BackfillResult struct {
	DryRun bool           `json:"dry_run"`
	Fires  []BackfillFire `json:"fires"`
	Queued int            `json:"queued"`
}

// BackfillStore is what a backfill needs of the database.
type BackfillStore interface {
	RecordedKeys(ctx context.Context, keys []string) ([]string, error)
	QueueFires(ctx context.Context, now time.Time, fires []domain.Fire) (int, error)
}

// Backfill computes the job's fires in [req.From, req.To] and, unless it is a dry run, queues
// those without an execution for publication at req.Rate, each with trigger backfill and the
// idempotency key of its scheduled instant, so a fire that already ran never runs twice. The job's
// concurrency policy applies when they run. It returns a *domain.ValidationError naming a bad
// field.
func (s *Service) Backfill(ctx context.Context, bs BackfillStore, id string, req BackfillRequest) (*BackfillResult, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	var v domain.ValidationError
	from, fromErr := time.Parse(time.RFC3339Nano, req.From)
	to, toErr := time.Parse(time.RFC3339Nano, req.To)
	switch {
	case fromErr != nil:
		v.Add("from", "is required, as an RFC 3339 instant such as 2026-01-02T15:04:05Z")
	case toErr != nil:
		v.Add("to", "is required, as an RFC 3339 instant such as 2026-01-02T15:04:05Z")
	case !from.Before(to):
		v.Add("to", "must be after from")
	case to.After(now):
		v.Add("to", "must not be in the future: backfill covers past fires")
	}
	if req.Rate == 0 {
		req.Rate = BackfillRateDefault
	}
	if req.Rate < MinBackfillRate || req.Rate > MaxBackfillRate {
		v.Add("rate", fmt.Sprintf("must be from %g to %g fires per second", MinBackfillRate, MaxBackfillRate))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sched, err := schedule.ForJob(j)
	if err != nil {
		return nil, err
	}
	var at []time.Time
	for t, ok := sched.Next(from.Add(-time.Nanosecond)); ok && !t.After(to); t, ok = sched.Next(t) {
		if len(at) == MaxBackfillFires {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "to",
				Reason: fmt.Sprintf("the range holds more than %d fires; split it", MaxBackfillFires)}}}
		}
		at = append(at, domain.Instant(t)) // t itself goes on: truncated, it could come again
	}
	keys := make([]string, len(at))
	for i, t := range at {
		keys[i] = domain.Key(j.ID, domain.TriggerBackfill, t, "")
	}
	ran := map[string]bool{}
	if len(keys) > 0 {
		recorded, err := bs.RecordedKeys(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range recorded {
			ran[k] = true
		}
	}
	res := &BackfillResult{DryRun: req.DryRun, Fires: make([]BackfillFire, len(at))}
	var queue []domain.Fire
	interval := time.Duration(float64(time.Second) / req.Rate)
	for i, t := range at {
		f := BackfillFire{ScheduledAt: t, Local: t.In(sched.Location()).Format(time.RFC3339), AlreadyRan: ran[keys[i]]}
		if !f.AlreadyRan && !req.DryRun {
			publishAt := now.Add(time.Duration(len(queue)) * interval)
			f.PublishAt = &publishAt
			payload, err := json.Marshal(event.DueFor(j, t, domain.TriggerBackfill, keys[i]))
			if err != nil {
				return nil, err
			}
			queue = append(queue, domain.Fire{Key: keys[i], JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerBackfill,
				ScheduledAt: t, PublishAt: publishAt, Payload: payload})
		}
		res.Fires[i] = f
	}
	if len(queue) > 0 {
		if res.Queued, err = bs.QueueFires(ctx, now, queue); err != nil {
			return nil, err
		}
	}
	return res, nil
}
