package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/store"
)

// Limits of a run started by hand.
const (
	// MaxPayloadBytes bounds the payload a run now hands to the job's templates.
	MaxPayloadBytes = 64 << 10
	// RunKeyWindow is how long a caller's idempotency key names the run it started.
	RunKeyWindow = 24 * time.Hour
)

// TriggerStore is what starting a run by hand needs of the database.
type TriggerStore interface {
	QueueManual(ctx context.Context, m store.ManualRun, at time.Time) (*domain.Execution, bool, error)
	ActiveFreeze(ctx context.Context, ns string, at time.Time) (*domain.Freeze, error)
}

// RunNow is a request to run a job now.
type RunNow struct {
	// Payload is handed to the job's templates as trigger.payload; empty for none.
	Payload json.RawMessage
	// Force runs the job even while another execution of a forbid job runs, exempt from the
	// one-running rule, and while a freeze holds its namespace.
	Force bool
	// Key, when set, is the caller's idempotency key: the same key within RunKeyWindow returns
	// the run it started first.
	Key string
}

// Trigger queues a run of j now — trigger manual — and returns its execution, recorded queued,
// and whether it is the earlier run of the same key. It returns a *domain.ValidationError for a
// bad payload or key, and an error wrapping domain.ErrConflict when j's concurrency policy is
// forbid, an execution runs, and the run is not forced — or, a *domain.ConflictError on "force"
// naming the freeze, when a freeze holds j's namespace and the run is not forced.
func (s *Service) Trigger(ctx context.Context, ts TriggerStore, j *domain.Job, r RunNow) (*domain.Execution, bool, error) {
	var v domain.ValidationError
	switch {
	case len(r.Payload) > MaxPayloadBytes:
		v.Add("payload", fmt.Sprintf("is larger than %d bytes", MaxPayloadBytes))
	case len(r.Payload) > 0 && !json.Valid(r.Payload):
		v.Add("payload", "is not JSON")
	}
	if r.Key != "" && !domain.WellFormedID(r.Key) {
		v.Add("Idempotency-Key", "must be 1 to 128 letters, digits, '-', '_', '.' or ':'")
	}
	if err := v.Err(); err != nil {
		return nil, false, err
	}
	now := domain.Instant(s.now())
	if !r.Force {
		switch f, err := ts.ActiveFreeze(ctx, j.Namespace, now); {
		case err != nil:
			return nil, false, err
		case f != nil:
			return nil, false, &domain.ConflictError{FieldError: domain.FieldError{Field: "force", Reason: fmt.Sprintf(
				"namespace %s is frozen until %s by freeze %s (%s); send \"force\": true to run it all the same",
				j.Namespace, f.EndsAt.Format(time.RFC3339), f.ID, f.Reason)}}
		}
	}
	id := r.Key
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return nil, false, err
		}
		id = u.String()
	}
	key := domain.Key(j.ID, domain.TriggerManual, now, id)
	d := event.DueFor(j, now, domain.TriggerManual, key)
	d.Payload, d.Forced = r.Payload, r.Force
	traceID := withTrace(ctx, &d)
	data, err := json.Marshal(d)
	if err != nil {
		return nil, false, err
	}
	eid, err := uuid.NewV7()
	if err != nil {
		return nil, false, err
	}
	e := &domain.Execution{ID: eid.String(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: key,
		Trigger: domain.TriggerManual, ScheduledAt: now, Forced: r.Force, TraceID: traceID}
	return ts.QueueManual(ctx, store.ManualRun{
		Execution: e, Namespace: j.Namespace,
		Fire:   domain.Fire{Key: key, JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerManual, ScheduledAt: now, PublishAt: now, Payload: data},
		Forbid: j.ConcurrencyPolicy == domain.ConcurrencyForbid && !r.Force,
		Dedupe: r.Key != "", DedupeSince: now.Add(-RunKeyWindow),
	}, now)
}
