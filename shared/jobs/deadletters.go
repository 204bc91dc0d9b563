package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// DeadLetterStore is what replaying a dead letter needs of the database.
type DeadLetterStore interface {
	GetExecution(ctx context.Context, id string) (*domain.Execution, error)
	ReplayDeadLetter(ctx context.Context, id string, fire domain.Fire, at time.Time) (*domain.Execution, error)
}

// ErrJobGone is returned when a dead letter's job was deleted, so there is nothing to replay.
var ErrJobGone = errors.New("the job of this dead letter was deleted")

// Replay queues a new execution of a dead letter's fire — trigger replay, the job as it is now,
// the original scheduled instant, a fresh idempotency key and attempt count — and marks the dead
// letter replayed, once: a second replay returns an error wrapping domain.ErrConflict. It returns
// the dead letter as updated, or an error wrapping domain.ErrNotFound (no such dead letter) or
// ErrJobGone.
func (s *Service) Replay(ctx context.Context, ds DeadLetterStore, executionID string) (*domain.Execution, error) {
	if uuid.Validate(executionID) != nil {
		return nil, fmt.Errorf("dead letter %q: %w", executionID, domain.ErrNotFound)
	}
	dead, err := ds.GetExecution(ctx, executionID)
	if err != nil {
		return nil, err
	}
	if dead.Status != domain.StatusDeadLettered {
		return nil, fmt.Errorf("execution %s is %s, not dead-lettered: %w", executionID, dead.Status, domain.ErrNotFound)
	}
	j, err := s.Get(ctx, dead.JobID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil, fmt.Errorf("replay %s: %w", executionID, ErrJobGone)
	}
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	key := domain.Key(j.ID, domain.TriggerReplay, dead.ScheduledAt, id.String())
	d := event.DueFor(j, dead.ScheduledAt, domain.TriggerReplay, key)
	withTrace(ctx, &d) // the replay's execution is the executor's to record
	payload, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	return ds.ReplayDeadLetter(ctx, executionID, domain.Fire{Key: key, JobID: j.ID, Kind: j.Kind,
		Trigger: domain.TriggerReplay, ScheduledAt: dead.ScheduledAt, PublishAt: now, Payload: payload}, now)
}
