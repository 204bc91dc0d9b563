// Package executor is the runtime every executor function shares: for each due event it records
// the execution exactly once by idempotency key, asks the target's circuit breaker, runs the job
// through a kind-specific Runner under a timeout while heart-beating, and records the attempt. A
// failed attempt is retried with backoff by redelivery until the job's attempts run out, then the
// execution is dead-lettered. A runner that panics fails its attempt, like a transient failure,
// and not the worker with every attempt in flight. The transport that delivered the event
// (JetStream pull or HTTP push) acknowledges it after the outcome is recorded.
package executor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/lograte"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/variables"
)

// Defaults of Config.
const (
	TimeoutDefault = 30 * time.Second
	// A heartbeat a second, silent after four: a dead worker's attempt is taken over within
	// about four seconds of its death (see docs/takeover.md), while a live worker may miss
	// three heartbeats in a row — a slow database, a pause — before it is mistaken for dead.
	HeartbeatIntervalDefault = time.Second
	StaleAfterDefault        = 4 * time.Second
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
	switch {
	case c.DefaultTimeout < 0:
		return errors.New("executor.default_timeout: must not be negative")
	case c.HeartbeatInterval < 0:
		return errors.New("executor.heartbeat_interval: must not be negative")
	}
	if c.HeartbeatInterval >= c.StaleAfter {
		return fmt.Errorf("executor.heartbeat_interval (%s) must be shorter than executor.stale_after (%s)", c.HeartbeatInterval, c.StaleAfter)
	}
	return nil
}

// Store is what the runtime needs of the database.
type Store interface {
	StartExecution(ctx context.Context, e *domain.Execution, p store.StartParams) (store.StartOutcome, error)
	ResolveSilent(ctx context.Context, e *domain.Execution, lost *domain.Attempt, p store.StartParams, chain []store.ChainRun) (bool, error)
	RecordSkipped(ctx context.Context, e *domain.Execution) (bool, error)
	CancelRunning(ctx context.Context, jobID, reason string, at time.Time) (string, error)
	Heartbeat(ctx context.Context, id string, scheduledAt time.Time, attempt int) error
	FinishExecution(ctx context.Context, e *domain.Execution, a *domain.Attempt) error
	InsertExecutions(ctx context.Context, list []*domain.Execution) ([]store.Inserted, error)
	FinishExecutions(ctx context.Context, list []store.Finish) ([]bool, error)
	GateStaged(ctx context.Context, list []*domain.Execution) ([]store.Gate, error)
	PushedFires(ctx context.Context, qs []store.PushedQuery) ([]store.PushedFire, error)
	CancelExecution(ctx context.Context, id, reason string, at time.Time) (*domain.Execution, error)
	GetJob(ctx context.Context, id string) (*domain.Job, error)
	GetExecution(ctx context.Context, id string) (*domain.Execution, error)
	SetExecutionVersion(ctx context.Context, e *domain.Execution, version int64) error
	SkipStaged(ctx context.Context, e *domain.Execution, reason string) (bool, error)
	ScheduleAfterFinish(ctx context.Context, jobID string, firedAt time.Time, next *time.Time) error
}

var _ Store = (*store.Store)(nil)

// Runner runs one attempt of a job of one kind; ctx carries the attempt's deadline.
type Runner interface {
	Run(ctx context.Context, d event.Due) domain.RunResult
	// Target names what d's attempt calls, for its circuit breaker ("host:port"); "" when the
	// attempt calls nothing a breaker should guard.
	Target(d event.Due) string
	// Render fills the templates of d's job fields from c; errors name the field.
	Render(d event.Due, c *render.Context) (event.Due, error)
}

// Variables resolves the variables a job's templates see.
type Variables interface {
	// Resolve returns the job's variables (its own over the global ones its namespace sees),
	// which of them are secret, and where those may be sent.
	Resolve(ctx context.Context, jobID string) (*variables.Resolved, error)
}

// Publisher publishes messages: Publish waits for the broker's acknowledgement, PublishAsync
// does not (the started event rides the fire's path and must not add a round trip to it).
type Publisher interface {
	Publish(ctx context.Context, m queue.Message) error
	PublishAsync(m queue.Message) *queue.Pending
}

// Breaker guards targets that keep failing: see package breaker.
type Breaker interface {
	// Allow returns a non-nil error when target's breaker is open; otherwise the caller reports
	// the outcome through done exactly once.
	Allow(ctx context.Context, target string) (done func(ok bool), err error)
}

// Deps are the runtime's collaborators.
type Deps struct {
	Store     Store
	Runner    Runner
	Publisher Publisher
	// Breaker may be nil: no circuit breaking.
	Breaker Breaker
	// Variables may be nil: templates then see no variables.
	Variables Variables
	Names     event.Names
	// Clock gives every instant the runtime records and every timer it waits on (heartbeats,
	// attempt timeouts, back-off between tries to record an outcome).
	Clock clockwork.Clock
	Log   *slog.Logger
	// Metrics may be nil: no metrics.
	Metrics *metric.Registry
	// MetricJobs are metrics.jobs, the jobs that get per-job series ("ns/name", "ns/*").
	MetricJobs []string
	// Tracer may be nil, or the no-op provider of tracing off: no span, nothing allocated.
	Tracer trace.TracerProvider
	// TraceSampleRatio is otel.sample_ratio: the share of fires whose key-derived trace is
	// sampled, which the runtime must know before a consume span starts (see fireTrace).
	TraceSampleRatio float64
}

// Runtime handles due events of one job kind.
type Runtime struct {
	kind     domain.JobKind
	function string
	store    Store
	runner   Runner
	pub      Publisher
	breaker  Breaker
	vars     Variables
	names    event.Names
	clock    clockwork.Clock
	log      *slog.Logger
	cfg      Config
	jitter   func(n int64) int64
	m        *metrics

	// tracer is nil when tracing is off.
	tracer      trace.Tracer
	ratio       sdktrace.Sampler
	dueSubject  string
	consumeName string

	inserts  *batcher[*domain.Execution, store.Inserted]
	finishes *batcher[store.Finish, bool]
	gates    *batcher[*domain.Execution, store.Gate]
	pushes   *batcher[store.PushedQuery, store.PushedFire]

	// refusals keeps refused pushed events, which anyone who reaches the executor can send,
	// from flooding the log.
	refusals lograte.Limiter
}

// Grouping of execution writes: a batch waits at most batchWait for company, so a lone
// execution is delayed by no more than that, and at most batchesInFlight of each kind run at
// once while the next fills.
const (
	batchSize       = 256
	batchWait       = time.Millisecond
	batchesInFlight = 2
)

// New returns a runtime for kind's due events; function names the executor in event sources.
func New(kind domain.JobKind, function string, deps Deps, cfg Config) (*Runtime, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m, err := newMetrics(deps.Metrics, kind, deps.MetricJobs)
	if err != nil {
		return nil, err
	}
	r := &Runtime{kind: kind, function: function, store: deps.Store, runner: deps.Runner, pub: deps.Publisher,
		breaker: deps.Breaker, vars: deps.Variables, names: deps.Names, clock: deps.Clock, log: deps.Log, cfg: cfg, jitter: rand.Int64N, m: m}
	if deps.Store != nil {
		r.inserts = newBatcher(batchSize, batchesInFlight, batchWait, deps.Store.InsertExecutions)
		r.finishes = newBatcher(batchSize, batchesInFlight, batchWait, deps.Store.FinishExecutions)
		r.gates = newBatcher(batchSize, batchesInFlight, batchWait, deps.Store.GateStaged)
		r.pushes = newBatcher(batchSize, batchesInFlight, batchWait, deps.Store.PushedFires)
	}
	if r.tracer = tracerOf(deps.Tracer); r.tracer != nil {
		r.ratio = sdktrace.TraceIDRatioBased(deps.TraceSampleRatio)
		r.dueSubject = deps.Names.DueSubject(kind)
		r.consumeName = "process " + r.dueSubject
		if r.inserts != nil {
			r.inserts.traced(r.tracer, "executions.insert")
			r.finishes.traced(r.tracer, "executions.finish")
		}
	}
	return r, nil
}

// Handle runs the fire a due event announces, at most once per idempotency key. It returns nil
// when the event is settled (run and recorded, or a duplicate) and at once for a wake
// (event.TypeWake), which it records nowhere, an error wrapping
// delivery.ErrPermanent when the event can never be handled, and another error when it should be
// delivered again (see delivery.Decide) — a *delivery.RetryError after a failed attempt, with
// the backoff as its delay. It is for transports that can delay a redelivery (JetStream pull):
// a retry delivered before its backoff has passed is put off again.
func (r *Runtime) Handle(ctx context.Context, ev cloudevents.Event) error {
	return r.handle(ctx, ev, false)
}

// HandlePushed is Handle for transports whose broker times redeliveries by its own policy
// (Knative, OpenFaaS): a redelivered retry runs whenever it arrives. Such a transport takes
// events from whoever can reach it, so a pushed event runs only what the database vouches for
// (see confirm).
func (r *Runtime) HandlePushed(ctx context.Context, ev cloudevents.Event) error {
	return r.handle(ctx, ev, true)
}

// handle takes one delivery through an execution's life, one step per function, so that each
// decision has a single home: parse the event, begin (record the execution, or answer without
// running), execute the attempt, reportResult (what becomes of the execution), settle (record,
// publish, answer the delivery).
func (r *Runtime) handle(ctx context.Context, ev cloudevents.Event, pushed bool) error {
	if event.IsWake(ev) {
		// Its arrival was its work: this executor is up. Nothing is recorded or published.
		return nil
	}
	d, err := r.parse(ev)
	if err != nil {
		return err
	}
	if pushed {
		if d, err = r.confirm(ctx, d); err != nil {
			return err
		}
	}
	var ft *fireTrace
	if r.tracer != nil {
		ft = r.newFireTrace(ctx, ev, d)
		ctx = context.WithValue(ctx, fireTraceKey{}, ft)
	}
	var e *domain.Execution
	if d.ScheduledAt.After(r.now()) {
		e, err = r.stage(ctx, d, pushed)
	} else {
		e, err = r.begin(ctx, d, pushed)
	}
	if e == nil {
		return err
	}
	var span trace.Span
	if ft != nil {
		ctx, span = r.startConsume(ctx, ev, d, e, ft)
		defer span.End()
	}
	r.m.inFlight.Add(1, r.m.kind)
	defer r.m.inFlight.Add(-1, r.m.kind)
	log := r.logFor(d, e)
	// Filled once: the ids of the consume span, on every line about this attempt.
	log.sc = trace.SpanContextFromContext(ctx)
	var (
		res     domain.RunResult
		mask    *secret.Masker
		started *startedEvent
		ran     bool
	)
	// notSent says why an attempt ended without reaching its target, when it did: not the
	// target's doing, so it is tried again without a back-off (see reportResult).
	var notSent string
	if err != nil {
		notSent = shutDown // staged and recorded, then interrupted before its instant
	}
	// Only a job whose definition holds a template costs a variables lookup. A pushed event's
	// data is not what runs (confirm): the rebuilt due is looked at instead.
	templated := bytes.Contains(ev.Data(), []byte("{{"))
	if pushed {
		data, mErr := json.Marshal(d)
		templated = mErr != nil || bytes.Contains(data, []byte("{{"))
	}
	if notSent == "" && e.JobVersion != d.JobVersion {
		var reason string
		d, reason, err = r.edited(ctx, d, e)
		if reason != "" {
			return r.skipStaged(ctx, d, e, reason)
		}
		switch {
		case errors.Is(context.Cause(ctx), delivery.ErrShutdown):
			notSent = shutDown
		case err != nil:
			// The old version must not run in place of the edited one.
			notSent = "not sent: " + err.Error()
		}
		data, mErr := json.Marshal(d)
		templated = mErr != nil || bytes.Contains(data, []byte("{{"))
	}
	if notSent != "" {
		now := r.now().UTC()
		e.StartedAt = &now
		res = domain.RunResult{Status: domain.StatusFailed, Error: notSent, Reason: domain.FailOther}
		if notSent == shutDown {
			res.Reason = domain.FailShutdown
		}
	} else {
		// Announced once the attempt is about to call its target: its variables resolved, its
		// breaker closed. One refused before sending never started.
		res, mask = r.execute(ctx, templated, d, e, log, func() {
			ran = true
			r.m.started(&d, e.Attempt, r.now(), sampledTraceID(ctx))
			started = r.publishStarted(ctx, d, e, log)
		})
	}
	// The attempt is over: its slot may serve the next one while this outcome is recorded.
	if slot := delivery.SlotFrom(ctx); slot != nil {
		slot.Release()
	}
	// Stored as text: valid UTF-8 without NUL, whatever a driver or target sent.
	res.Error, res.Excerpt = storable(mask.Mask(res.Error)), storable(mask.Mask(res.Excerpt))
	if span != nil && res.Status != domain.StatusSucceeded {
		// The text as stored: masked, never a secret.
		span.SetStatus(codes.Error, res.Error)
	}
	if notSent == "" && errors.Is(context.Cause(ctx), delivery.ErrShutdown) {
		notSent = shutDown
	}
	a, v, retryIn := r.reportResult(d, e, res, notSent)
	// Before the outcome's event, so that a reader of the stream sees the start first.
	r.confirmStarted(ctx, started, log)
	return r.settle(ctx, d, e, a, v, retryIn, observed{res: res, ran: ran}, log)
}

// parse reads ev as a due event of this runtime's kind, with the retry policy's defaults
// applied; an event it can never handle is an error wrapping delivery.ErrPermanent.
func (r *Runtime) parse(ev cloudevents.Event) (event.Due, error) {
	d, err := event.ParseDue(ev)
	if err != nil {
		return d, fmt.Errorf("%w: %w", delivery.ErrPermanent, err)
	}
	if d.Kind != r.kind {
		return d, fmt.Errorf("%w: event %q is for %q jobs, this executor runs %q jobs", delivery.ErrPermanent, ev.ID(), d.Kind, r.kind)
	}
	d.Retry = withRetryDefaults(d.Retry)
	return d, nil
}

func (r *Runtime) logFor(d event.Due, e *domain.Execution) execLog {
	return execLog{l: r.log, job: d.JobID, execution: e.ID, key: d.IdempotencyKey}
}

// execLog logs about one execution. Unlike slog.Logger.With, it costs nothing until a record
// is written: at a thousand executions a second, formatting the same three attributes for
// every execution, to log nothing about most of them, was a noticeable share of a worker's CPU.
type execLog struct {
	l                   *slog.Logger
	job, execution, key string
	// sc is the attempt's consume span; invalid when tracing is off.
	sc trace.SpanContext
}

func (x execLog) log(level slog.Level, msg string, kv []any) {
	if !x.l.Enabled(context.Background(), level) {
		return
	}
	attrs := []any{"job_id", x.job, "execution_id", x.execution, "idempotency_key", x.key}
	if x.sc.IsValid() {
		attrs = append(attrs, "trace_id", x.sc.TraceID().String(), "span_id", x.sc.SpanID().String())
	}
	x.l.Log(context.Background(), level, msg, append(attrs, kv...)...)
}

func (x execLog) Debug(msg string, kv ...any) { x.log(slog.LevelDebug, msg, kv) }
func (x execLog) Info(msg string, kv ...any)  { x.log(slog.LevelInfo, msg, kv) }
func (x execLog) Warn(msg string, kv ...any)  { x.log(slog.LevelWarn, msg, kv) }
func (x execLog) Error(msg string, kv ...any) { x.log(slog.LevelError, msg, kv) }

// begin records d's fire as running on this worker. It returns the execution when its attempt
// is to run here; otherwise a nil execution and the delivery's answer: nil when the fire is
// settled (a duplicate, a skip), a *delivery.RetryError when it is to come back later, another
// error when recording failed.
func (r *Runtime) begin(ctx context.Context, d event.Due, pushed bool) (*domain.Execution, error) {
	now := r.now().UTC()
	// A redelivery of a fire already recorded (a retry, a takeover) is governed by that record,
	// not by the deadline: skipping it would strand the record.
	if reason, late := pastDeadline(d, now); late {
		recorded, err := r.skip(ctx, d, reason)
		if err != nil || recorded {
			return nil, err
		}
	}
	params := store.StartParams{
		StaleAfter:    r.cfg.StaleAfter,
		Exclusive:     d.Exclusive(),
		IgnoreBackoff: pushed,
		Now:           now,
	}
	e, outcome, err := r.start(ctx, d, now, params)
	if err == nil && outcome == store.Busy && d.ConcurrencyPolicy == domain.ConcurrencyReplace {
		reason := fmt.Sprintf("replaced by fire %s (concurrency policy replace)", d.IdempotencyKey)
		if _, err := r.store.CancelRunning(ctx, d.JobID, reason, now); err != nil {
			return nil, err
		}
		e, outcome, err = r.start(ctx, d, now, params)
	}
	if err != nil {
		return nil, err
	}
	if outcome == store.Silent {
		return r.takeOver(ctx, d, e, now, params)
	}
	return r.started(ctx, d, e, outcome, now)
}

// pastDeadline says whether scheduled fire d, starting at now, is past its starting deadline,
// and why. Only a scheduled fire can be: a replay or backfill runs a past instant on purpose.
func pastDeadline(d event.Due, now time.Time) (string, bool) {
	dl := time.Duration(d.StartingDeadline)
	if dl <= 0 || d.Trigger != domain.TriggerSchedule || now.Sub(d.ScheduledAt) <= dl {
		return "", false
	}
	return fmt.Sprintf("could not start within its starting deadline %s (late by %s)", dl, now.Sub(d.ScheduledAt).Round(time.Millisecond)), true
}

// The moments of a staged fire (see stage).
const (
	// maxRecordAhead bounds how long before its instant a staged fire is recorded: its attempt's
	// heartbeat starts at the instant, and the record must not look silent (executor.stale_after)
	// before that.
	maxRecordAhead = time.Second
	// gateLead is how long before its instant a staged fire's job is checked once more: enough
	// for a batch of checks, and the window in which a pause can no longer stop the fire.
	gateLead = 25 * time.Millisecond
)

// stage handles a fire delivered ahead of its instant: the tick publishes fires
// tick.stage_ahead early (see docs/staged-fires.md), so that what precedes an attempt is done
// before the instant and only the attempt is left after it. While it waits it gives its slot
// back to the transport. It records the execution ahead (at most maxRecordAhead), checks just
// before the instant that the job was not paused or deleted meanwhile (ARCHITECTURE §11: a
// fire runs the job as it is when the fire starts), and takes a slot again at the instant.
//
// A fire is recorded only at its instant when recording it ahead could cost it: a forbid or
// replace fire, so that the one-running rule judges the instant; and a job allowed one attempt,
// whose fire a worker dying before the instant would dead-letter unsent (a takeover counts the
// silent attempt). It answers as begin does; with both an execution and an error when ctx ended
// after the execution was recorded and before its instant.
func (r *Runtime) stage(ctx context.Context, d event.Due, pushed bool) (*domain.Execution, error) {
	slot := delivery.SlotFrom(ctx)
	if slot != nil {
		slot.Release()
	}
	interrupted := func(err error) error {
		return fmt.Errorf("interrupted before its instant: %w", err)
	}
	// Nothing recorded yet: hand the event back at once.
	handBack := func(err error) error {
		return &delivery.RetryError{After: 0, Err: interrupted(err)}
	}
	atInstant := d.Exclusive() ||
		d.Retry.MaxAttempts <= 1
	ft := fireTraceFrom(ctx)
	if atInstant {
		if ft != nil {
			ft.stageStart = time.Now()
		}
		if err := r.sleepUntil(ctx, d.ScheduledAt); err != nil {
			return nil, handBack(err)
		}
		// Its slot first: begin may cancel a running execution (replace), which must not wait.
		if slot != nil {
			if err := slot.Acquire(ctx); err != nil {
				return nil, handBack(err)
			}
		}
		if ft != nil {
			ft.stageEnd = time.Now()
		}
		return r.begin(ctx, d, pushed)
	}
	if err := r.sleepUntil(ctx, d.ScheduledAt.Add(-min(maxRecordAhead, r.cfg.StaleAfter/4))); err != nil {
		return nil, handBack(err)
	}
	e, err := r.begin(ctx, d, pushed)
	if e == nil {
		return nil, err
	}
	recorded := r.now()
	if ft != nil {
		ft.stageStart = time.Now()
	}
	log := r.logFor(d, e)
	if err := r.sleepUntil(ctx, d.ScheduledAt.Add(-gateLead)); err != nil {
		return e, interrupted(err)
	}
	switch g, err := r.gate(ctx, e, d.ScheduledAt); {
	case err != nil:
		// It was checked when it was recorded; a database that cannot answer in time must not
		// also make the fire late. (Under a backlog every fire says so: not worth a warning each.)
		log.Debug("check the job of a staged fire", "error", err)
	case g.Ended:
		log.Info("staged execution was cancelled or taken over before its instant; not sent")
		return nil, r.ended(ctx, d, e)
	case g.Reason != "" && (g.Reason != reasonPaused || d.Trigger != domain.TriggerManual):
		return nil, r.skipStaged(ctx, d, e, g.Reason)
	default:
		// Edited since it was recorded: handle reads the new version at the instant.
		e.JobVersion = g.Version
	}
	if err := r.sleepUntil(ctx, d.ScheduledAt); err != nil {
		return e, interrupted(err)
	}
	if slot != nil {
		if err := slot.Acquire(ctx); err != nil {
			return e, interrupted(err)
		}
	}
	if ft != nil {
		ft.stageEnd = time.Now()
	}
	now := r.now()
	if reason, late := pastDeadline(d, now); late {
		return nil, r.skipStaged(ctx, d, e, reason)
	}
	if now.Sub(recorded) > r.cfg.StaleAfter/2 {
		// A long wait for a slot: the record may look silent, and another worker may have taken
		// it over. Prove it alive, and learn whether it is still this worker's.
		switch err := r.store.Heartbeat(ctx, e.ID, e.ScheduledAt, e.Attempt); {
		case errors.Is(err, domain.ErrConflict):
			log.Warn("staged execution was cancelled or taken over before its instant; not sent")
			return nil, r.ended(ctx, d, e)
		case err != nil:
			log.Warn("record heartbeat", "error", err)
		}
	}
	return e, nil
}

// gate asks, in a batch with others, whether e's job still lets it run; it gives up at the
// instant, with an error.
func (r *Runtime) gate(ctx context.Context, e *domain.Execution, instant time.Time) (store.Gate, error) {
	type answer struct {
		gate store.Gate
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		g, err := r.gates.do(ctx, e)
		ch <- answer{g, err}
	}()
	timer := r.clock.NewTimer(max(instant.Sub(r.now()), time.Millisecond))
	defer timer.Stop()
	select {
	case a := <-ch:
		return a.gate, a.err
	case <-timer.Chan():
		return store.Gate{}, errors.New("no answer by the fire's instant")
	}
}

// shutDown is the error of an attempt this worker's shutdown ended.
const shutDown = "interrupted: this worker shut down before the attempt ended"

// Why a fire whose job changed after the fire was claimed is skipped (the start statements say
// the same of a pause or a delete they see: store.gatedError).
const (
	reasonDeleted     = "skipped: the job was deleted before this fire started"
	reasonPaused      = "skipped: the job was paused before this fire started"
	reasonRescheduled = "skipped: the job's schedule was changed before this fire started, and has no fire at this instant"
)

// edited brings d, claimed with an older version of its job, to the version e's attempt runs:
// the job as it is now (ARCHITECTURE §11: a fire runs the job as it is when it starts). It
// returns the new due, or why a first attempt must not run after all: its job is gone or paused
// by now, or its edited schedule has no fire at d's instant. A later attempt of a job deleted
// meanwhile runs as it was claimed, as retries always have.
func (r *Runtime) edited(ctx context.Context, d event.Due, e *domain.Execution) (event.Due, string, error) {
	first := e.Attempt == 1
	job, err := r.store.GetJob(ctx, d.JobID)
	switch {
	case errors.Is(err, domain.ErrNotFound) && first:
		return d, reasonDeleted, nil
	case errors.Is(err, domain.ErrNotFound):
		return d, "", nil
	case err != nil:
		return d, "", fmt.Errorf("read job %s, edited since this fire was claimed: %w", d.JobID, err)
	case first && !job.Enabled && d.Trigger != domain.TriggerManual:
		// A pause stops the schedule, not an operator's run now.
		return d, reasonPaused, nil
	case first && d.Trigger == domain.TriggerSchedule && !domain.SamePlan(d.Schedule, d.Timezone, job.Schedule, job.Timezone) && !firesAt(job, d.ScheduledAt):
		return d, reasonRescheduled, nil
	}
	// The record may name an older version: a staged fire's was written before the edit.
	if err := r.store.SetExecutionVersion(ctx, e, job.Version); err != nil {
		return d, "", err
	}
	e.JobVersion = job.Version
	r.logFor(d, e).Info("fire runs the edited job", "claimed_version", d.JobVersion, "job_version", job.Version)
	nd := event.DueFor(job, d.ScheduledAt, d.Trigger, d.IdempotencyKey)
	nd.Payload, nd.Forced, nd.Retry = d.Payload, d.Forced, withRetryDefaults(nd.Retry)
	return nd, "", nil
}

// firesAt says whether job's schedule has a fire at instant at. The instants of a fixed_delay
// schedule follow the end of the last run, not the clock: each is its own.
func firesAt(job *domain.Job, at time.Time) bool {
	if job.Schedule.Kind == domain.ScheduleFixedDelay {
		return true
	}
	sched, err := schedule.ForJob(job)
	if err != nil {
		return false
	}
	// Fires are minted at the millisecond (domain.Instant), whatever the schedule's precision:
	// at stands for the schedule's first instant in [at, at+1ms).
	next, ok := sched.Next(at.Add(-time.Nanosecond))
	return ok && domain.Instant(next).Equal(at)
}

// skipStaged records execution e, recorded running and not yet sent (staged, or its job edited),
// skipped for reason, and settles its fire.
func (r *Runtime) skipStaged(ctx context.Context, d event.Due, e *domain.Execution, reason string) error {
	ok, err := r.store.SkipStaged(context.WithoutCancel(ctx), e, reason)
	switch {
	case err != nil:
		return err
	case !ok:
		// Cancelled or taken over meanwhile: whoever did so settles it.
		r.logFor(d, e).Warn("staged execution was cancelled or taken over before its instant")
		return nil
	}
	e.Status, e.Error, e.FinishedAt, e.StartedAt = domain.StatusSkipped, reason, e.StartedAt, nil
	r.m.skip(&d, reason)
	r.logFor(d, e).Info("execution skipped", "reason", reason)
	return r.closeOut(ctx, d, e)
}

// sleepUntil waits until t by the runtime's clock; it returns ctx's cause when ctx ends first.
func (r *Runtime) sleepUntil(ctx context.Context, t time.Time) error {
	wait := t.Sub(r.now())
	if wait <= 0 {
		return nil
	}
	timer := r.clock.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.Chan():
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// takeOver resolves e, whose worker went silent during its attempt: the attempt is recorded as
// failed, and, unless it was the last one the job allows, this worker runs the next one at once
// (the worker died; the target did not fail).
func (r *Runtime) takeOver(ctx context.Context, d event.Due, e *domain.Execution, now time.Time, p store.StartParams) (*domain.Execution, error) {
	lost := &domain.Attempt{Attempt: e.Attempt, StartedAt: e.StartedAt, FinishedAt: now, Status: domain.StatusFailed,
		Error: fmt.Sprintf("worker %s went silent (no heartbeat) during this attempt", e.WorkerID), WorkerID: e.WorkerID}
	gaveUp, ok := giveUp(d.Retry, e.Attempt, lost.Error)
	var chain []store.ChainRun
	if ok {
		e.Status, e.FinishedAt, e.Error = domain.StatusDeadLettered, &now, gaveUp
		// A dead letter is an end like any other: its chains start with it, as finish queues them.
		var err error
		if chain, err = r.chainRuns(ctx, d, e); err != nil {
			return nil, err
		}
	} else {
		e.Attempt, e.Status, e.WorkerID, e.StartedAt, e.FinishedAt = e.Attempt+1, domain.StatusRunning, r.cfg.WorkerID, &now, nil
	}
	e.Delivery = deliveryFacts(ctx, d)
	resolved, err := r.store.ResolveSilent(ctx, e, lost, p, chain)
	switch {
	case err != nil:
		return nil, err
	case !resolved:
		// Another worker resolved it first, or its own came back: ask again shortly.
		return nil, &delivery.RetryError{After: time.Second, Err: fmt.Errorf("execution %s was resolved elsewhere", e.ID)}
	}
	log := r.logFor(d, e)
	if ok {
		log.Warn("execution dead-lettered: the worker of its last attempt went silent", "attempt", e.Attempt)
		e.DeadLetter = &domain.DeadLetter{State: domain.DeadLetterPending}
		r.m.exhausted(&d, namespaceOf(&d), r.m.listed(&d))
		return nil, r.newDeadLetter(ctx, d, e)
	}
	log.Warn("took over execution from a silent worker", "attempt", e.Attempt)
	return e, nil
}

// giveUp decides — for a failed attempt and a silent worker's alike — whether attempt was the
// last one p allows; if so it returns the execution's error, naming the last attempt's cause.
func giveUp(p domain.RetryPolicy, attempt int, cause string) (string, bool) {
	if attempt < p.MaxAttempts {
		return "", false
	}
	return fmt.Sprintf("gave up after %d attempts: %s", attempt, cause), true
}

// started turns how recording the fire went into begin's answer.
func (r *Runtime) started(ctx context.Context, d event.Due, e *domain.Execution, outcome store.StartOutcome, now time.Time) (*domain.Execution, error) {
	log := r.logFor(d, e)
	switch outcome {
	case store.AlreadyDone:
		// A duplicate delivery. Finish what the first delivery may not have: the next run of a
		// fixed_delay job and the lifecycle event (JetStream drops it if it was stored).
		log.Debug("duplicate delivery ignored", "status", e.Status)
		if e.Status == domain.StatusDeadLettered {
			return nil, r.deadLettered(ctx, d, e)
		}
		return nil, r.closeOut(ctx, d, e)
	case store.Running:
		// Another worker runs it and is alive; come back just after its heartbeat would be
		// stale, so a dead worker's fire runs here as soon as it may.
		wait := r.cfg.StaleAfter
		if e.NextAttemptAt != nil {
			wait = min(max(e.NextAttemptAt.Sub(now), 0)+staleMargin, r.cfg.StaleAfter)
		}
		return nil, &delivery.RetryError{After: wait, Err: fmt.Errorf("execution %s is running on %s", e.ID, e.WorkerID)}
	case store.NotYet:
		wait := time.Second
		if e.NextAttemptAt != nil {
			wait = max(e.NextAttemptAt.Sub(now), time.Millisecond)
		}
		return nil, &delivery.RetryError{After: wait, Err: fmt.Errorf("execution %s waits for attempt %d", e.ID, e.Attempt+1)}
	case store.Busy:
		return nil, r.busy(ctx, d, e)
	case store.Skipped:
		r.m.skip(&d, e.Error)
		log.Info("execution skipped", "reason", e.Error)
		return nil, r.closeOut(ctx, d, e)
	}
	return e, nil
}

// busy answers a fire of a job whose other execution e still runs.
func (r *Runtime) busy(ctx context.Context, d event.Due, e *domain.Execution) error {
	stillRuns := &delivery.RetryError{After: time.Second, Err: fmt.Errorf("execution %s of job %s still runs", e.IdempotencyKey, d.JobID)}
	if d.ConcurrencyPolicy == domain.ConcurrencyReplace {
		return stillRuns
	}
	recorded, err := r.skip(ctx, d, fmt.Sprintf("execution %s of this job was still running (concurrency policy forbid)", e.IdempotencyKey))
	if err != nil || recorded {
		return err
	}
	// This fire is recorded already (a retry waiting its turn): it runs once the other ends.
	return stillRuns
}

// verdict is what becomes of an execution after an attempt.
type verdict int

const (
	// verdictFinished: it succeeded, or failed in a way retrying cannot fix.
	verdictFinished verdict = iota
	// verdictRetry: it is queued for another attempt after a back-off.
	verdictRetry
	// verdictDeadLettered: its attempts ran out.
	verdictDeadLettered
	// verdictInterrupted: the attempt ended without being the target's doing (this worker shut
	// down, or its edited job could not be read); another worker tries again at once.
	verdictInterrupted
)

// reportResult decides, in this one place, what becomes of e after its attempt ended with res
// (notSent, when set, says why the attempt ended without being the target's doing). It sets e's
// new state and returns the attempt's record, the verdict and, for a retry, the back-off.
func (r *Runtime) reportResult(d event.Due, e *domain.Execution, res domain.RunResult, notSent string) (*domain.Attempt, verdict, time.Duration) {
	now := r.now().UTC()
	a := &domain.Attempt{
		Attempt: e.Attempt, StartedAt: e.StartedAt, FinishedAt: now, Status: res.Status, HTTPStatus: res.HTTPStatus,
		DurationMS: float64(res.Duration.Microseconds()) / 1000, Error: res.Error, WorkerID: r.cfg.WorkerID,
	}
	e.Status, e.HTTPStatus, e.ResponseExcerpt, e.Error, e.DurationMS = res.Status, res.HTTPStatus, res.Excerpt, res.Error, a.DurationMS
	gaveUp, last := giveUp(d.Retry, e.Attempt, res.Error)
	switch {
	case notSent != "" && res.Status != domain.StatusSucceeded && !res.Permanent && (notSent == shutDown || !last):
		// Not the target's fault: the next worker tries again at once. An attempt that could
		// not even be sent still counts, so that a fault that never clears ends in a dead
		// letter rather than a loop.
		a.Status, a.Error = domain.StatusCancelled, notSent
		if notSent != shutDown {
			a.Error = res.Error // notSent, made storable
		}
		e.Status, e.Error, e.NextAttemptAt = domain.StatusQueued, a.Error, &now
		return a, verdictInterrupted, 0
	case res.Status == domain.StatusSucceeded || res.Permanent:
		e.FinishedAt = &now
		return a, verdictFinished, 0
	case last:
		e.FinishedAt, e.Status, e.Error = &now, domain.StatusDeadLettered, gaveUp
		return a, verdictDeadLettered, 0
	default:
		retryIn := max(Backoff(d.Retry, e.Attempt, r.jitter), min(res.RetryAfter, maxRetryAfter))
		next := now.Add(retryIn)
		e.Status, e.NextAttemptAt = domain.StatusQueued, &next
		return a, verdictRetry, retryIn
	}
}

// settle records attempt a and e's new state, publishes what verdict v calls for, and returns
// the delivery's answer: nil when settled, a *delivery.RetryError to run again after retryIn (or
// at once on another worker, after a shutdown).
func (r *Runtime) settle(ctx context.Context, d event.Due, e *domain.Execution, a *domain.Attempt, v verdict, retryIn time.Duration, o observed, log execLog) error {
	if err := r.finish(ctx, d, e, a); err != nil {
		if errors.Is(err, domain.ErrConflict) {
			log.Warn("execution was cancelled or taken over while running; result discarded", "attempt", e.Attempt)
			return r.ended(ctx, d, e)
		}
		return err
	}
	r.m.recorded(&d, e, o, v, sampledTraceID(ctx))
	switch v {
	case verdictInterrupted:
		log.Warn("attempt interrupted; handed back", "attempt", e.Attempt, "reason", a.Error)
		if a.Error != shutDown {
			// The database could not answer: give it a moment rather than a hot loop.
			return &delivery.RetryError{After: time.Second, Err: errors.New(a.Error)}
		}
		return &delivery.RetryError{After: 0, Err: delivery.ErrShutdown}
	case verdictRetry:
		log.Info("attempt failed; will retry", "status", a.Status, "http_status", a.HTTPStatus, "attempt", e.Attempt,
			"retry_in", retryIn.Round(time.Millisecond), "error", a.Error)
		return &delivery.RetryError{After: retryIn, Err: fmt.Errorf("attempt %d of %s failed: %s", e.Attempt, d.IdempotencyKey, a.Error)}
	case verdictDeadLettered:
		log.Warn("execution dead-lettered", "attempt", e.Attempt, "error", a.Error)
		return r.newDeadLetter(ctx, d, e)
	}
	// A success is in the execution's record and its lifecycle event; the log keeps to what
	// needs a person's eye.
	level := slog.LevelInfo
	if e.Status == domain.StatusSucceeded {
		level = slog.LevelDebug
	}
	log.log(level, "execution finished", []any{"status", e.Status, "http_status", e.HTTPStatus, "duration_ms", e.DurationMS, "attempt", e.Attempt})
	return r.closeOut(ctx, d, e)
}

// maxRetryAfter bounds how long a target's Retry-After may put a retry off.
const maxRetryAfter = time.Hour

func withRetryDefaults(p domain.RetryPolicy) domain.RetryPolicy {
	p.MaxAttempts = cmp.Or(p.MaxAttempts, domain.MaxAttemptsDefault)
	if len(p.Backoff) == 0 {
		p.Backoff = domain.BackoffDefault()
	}
	return p
}

// staleMargin is how long after a running attempt would turn silent its fire comes back: the
// heartbeat is judged by the database's clock, the wait by this worker's.
const staleMargin = 200 * time.Millisecond

// minBackoff keeps full jitter from retrying at once.
const minBackoff = 10 * time.Millisecond

// Backoff returns how long to wait after failed attempt n (1-based) under p: uniformly drawn
// from [10ms, step] by rnd (rand.Int64N), where step is p.Backoff[n-1], or its last entry once
// the list is exhausted. Spreading retries over the whole step ("full jitter") keeps workers that
// failed together in an outage from all retrying at the same instant.
func Backoff(p domain.RetryPolicy, n int, rnd func(n int64) int64) time.Duration {
	if len(p.Backoff) == 0 {
		p.Backoff = domain.BackoffDefault()
	}
	step := time.Duration(p.Backoff[min(max(n, 1), len(p.Backoff))-1])
	if step <= minBackoff {
		return max(step, minBackoff)
	}
	return minBackoff + time.Duration(rnd(int64(step-minBackoff)+1))
}

// execute fills the job's templates (when templated: its definition holds one) and runs attempt
// e. It returns the masker of the secrets the templates used: nothing recorded, logged or
// published may show them.
//
// A panic in the runner (Render, Target, Run) fails this attempt instead of the worker, which
// would otherwise take every other in-flight attempt down with it, each to be taken over later
// and sent to its target a second time. The deferred calls on the way up stop the attempt's
// heartbeat and timeout and report to the breaker.
func (r *Runtime) execute(ctx context.Context, templated bool, d event.Due, e *domain.Execution, log execLog, onStart func()) (res domain.RunResult, mask *secret.Masker) {
	defer func() {
		if v := recover(); v != nil {
			res = panicked(log, v, mask)
		}
	}()
	if !templated {
		return r.attempt(ctx, d, e, onStart), nil
	}
	c := &render.Context{JobID: d.JobID, JobName: d.JobName, ExecutionID: e.ID, Attempt: e.Attempt,
		ScheduledAt: d.ScheduledAt, Trigger: string(d.Trigger), Payload: d.Payload}
	if loc, err := schedule.LoadLocation(d.Timezone); err == nil { // cached: not a file read per execution
		c.Location = loc
	}
	// Variables are looked up only when a template names one: many templates use only the
	// job's and the fire's own fields, and a lookup is a query per execution.
	resolved := &variables.Resolved{}
	var resolveErr error
	if r.vars != nil {
		c.LoadVars = func(c *render.Context) error {
			if resolved, resolveErr = r.resolve(ctx, d.JobID, log); resolveErr != nil {
				resolved = &variables.Resolved{}
				return resolveErr
			}
			c.Vars, c.Secret, mask = resolved.Vars, resolved.Secret, secret.NewMasker(resolved.Values)
			return nil
		}
	}
	rendered, err := r.runner.Render(d, c)
	if resolveErr != nil {
		// The keys or the database: not the job's fault, so not permanent.
		return domain.RunResult{Status: domain.StatusFailed, Error: "resolve variables: " + resolveErr.Error(), Reason: domain.FailVariables}, nil
	}
	if len(c.Tainted) > 0 {
		// What a filter made of a secret shows as much of it as the secret itself.
		mask = secret.NewMasker(append(slices.Clone(resolved.Values), c.Tainted...))
	}
	if err != nil {
		// A missing variable or a bad template stays wrong until someone fixes the job.
		return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Error: "not sent: " + err.Error(), Reason: domain.FailTemplate}, mask
	}
	var bound secret.Bindings
	for name := range c.Used {
		if hosts := resolved.Hosts[name]; len(hosts) > 0 {
			bound = append(bound, secret.Binding{Name: name, Hosts: hosts})
		}
	}
	if len(bound) > 0 {
		slices.SortFunc(bound, func(a, b secret.Binding) int { return strings.Compare(a.Name, b.Name) })
		// Checked on the request as filled in, before anything is sent; a redirect is checked
		// again at its hop.
		if err := r.checkDestinations(rendered, bound); err != nil {
			return domain.RunResult{Status: domain.StatusFailed, Permanent: true, Error: "not sent: " + err.Error(), Reason: domain.FailEgressDenied}, mask
		}
		ctx = secret.WithBindings(ctx, bound)
	}
	// The runner's span records its error before the outcome is masked here.
	ctx = secret.WithMasker(ctx, mask)
	return r.attempt(ctx, rendered, e, onStart), mask
}

// destinations is a Runner whose job may connect to several hosts: a connection string with
// fallback servers.
type destinations interface {
	Destinations(d event.Due) []string
}

// checkDestinations checks every host d's attempt may connect to against the bound secrets.
func (r *Runtime) checkDestinations(d event.Due, bound secret.Bindings) error {
	hosts := []string{r.runner.Target(d)}
	if ds, ok := r.runner.(destinations); ok {
		hosts = ds.Destinations(d)
		if len(hosts) == 0 {
			hosts = []string{""} // unnamed: no binding allows it
		}
	}
	for _, h := range hosts {
		if err := bound.Check(h); err != nil {
			return err
		}
	}
	return nil
}

// resolve returns the variables of jobID's templates and the secret values among them. A panic
// there is an error that names the panic's type only: its value may hold a secret, and no
// masker knows the secrets before Resolve returns them.
func (r *Runtime) resolve(ctx context.Context, jobID string, log execLog) (res *variables.Resolved, err error) {
	ctx, span := r.startSpan(ctx, "variables.resolve")
	// Deferred first, so it runs last and sees the panic's error; the text is what is stored
	// ("resolve variables: …"): no value is in it, none is known yet.
	defer func() { endSpan(span, errText(err)) }()
	defer func() {
		if v := recover(); v != nil {
			log.Error("resolving variables panicked", "panic_type", fmt.Sprintf("%T", v), "stack", string(debug.Stack()))
			err = errors.New("panicked with " + delivery.DescribePanic(v, nil))
		}
	}()
	return r.vars.Resolve(ctx, jobID)
}

// panicked is the result of an attempt that panicked with v; it logs the panic with its stack.
// mask hides the attempt's secrets in both: a panic value may well quote a rendered request.
//
// A panic is a bug in vecron or in a driver, not the target's doing and not necessarily the
// job's: the attempt fails as a transient failure would (not Permanent), so it is retried with
// back-off and a deploy that fixes the bug picks the execution up; a bug that outlasts the
// retries dead-letters it, for a person to replay.
func panicked(log execLog, v any, mask *secret.Masker) domain.RunResult {
	msg := delivery.DescribePanic(v, mask.Mask)
	log.Error("attempt panicked", "panic", msg, "stack", mask.Mask(string(debug.Stack())))
	return domain.RunResult{Status: domain.StatusFailed, Error: "panicked: " + msg, Reason: domain.FailOther}
}

// attempt runs one attempt behind the target's circuit breaker, calling onStart just before
// the target is called.
func (r *Runtime) attempt(ctx context.Context, d event.Due, e *domain.Execution, onStart func()) domain.RunResult {
	target := r.runner.Target(d)
	if r.breaker == nil || target == "" {
		onStart()
		return r.run(ctx, d, e)
	}
	done, err := r.breaker.Allow(ctx, target)
	if err != nil {
		res := domain.RunResult{Status: domain.StatusFailed, Error: "not sent: " + err.Error(), Reason: domain.FailBreakerOpen}
		var open interface{ Wait() time.Duration }
		if errors.As(err, &open) {
			res.RetryAfter = open.Wait()
		}
		return res
	}
	// Reported on the way up from a panic too, as the target's success: a panic says nothing
	// against the target, and the breaker must not stay waiting for a report.
	targetOK := true
	defer func() { done(targetOK) }()
	onStart()
	res := r.run(ctx, d, e)
	// A permanent failure (a 404) shows the target is up; it is the job that is wrong.
	targetOK = res.Status == domain.StatusSucceeded || res.Permanent
	return res
}

// deadLettered publishes a dead-lettered execution to the dead-letter stream and as a lifecycle
// event. Both carry its idempotency key as message id, so a repeat is stored once.
func (r *Runtime) deadLettered(ctx context.Context, d event.Due, e *domain.Execution) error {
	ev, err := event.NewExecution(event.TypeExecutionDeadLettered, e, d, event.Source(r.function, r.cfg.WorkerID))
	if err != nil {
		return err
	}
	subject := r.names.DLQSubject(d.Kind)
	span := r.startPublish(ctx, subject, &ev)
	msg, err := event.ToNATS(ctx, ev)
	if err == nil {
		err = r.pub.Publish(ctx, queue.Message{Subject: subject, MsgID: ev.ID(), Msg: msg})
	}
	endSpan(span, errText(err))
	if err != nil {
		return err
	}
	return r.closeOut(ctx, d, e)
}

// newDeadLetter publishes e, which this worker just recorded dead-lettered, and counts it once it
// is in the dead-letter stream. A duplicate delivery publishes it again (deadLettered) without
// counting: whether the first publish was stored is not known there.
func (r *Runtime) newDeadLetter(ctx context.Context, d event.Due, e *domain.Execution) error {
	if err := r.deadLettered(ctx, d, e); err != nil {
		return err
	}
	r.m.deadLetterPublished(&d)
	return nil
}

// newExecution is the running execution d's delivery would record.
func (r *Runtime) newExecution(ctx context.Context, d event.Due, now time.Time) (*domain.Execution, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("new execution id: %w", err)
	}
	return &domain.Execution{
		ID: id.String(), JobID: d.JobID, JobVersion: d.JobVersion, IdempotencyKey: d.IdempotencyKey,
		Trigger: d.Trigger, ScheduledAt: d.ScheduledAt, StartedAt: &now, Status: domain.StatusRunning,
		Attempt: 1, WorkerID: r.cfg.WorkerID, Delivery: deliveryFacts(ctx, d),
	}, nil
}

// deliveryFacts are what d and the transport that delivered it tell of the fire's way here,
// recorded with the execution for its timeline (docs/fire-timeline.md); nil when nothing is
// known, which costs the insert nothing but NULLs.
func deliveryFacts(ctx context.Context, d event.Due) *domain.DeliveryFacts {
	tf, ok := delivery.FactsFrom(ctx)
	if !ok && d.ClaimedBy == "" && d.ClaimedAt == nil {
		return nil
	}
	f := &domain.DeliveryFacts{ClaimedBy: d.ClaimedBy, ClaimedAt: d.ClaimedAt,
		StreamSeq: tf.StreamSeq, Consumer: tf.Consumer, DeliveryCount: tf.Count}
	if !tf.StoredAt.IsZero() {
		at := tf.StoredAt
		f.PublishedAt = &at
	}
	return f
}

func (r *Runtime) start(ctx context.Context, d event.Due, now time.Time, p store.StartParams) (*domain.Execution, store.StartOutcome, error) {
	// A staged fire, recorded ahead, starts at its instant.
	e, err := r.newExecution(ctx, d, later(now, d.ScheduledAt))
	if err != nil {
		return nil, 0, err
	}
	// A first delivery of a non-exclusive fire — nearly every one — is inserted with others';
	// anything else (a redelivery, a retry, forbid/replace) takes the careful path.
	ft := fireTraceFrom(ctx)
	if ft != nil && ft.flags.IsSampled() {
		// The execution names its trace only where the trace was kept: a link to an unsampled
		// trace leads nowhere.
		e.TraceID = ft.tid.String()
	}
	if ft != nil {
		if ft.recStart.IsZero() {
			ft.recStart = time.Now()
		}
		defer func() { ft.recEnd = time.Now() }()
	}
	if !p.Exclusive {
		var link trace.SpanContext
		if ft != nil {
			link = ft.recordLink()
		}
		inserted, batch, err := r.inserts.doLinked(ctx, e, link)
		if ft != nil {
			ft.recBatch = batch
		}
		if err != nil {
			return nil, 0, err
		}
		switch inserted {
		case store.InsertedRunning:
			return e, store.Started, nil
		case store.InsertedSkipped:
			return e, store.Skipped, nil
		}
	}
	outcome, err := r.store.StartExecution(ctx, e, p)
	return e, outcome, err
}

// skip records d's fire as skipped for reason. It reports false, recording nothing, when the
// fire is recorded already; the caller then goes by that record.
func (r *Runtime) skip(ctx context.Context, d event.Due, reason string) (bool, error) {
	now := r.now().UTC()
	e, err := r.newExecution(ctx, d, now)
	if err != nil {
		return false, err
	}
	e.StartedAt, e.FinishedAt, e.Status, e.Error = nil, &now, domain.StatusSkipped, reason
	recorded, err := r.store.RecordSkipped(ctx, e)
	if err != nil || !recorded {
		return false, err
	}
	r.m.skip(&d, reason)
	r.log.Info("execution skipped", "job_id", d.JobID, "idempotency_key", d.IdempotencyKey, "reason", reason)
	return true, r.closeOut(ctx, d, e)
}

// ended settles a fire whose attempt this worker found no longer its own: taken over by another
// worker, which then settles it; or cancelled, when what follows an end is this worker's to do
// (the next run of a fixed_delay job, the lifecycle event), since nobody else will.
func (r *Runtime) ended(ctx context.Context, d event.Due, e *domain.Execution) error {
	rec, err := r.store.GetExecution(context.WithoutCancel(ctx), e.ID)
	if err != nil || rec.Status != domain.StatusCancelled {
		return err
	}
	return r.closeOut(ctx, d, rec)
}

// closeOut finishes what follows e's end: the next run of a fixed_delay job, then the lifecycle
// event.
func (r *Runtime) closeOut(ctx context.Context, d event.Due, e *domain.Execution) error {
	if err := r.afterFinish(ctx, d, e); err != nil {
		return err
	}
	return r.publishOutcome(ctx, d, e)
}

// afterFinish sets the next run of a fixed_delay job: its delay counts from the end of e.
func (r *Runtime) afterFinish(ctx context.Context, d event.Due, e *domain.Execution) error {
	if d.Schedule.Kind != domain.ScheduleFixedDelay || d.Trigger != domain.TriggerSchedule || e.FinishedAt == nil {
		return nil
	}
	sched, err := schedule.Parse(d.Schedule, d.Timezone)
	if err != nil {
		return fmt.Errorf("%w: job %s: %w", delivery.ErrPermanent, d.JobID, err)
	}
	var next *time.Time
	if t, ok := sched.WithSeed(d.JobID).Next(*e.FinishedAt); ok {
		next = &t
	}
	return r.store.ScheduleAfterFinish(context.WithoutCancel(ctx), d.JobID, d.ScheduledAt, next)
}

// run runs the attempt under its timeout, heart-beating so no other worker takes it over. When
// a heartbeat finds the attempt no longer this worker's (replaced or taken over), it stops it.
func (r *Runtime) run(ctx context.Context, d event.Due, e *domain.Execution) domain.RunResult {
	timeout := cmp.Or(time.Duration(d.Timeout), r.cfg.DefaultTimeout)
	runCtx, cancel := clockwork.WithTimeout(ctx, r.clock, timeout)
	defer cancel()
	runCtx, stop := context.WithCancel(runCtx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() {
		t := r.clock.NewTicker(r.cfg.HeartbeatInterval)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.Chan():
				err := r.store.Heartbeat(runCtx, e.ID, e.ScheduledAt, e.Attempt)
				switch {
				case errors.Is(err, domain.ErrConflict):
					stop()
					return
				case err != nil && runCtx.Err() == nil:
					r.log.Warn("record heartbeat", "execution_id", e.ID, "error", err)
				}
			}
		}
	})
	return r.runner.Run(runCtx, d)
}

// finishPatience bounds how long finish keeps trying to record an outcome.
const finishPatience = 10 * time.Minute

// finish records the terminal state, retrying through a database outage: giving up would have
// the fire redelivered, found running, taken over and sent to the target a second time. While it
// retries, the transport keeps the event (pull mode signals progress).
//
// The runs e's end starts through its job's chains are queued in the same transaction, so that
// neither is recorded without the other.
func (r *Runtime) finish(ctx context.Context, d event.Due, e *domain.Execution, a *domain.Attempt) error {
	ctx = context.WithoutCancel(ctx)
	fctx, span := r.startSpan(ctx, "execution.finish")
	var member trace.SpanContext
	if span != nil {
		member = span.SpanContext()
	}
	deadline := r.clock.Now().Add(finishPatience)
	wait := 100 * time.Millisecond
	for {
		chain, err := r.chainRuns(ctx, d, e)
		recorded := false
		if err == nil {
			var batch trace.SpanContext
			recorded, batch, err = r.finishes.doLinked(fctx, store.Finish{Execution: e, Attempt: a, Chain: chain}, member)
			if span != nil && batch.IsValid() {
				span.AddLink(trace.Link{SpanContext: batch})
			}
		}
		if err == nil && !recorded {
			err = fmt.Errorf("finish execution %s attempt %d: %w", e.ID, e.Attempt, domain.ErrConflict)
		}
		if err == nil || errors.Is(err, domain.ErrConflict) || r.clock.Now().After(deadline) {
			endSpan(span, errText(err))
			return err
		}
		r.log.Warn("record execution outcome; retrying", "execution_id", e.ID, "retry_in", wait, "error", err)
		r.clock.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}

// startedEvent is a started event on its way to the events stream.
type startedEvent struct {
	msg     queue.Message
	pending *queue.Pending
}

// publishStarted publishes the io.vecron.execution.started event of e's attempt, about to run,
// without waiting for the broker: the acknowledgement is collected by confirmStarted once the
// attempt is over, so the event costs the fire an encoding and a buffered write, not a round
// trip. It returns nil when the event could not be built (logged; the attempt runs anyway).
func (r *Runtime) publishStarted(ctx context.Context, d event.Due, e *domain.Execution, log execLog) *startedEvent {
	ev, err := event.NewExecution(event.TypeExecutionStarted, e, d, event.Source(r.function, r.cfg.WorkerID))
	if err != nil {
		log.Warn("build the started event", "error", err)
		return nil
	}
	subject := r.names.EventSubject(event.TypeExecutionStarted)
	span := r.startPublish(ctx, subject, &ev)
	// Ended once handed to the connection: the acknowledgement is collected later, off the span.
	defer endSpan(span, "")
	msg, err := event.ToNATS(context.Background(), ev)
	if err != nil {
		log.Warn("encode the started event", "error", err)
		return nil
	}
	m := queue.Message{Subject: subject, MsgID: ev.ID(), Msg: msg}
	return &startedEvent{msg: m, pending: r.pub.PublishAsync(m)}
}

// confirmStarted waits for the acknowledgement of a started event (long arrived, as a rule, by
// the time its attempt is over) and publishes it once more, waiting, when it was not stored: a
// lost started event is not worth failing or repeating the attempt for, so a second failure is
// logged and the execution goes on to its terminal event, which sinks always get.
func (r *Runtime) confirmStarted(ctx context.Context, s *startedEvent, log execLog) {
	if s == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if s.pending.Wait(ctx) == nil {
		return
	}
	if err := r.pub.Publish(ctx, s.msg); err != nil {
		log.Warn("started event not published", "event_id", s.msg.MsgID, "error", err)
	}
}

// publishOutcome publishes e's terminal lifecycle event.
func (r *Runtime) publishOutcome(ctx context.Context, d event.Due, e *domain.Execution) error {
	typ := event.TypeExecutionFailed
	switch e.Status {
	case domain.StatusSucceeded:
		typ = event.TypeExecutionSucceeded
	case domain.StatusSkipped:
		typ = event.TypeExecutionSkipped
	case domain.StatusCancelled:
		typ = event.TypeExecutionCancelled
	case domain.StatusDeadLettered:
		typ = event.TypeExecutionDeadLettered
	}
	ev, err := event.NewExecution(typ, e, d, event.Source(r.function, r.cfg.WorkerID))
	if err != nil {
		return err
	}
	subject := r.names.EventSubject(typ)
	span := r.startPublish(ctx, subject, &ev)
	msg, err := event.ToNATS(ctx, ev)
	if err == nil {
		err = r.pub.Publish(ctx, queue.Message{Subject: subject, MsgID: ev.ID(), Msg: msg})
	}
	endSpan(span, errText(err))
	return err
}

func (r *Runtime) now() time.Time { return r.clock.Now() }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// storable makes s valid UTF-8 without NUL bytes, as PostgreSQL text requires.
func storable(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
