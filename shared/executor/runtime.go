// Package executor is the runtime every executor function shares: for each due event it records
// the execution exactly once by idempotency key, runs the job through a kind-specific Runner under
// a timeout while heart-beating, records the terminal state and publishes the lifecycle event.
// The transport that delivered the event (JetStream pull or HTTP push) acknowledges it after.
package executor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
)

// Defaults of Config.
const (
	TimeoutDefault           = 30 * time.Second
	HeartbeatIntervalDefault = 10 * time.Second
	StaleAfterDefault        = 30 * time.Second
)

// Config tunes the runtime.
type Config struct {
	// WorkerID names this worker in execution records and event sources.
	WorkerID string `koanf:"worker_id" usage:"worker name recorded on executions"`
	// DefaultTimeout bounds an attempt of a job that sets no timeout.
	DefaultTimeout time.Duration `koanf:"default_timeout" usage:"attempt timeout of jobs without one"`
	// HeartbeatInterval is how often a running attempt proves it is alive.
	HeartbeatInterval time.Duration `koanf:"heartbeat_interval" usage:"how often a running attempt records it is alive"`
	// StaleAfter is how long without a heartbeat before another worker takes an attempt over.
	StaleAfter time.Duration `koanf:"stale_after" usage:"silence after which a running attempt is taken over"`
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	c.WorkerID = cmp.Or(c.WorkerID, "worker")
	c.DefaultTimeout = cmp.Or(c.DefaultTimeout, TimeoutDefault)
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, HeartbeatIntervalDefault)
	c.StaleAfter = cmp.Or(c.StaleAfter, StaleAfterDefault)
	return c
}

func (c Config) validate() error {
	if c.HeartbeatInterval >= c.StaleAfter {
		return fmt.Errorf("executor.heartbeat_interval (%s) must be shorter than executor.stale_after (%s)", c.HeartbeatInterval, c.StaleAfter)
	}
	return nil
}

// Store is what the runtime needs of the database.
type Store interface {
	StartExecution(ctx context.Context, e *domain.Execution, staleBefore time.Time) (store.StartOutcome, error)
	Heartbeat(ctx context.Context, id string, attempt int, at time.Time) error
	FinishExecution(ctx context.Context, e *domain.Execution) error
}

// Runner runs one attempt of a job of one kind; ctx carries the attempt's deadline.
type Runner interface {
	Run(ctx context.Context, d event.Due) domain.RunResult
}

// Publisher publishes one message and waits for the broker's acknowledgement.
type Publisher interface {
	Publish(ctx context.Context, m queue.Message) error
}

// Runtime handles due events of one job kind.
type Runtime struct {
	kind     domain.JobKind
	function string
	store    Store
	runner   Runner
	pub      Publisher
	names    event.Names
	now      func() time.Time
	log      *slog.Logger
	cfg      Config
}

// New returns a runtime for kind's due events; function names the executor in event sources.
func New(kind domain.JobKind, function string, st Store, runner Runner, pub Publisher, names event.Names, now func() time.Time, log *slog.Logger, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Runtime{kind: kind, function: function, store: st, runner: runner, pub: pub, names: names, now: now, log: log, cfg: cfg}, nil
}

// Handle runs the fire a due event announces, at most once per idempotency key. It returns nil
// when the event is settled (run and recorded, or a duplicate), an error wrapping
// delivery.ErrPermanent when the event can never be handled, and another error when it should be
// delivered again (see delivery.Decide).
func (r *Runtime) Handle(ctx context.Context, ev cloudevents.Event) error {
	d, err := event.ParseDue(ev)
	if err != nil {
		return fmt.Errorf("%w: %w", delivery.ErrPermanent, err)
	}
	if d.Kind != r.kind {
		return fmt.Errorf("%w: event %q is for %q jobs, this executor runs %q jobs", delivery.ErrPermanent, ev.ID(), d.Kind, r.kind)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new execution id: %w", err)
	}
	now := r.now().UTC()
	e := &domain.Execution{
		ID: id.String(), JobID: d.JobID, JobVersion: d.JobVersion, IdempotencyKey: d.IdempotencyKey,
		Trigger: d.Trigger, ScheduledAt: d.ScheduledAt, StartedAt: &now, Status: domain.StatusRunning,
		Attempt: 1, WorkerID: r.cfg.WorkerID,
	}
	outcome, err := r.store.StartExecution(ctx, e, now.Add(-r.cfg.StaleAfter))
	if err != nil {
		return err
	}
	log := r.log.With("job_id", d.JobID, "execution_id", e.ID, "idempotency_key", d.IdempotencyKey)
	switch outcome {
	case store.AlreadyDone:
		// A duplicate delivery. Publish the lifecycle event again in case the first delivery died
		// between recording and publishing; JetStream drops it if it was already stored.
		log.Debug("duplicate delivery ignored", "status", e.Status)
		return r.publishOutcome(ctx, e)
	case store.Running:
		// Another worker runs it and is alive; come back when its heartbeat would be stale.
		return &delivery.RetryError{After: r.cfg.StaleAfter, Err: fmt.Errorf("execution %s is running on %s", e.ID, e.WorkerID)}
	case store.TakenOver:
		log.Warn("took over execution from a silent worker", "attempt", e.Attempt)
	}

	res := r.run(ctx, d, e)
	finished := r.now().UTC()
	e.FinishedAt = &finished
	e.Status, e.HTTPStatus, e.ResponseExcerpt, e.Error = res.Status, res.HTTPStatus, res.Excerpt, res.Error
	e.DurationMS = float64(res.Duration.Microseconds()) / 1000
	if err := r.finish(ctx, e); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			log.Warn("execution was taken over while running; result discarded", "attempt", e.Attempt)
			return nil
		}
		return err
	}
	log.Info("execution finished", "status", e.Status, "http_status", e.HTTPStatus, "duration_ms", e.DurationMS, "attempt", e.Attempt)
	return r.publishOutcome(ctx, e)
}

// run runs the attempt under its timeout, heart-beating so no other worker takes it over.
func (r *Runtime) run(ctx context.Context, d event.Due, e *domain.Execution) domain.RunResult {
	timeout := cmp.Or(time.Duration(d.Timeout), r.cfg.DefaultTimeout)
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		t := time.NewTicker(r.cfg.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				if err := r.store.Heartbeat(runCtx, e.ID, e.Attempt, r.now().UTC()); err != nil && runCtx.Err() == nil {
					r.log.Warn("record heartbeat", "execution_id", e.ID, "error", err)
				}
			}
		}
	})
	return r.runner.Run(runCtx, d)
}

// finish records the terminal state, retrying briefly: giving up would leave the row running
// until another worker takes it over and runs the job a second time.
func (r *Runtime) finish(ctx context.Context, e *domain.Execution) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	for i, wait := 0, 100*time.Millisecond; i < 6; i, wait = i+1, wait*2 {
		if err = r.store.FinishExecution(ctx, e); err == nil || errors.Is(err, domain.ErrConflict) {
			return err
		}
		r.log.Warn("record execution outcome; retrying", "execution_id", e.ID, "error", err)
		time.Sleep(wait)
	}
	return err
}

// publishOutcome publishes e's terminal lifecycle event.
func (r *Runtime) publishOutcome(ctx context.Context, e *domain.Execution) error {
	typ := event.TypeExecutionFailed
	if e.Status == domain.StatusSucceeded {
		typ = event.TypeExecutionSucceeded
	}
	ev, err := event.NewExecution(typ, e, r.kind, event.Source(r.function, r.cfg.WorkerID))
	if err != nil {
		return err
	}
	msg, err := event.ToNATS(ctx, ev)
	if err != nil {
		return err
	}
	return r.pub.Publish(ctx, queue.Message{Subject: r.names.EventSubject(typ), MsgID: ev.ID(), Msg: msg})
}
