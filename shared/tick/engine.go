// Package tick is the scheduler's clock: it claims due jobs from the store in batches, publishes
// each fire as a due CloudEvent at its scheduled instant, and commits the claim once the broker
// has acknowledged its fires — the claim's transaction stays open until then, so a replica that
// dies before it commits leaves the jobs to be claimed and published again under the same
// idempotency keys. A fire that cannot be published goes to the outbox with the commit, and so
// do the fires of claims made while too many are open; the relay republishes outbox fires a
// crashed or stalled replica left behind.
package tick

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
)

// Defaults of Config.
const (
	// LookaheadDefault and StageAheadDefault together keep the three bursts of work an instant
	// costs apart when fires come every second, the busiest common case
	// (docs/staged-fires.md): the claim of instant T runs at T-1.25 s, a quarter second before
	// the fires of T-1 are sent; the fires of T are published and staged from T-0.5 s; at T only
	// their requests are left. A claim one second ahead ran at the previous instant, beside its
	// requests, and made them later by half.
	LookaheadDefault        = 1250 * time.Millisecond
	BatchSizeDefault        = 1000
	MisfireThresholdDefault = time.Minute
	MaxFiresPerJobDefault   = 1000
	RelayIntervalDefault    = 10 * time.Second
	RelayAfterDefault       = 10 * time.Second
	MaxSleepDefault         = time.Minute
	// StageAheadDefault is how early a fire is published, for its executor to record it and
	// wait for its instant: time for the 5 000 fires of a busy second to be published,
	// delivered and recorded on a small machine.
	StageAheadDefault = 500 * time.Millisecond
)

// Config tunes the engine. Zero fields take their defaults.
type Config struct {
	Lookahead        time.Duration `koanf:"lookahead" usage:"how far ahead due jobs are claimed"`
	BatchSize        int           `koanf:"batch_size" usage:"jobs claimed per transaction"`
	MisfireThreshold time.Duration `koanf:"misfire_threshold" usage:"a fire later than this is a misfire, handled by the job's misfire_policy"`
	RelayInterval    time.Duration `koanf:"relay_interval" usage:"how often stranded outbox rows are looked for"`
	RelayAfter       time.Duration `koanf:"relay_after" usage:"age after which an unacknowledged fire is republished"`
	MaxSleep         time.Duration `koanf:"max_sleep" usage:"longest sleep without looking at the jobs table"`
	// StageAhead is how long before its instant a fire is published; executors hold it until
	// the instant. It is at most the lookahead: a fire is not published before it is claimed.
	StageAhead time.Duration `koanf:"stage_ahead" usage:"how early fires are published for executors to prepare (at most tick.lookahead)"`
	// Instance names this replica in event sources and logs.
	Instance string `koanf:"instance" usage:"replica name used in event sources"`
	// Prewarm wakes executors ahead of their fires (docs/deploy.md §8).
	Prewarm PrewarmConfig `koanf:"prewarm"`
	// CommitBeforePublish makes every claim commit before its fires are published, as a
	// lookahead over 2 s does: set when the fires are forwarded to executors that are pushed to
	// (forward.enabled). Such an executor believes a fire only once the database shows it
	// claimed (docs/deploy.md §4, "Pushed events"), and a claim held open while its fires are
	// published would not show yet.
	CommitBeforePublish bool `koanf:"-"`
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	c.Lookahead = cmp.Or(c.Lookahead, LookaheadDefault)
	c.BatchSize = cmp.Or(c.BatchSize, BatchSizeDefault)
	c.MisfireThreshold = cmp.Or(c.MisfireThreshold, MisfireThresholdDefault)
	c.RelayInterval = cmp.Or(c.RelayInterval, RelayIntervalDefault)
	c.RelayAfter = cmp.Or(c.RelayAfter, RelayAfterDefault)
	c.MaxSleep = cmp.Or(c.MaxSleep, MaxSleepDefault)
	c.StageAhead = cmp.Or(c.StageAhead, StageAheadDefault)
	c.Instance = cmp.Or(c.Instance, "tick")
	c.Prewarm = c.Prewarm.withDefaults()
	return c
}

func (c Config) validate() error {
	switch {
	case c.Lookahead < 0:
		return errors.New("tick.lookahead: must not be negative")
	case c.BatchSize < 0:
		return errors.New("tick.batch_size: must not be negative")
	case c.MisfireThreshold < 0:
		return errors.New("tick.misfire_threshold: must not be negative")
	case c.RelayInterval < 0:
		return errors.New("tick.relay_interval: must not be negative")
	case c.RelayAfter < 0:
		return errors.New("tick.relay_after: must not be negative")
	case c.MaxSleep < 0:
		return errors.New("tick.max_sleep: must not be negative")
	case c.StageAhead < 0:
		return errors.New("tick.stage_ahead: must not be negative")
	}
	if err := c.Prewarm.validate(); err != nil {
		return err
	}
	// A fire is claimed a lookahead before its instant, and a claimed fire counts its kind
	// warm: a lead not longer than the lookahead would never wake a kind (docs/deploy.md §8).
	// Longer is what the lead is for: the tick's look at next fires reaches past the lookahead.
	if d := c.withDefaults(); d.Prewarm.Enabled && d.Prewarm.Lead <= d.Lookahead {
		return fmt.Errorf("tick.prewarm.lead: %s must be longer than tick.lookahead (%s): fires are claimed tick.lookahead ahead, and a claimed fire counts its kind warm, so no wake would ever be sent",
			d.Prewarm.Lead, d.Lookahead)
	}
	return nil
}

// claimTimeout bounds one claim transaction.
const claimTimeout = 30 * time.Second

// Claims held open until their fires are published (see store.HeldClaim): at most
// maxHeldClaims at once, each a pooled connection and a batch of locked jobs — half the tick's
// default pool of ten, and five batches of the default 1 000 jobs: 5 000 fires a second — and
// only while the lookahead is short, since an edit of a claimed job waits for its claim. Other
// claims write their fires to the outbox, as every claim did before.
const (
	maxHeldClaims    = 5
	maxHeldLookahead = 2 * time.Second
	// heldRecheck is how often a replica looks again while jobs due before its next one are held
	// by a claim: half the default lookahead, so the jobs of a claim another replica ends (its
	// shutdown, its death) are claimed again before their next instant.
	heldRecheck = 500 * time.Millisecond
	// heldCommitTimeout bounds the commit of a held claim; one that cannot commit in time is
	// rolled back by the server, and its jobs fire again under the same keys.
	heldCommitTimeout = 10 * time.Second
)

// Store is what the engine needs of the database.
type Store interface {
	ClaimDue(ctx context.Context, now time.Time, shards []int32, horizon time.Time, limit int, plan store.Plan) ([]domain.Fire, int, []error, error)
	ClaimDueHeld(ctx context.Context, now time.Time, shards []int32, horizon time.Time, limit int, plan store.Plan) (*store.HeldClaim, error)
	NextDue(ctx context.Context, shards []int32) (next time.Time, ok, held bool, err error)
	NextDueByKind(ctx context.Context, shards []int32, kinds []domain.JobKind, until time.Time, lead time.Duration, watch []store.Candidate) (store.NextDueTimes, error)
	DeleteFires(ctx context.Context, keys []string) error
	StrandedFires(ctx context.Context, now time.Time, age time.Duration, limit int) ([]domain.Fire, error)
	DueQueued(ctx context.Context, now time.Time, limit int) ([]domain.Fire, error)
	NextQueued(ctx context.Context, after time.Time) (time.Time, bool, error)
	ListenJobChanges(ctx context.Context, ready func(), notify func()) error
	OpenFreezes(ctx context.Context, now, horizon time.Time) ([]*domain.Freeze, error)
	OutboxDue(ctx context.Context, now time.Time) (count int, oldest time.Time, err error)
}

// Shards says which shards of the jobs this replica claims (see package lease). Without one
// the engine claims every shard.
type Shards interface {
	// Owned returns the shards to claim now; all means every shard (the leases cannot be
	// kept, and the database claim alone keeps replicas apart).
	Owned() (shards []int, all bool)
	// Changed signals that Owned changed.
	Changed() <-chan struct{}
}

// Publisher publishes batches of messages and reports per-message errors.
type Publisher interface {
	PublishBatch(ctx context.Context, msgs []queue.Message) []error
}

// dupPublisher is a publisher that also says which messages the broker had already.
type dupPublisher interface {
	PublishBatchDup(ctx context.Context, msgs []queue.Message) ([]error, []bool)
}

// Engine runs the claim → publish loop.
type Engine struct {
	store Store
	pub   Publisher
	names event.Names
	cfg   Config
	clock clockwork.Clock
	log   *slog.Logger

	shards Shards
	wake   chan struct{}
	// claimed wakes the loop to claim again: a held claim committed, and its jobs are visible
	// at their next instants.
	claimed   chan struct{}
	listening chan struct{}
	listenOne sync.Once
	// held counts the claims open until their fires are published.
	held atomic.Int32

	// prewarm is nil unless the engine wakes executors ahead of their fires.
	prewarm *prewarmer

	metrics metrics
	// tracer is nil when the engine does not trace (SetTracer): the fire's path then skips
	// every span.
	tracer trace.Tracer
	// ratio is the sampler of otel.sample_ratio the tracer's provider applies to a root span:
	// a fire with no request behind it is such a root, with a trace id from its key, so the
	// engine knows the answer before starting the span (startFire).
	ratio sdktrace.Sampler
}

// SetShards makes the engine claim only the shards sh owns. Call it before Run.
func (e *Engine) SetShards(sh Shards) { e.shards = sh }

// owned returns the shard filter of a claim: nil for every shard; ok is false when this replica
// owns no shard now.
func (e *Engine) owned() (filter []int32, ok bool) {
	if e.shards == nil {
		return nil, true
	}
	shards, all := e.shards.Owned()
	if all {
		return nil, true
	}
	if len(shards) == 0 {
		return nil, false
	}
	filter = make([]int32, len(shards))
	for i, s := range shards {
		filter[i] = int32(s)
	}
	return filter, true
}

// New returns an engine that reads the time and sleeps on clock: every instant it plans, waits
// for and records comes from it.
func New(st Store, pub Publisher, names event.Names, clock clockwork.Clock, log *slog.Logger, cfg Config) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Engine{
		store: st, pub: pub, names: names, cfg: cfg.withDefaults(), clock: clock, log: log,
		wake: make(chan struct{}, 1), claimed: make(chan struct{}, 1), listening: make(chan struct{}),
		prewarm: newPrewarmer(cfg.withDefaults().Prewarm),
	}, nil
}

// Listening is closed once the engine receives job-change notifications, so changes made after
// it are picked up without waiting for a sleep to end.
func (e *Engine) Listening() <-chan struct{} { return e.listening }

// Run claims and publishes until ctx ends. Then it stops claiming, publishes the fires it has
// already claimed as they come due (at most one lookahead away), waits for their
// acknowledgements and returns nil.
func (e *Engine) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	listenCtx, stopListen := context.WithCancel(ctx)
	defer stopListen()
	wg.Go(func() { e.listen(listenCtx) })

	batches := make(chan []pendingFire, 64)
	wg.Go(func() { e.publishLoop(context.WithoutCancel(ctx), batches) })
	defer close(batches)
	var wakes chan wake
	if e.prewarm != nil {
		wakes = make(chan wake, wakeQueue)
		wg.Go(func() { e.wakeLoop(context.WithoutCancel(ctx), wakes) })
		defer close(wakes)
	}

	var (
		pending      fireHeap
		nextClaim    = e.now()
		nextRelay    = e.now()
		nextBackfill = e.now()
		timer        = e.clock.NewTimer(0)
	)
	defer timer.Stop()
	for {
		now := e.now()
		// Fires due now (published StageAhead before their instants) go out before the next
		// claim: a claim of a thousand jobs takes about a tenth of a second.
		if due := pending.popDue(now.Add(e.cfg.StageAhead)); len(due) > 0 {
			e.prewarm.published(due, now)
			batches <- due
		}
		if !now.Before(nextClaim) {
			nextClaim = e.claim(ctx, now, &pending)
		}
		if !now.Before(nextRelay) {
			e.relay(ctx, now, batches)
			nextRelay = now.Add(e.cfg.RelayInterval)
		}
		if !now.Before(nextBackfill) {
			nextBackfill = e.backfill(ctx, now, batches)
		}
		if due := pending.popDue(now.Add(e.cfg.StageAhead)); len(due) > 0 {
			e.prewarm.published(due, now)
			batches <- due
		}

		wakeAt := minTime(minTime(nextClaim, nextRelay), nextBackfill)
		if len(pending) > 0 {
			wakeAt = minTime(wakeAt, pending[0].ScheduledAt.Add(-e.cfg.StageAhead))
		}
		if e.prewarm != nil {
			ws, later := e.prewarm.next(now)
			e.sendWakes(ws, wakes)
			if !later.IsZero() {
				wakeAt = minTime(wakeAt, later)
			}
		}
		timer.Reset(max(wakeAt.Sub(e.now()), 0))
		var shardsChanged <-chan struct{}
		if e.shards != nil {
			shardsChanged = e.shards.Changed()
		}
		select {
		case <-ctx.Done():
			e.drain(&pending, batches)
			return nil
		case <-e.wake:
			nextClaim, nextBackfill = e.now(), e.now()
			stopTimer(timer)
		case <-e.claimed:
			nextClaim = e.now()
			stopTimer(timer)
		case <-shardsChanged:
			nextClaim = e.now()
			stopTimer(timer)
		case <-timer.Chan():
		}
	}
}

// drain publishes the claimed fires when they are due (StageAhead before their instants), then
// returns.
func (e *Engine) drain(pending *fireHeap, batches chan<- []pendingFire) {
	for pending.Len() > 0 {
		if due := pending.popDue(e.now().Add(e.cfg.StageAhead)); len(due) > 0 {
			batches <- due
			continue
		}
		e.clock.Sleep((*pending)[0].ScheduledAt.Add(-e.cfg.StageAhead).Sub(e.now()))
	}
}

// claim claims one batch into pending and returns when to claim next.
func (e *Engine) claim(ctx context.Context, now time.Time, pending *fireHeap) time.Time {
	shards, ok := e.owned()
	if !ok {
		// The fires of shards it does not own are others' to wake for.
		e.prewarm.forget()
		return now.Add(e.cfg.MaxSleep) // a change of shards wakes the loop
	}
	horizon := now.Add(e.cfg.Lookahead)
	// One read per claim, of a table that holds a handful of rows: the fires of the claim are
	// planned against it in memory.
	freezes, err := e.store.OpenFreezes(ctx, now, horizon)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("read open freezes", "error", err)
		}
		return now.Add(time.Second)
	}
	planner := Planner{Now: now, Horizon: horizon, MisfireThreshold: e.cfg.MisfireThreshold, MaxFires: MaxFiresPerJobDefault, Freezes: freezes, Instance: e.cfg.Instance}
	// A claim under way when shutdown begins must finish: cancelled mid-commit, its fires could
	// be committed to the outbox yet never handed to the publisher (the relay would send them
	// only later).
	claimCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), claimTimeout)
	began := e.now()
	spanBegan := time.Now()
	var skips skipTally
	fires, claimed, planErrs, held, err := e.claimFires(claimCtx, now, shards, horizon, e.countingPlan(planner.Plan, &skips), &skips)
	e.metrics.claimTime.Observe(e.clock.Since(began).Seconds(), "")
	cancel()
	cs := e.traceClaim(spanBegan, shards, claimed, len(fires), err)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("claim due jobs", "error", err)
		}
		e.prewarm.forget()
		return now.Add(time.Second)
	}
	for _, perr := range planErrs {
		e.log.Error("job cannot be scheduled; it stops firing until edited", "error", perr)
	}
	for _, f := range fires {
		heap.Push(pending, pendingFire{Fire: f, held: held, claim: cs})
	}
	e.prewarm.claimed(fires)
	if claimed == e.cfg.BatchSize {
		return now // more are due: claim again at once
	}
	next, ok, heldEarlier, err := e.nextDue(ctx, now, shards)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("find next due job", "error", err)
		}
		return now.Add(time.Second)
	}
	sleep := now.Add(e.cfg.MaxSleep)
	if heldEarlier && e.held.Load() == 0 {
		// A claim this replica does not hold — another replica's, stopping or dead — holds jobs
		// due earlier; when it ends they are due at once, and nothing announces it. (The end of
		// this replica's own claims wakes it.)
		sleep = now.Add(heldRecheck)
	}
	if !ok {
		return sleep
	}
	return minTime(next.Add(-e.cfg.Lookahead), sleep)
}

// claimFires claims due jobs, holding the claim open until its fires are published when it
// may (see maxHeldClaims); held is nil for a claim whose fires went to the outbox. The skips
// plan tallied into *skips are counted once the claim commits.
func (e *Engine) claimFires(ctx context.Context, now time.Time, shards []int32, horizon time.Time, plan store.Plan, skips *skipTally) (fires []domain.Fire, claimed int, planErrs []error, held *heldClaim, err error) {
	if e.cfg.CommitBeforePublish || e.cfg.Lookahead > maxHeldLookahead || e.held.Load() >= maxHeldClaims {
		fires, claimed, planErrs, err = e.store.ClaimDue(ctx, now, shards, horizon, e.cfg.BatchSize, plan)
		if err == nil {
			e.metrics.claimed.Add(float64(len(fires)))
			e.metrics.countSkips(*skips)
		}
		return fires, claimed, planErrs, nil, err
	}
	c, err := e.store.ClaimDueHeld(ctx, now, shards, horizon, e.cfg.BatchSize, plan)
	if err != nil {
		return nil, 0, nil, nil, err
	}
	if len(c.Fires) == 0 {
		// Nothing to publish (skipped fires, jobs that cannot be planned): commit at once.
		if err := c.Commit(ctx, nil); err != nil {
			return nil, 0, nil, nil, err
		}
		e.metrics.countSkips(*skips)
		return nil, c.Claimed, c.PlanErrs, nil, nil
	}
	e.held.Add(1)
	return c.Fires, c.Claimed, c.PlanErrs, &heldClaim{claim: c, left: len(c.Fires), skips: *skips}, nil
}

// heldClaim is an open claim and how many of its fires are still to be published. Only the
// publish loop touches it once its fires are queued.
type heldClaim struct {
	claim       *store.HeldClaim
	left        int
	unpublished []domain.Fire
	// skips are counted when the claim commits.
	skips skipTally
}

// pendingFire is a claimed fire waiting for its instant, with the open claim it belongs to (nil
// when it is in the outbox).
type pendingFire struct {
	domain.Fire
	held *heldClaim
	// claim is the claim's span, nil for a fire from the outbox or when the engine does not trace.
	claim *claimSpan
}

// relay queues fires that stayed in the outbox past RelayAfter: a replica died between claiming
// and publishing them, or their publication failed.
func (e *Engine) relay(ctx context.Context, now time.Time, batches chan<- []pendingFire) {
	e.measureOutbox(ctx, now)
	fires, err := e.store.StrandedFires(ctx, now, e.cfg.RelayAfter, e.cfg.BatchSize)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("find stranded fires", "error", err)
		}
		return
	}
	if len(fires) > 0 {
		e.log.Warn("republishing stranded fires", "count", len(fires), "oldest", fires[0].ScheduledAt)
		out := outboxFires(fires)
		e.prewarm.published(out, now)
		batches <- out
	}
}

// measureOutbox sets the outbox gauges from one aggregate statement, once per relay pass: a
// scrape costs the database nothing, and a process without metrics skips the statement.
func (e *Engine) measureOutbox(ctx context.Context, now time.Time) {
	if e.metrics.backlog == nil {
		return
	}
	n, oldest, err := e.store.OutboxDue(ctx, now)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("measure outbox backlog", "error", err)
		}
		return
	}
	e.metrics.backlog.Set(float64(n))
	age := 0.0
	if n > 0 {
		age = now.Sub(oldest).Seconds()
	}
	e.metrics.oldest.Set(age)
}

// backfill queues the backfill fires whose turn has come and returns when the next one is due.
func (e *Engine) backfill(ctx context.Context, now time.Time, batches chan<- []pendingFire) time.Time {
	fires, err := e.store.DueQueued(ctx, now, e.cfg.BatchSize)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Error("find due backfill fires", "error", err)
		}
		return now.Add(time.Second)
	}
	if len(fires) > 0 {
		out := outboxFires(fires)
		e.prewarm.published(out, now)
		batches <- out
	}
	if len(fires) == e.cfg.BatchSize {
		return now
	}
	next, ok, err := e.store.NextQueued(ctx, now)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			e.log.Error("find next backfill fire", "error", err)
		}
		return now.Add(time.Second)
	case !ok:
		return now.Add(e.cfg.MaxSleep) // a new backfill notifies the tick
	}
	return next
}

// outboxFires wraps fires read from the outbox.
func outboxFires(fires []domain.Fire) []pendingFire {
	out := make([]pendingFire, len(fires))
	for i, f := range fires {
		out[i] = pendingFire{Fire: f}
	}
	return out
}

// publishLoop publishes batches. It removes acknowledged outbox fires from the outbox (one whose
// publication fails stays there for the relay), and commits each open claim once all its fires
// were tried, writing those that failed to the outbox with the commit.
func (e *Engine) publishLoop(ctx context.Context, batches <-chan []pendingFire) {
	source := event.Source("tick", e.cfg.Instance)
	for fires := range batches {
		msgs := make([]queue.Message, 0, len(fires))
		sent := make([]pendingFire, 0, len(fires))
		var (
			unsent     []pendingFire
			spans      []fireSpans // of sent, index for index; nil when the engine does not trace
			batchBegan time.Time
		)
		if e.tracer != nil {
			spans = make([]fireSpans, 0, len(fires))
			batchBegan = time.Now()
		}
		for i := range fires {
			f := &fires[i]
			ev := event.NewDueEncoded(event.DueMeta{Key: f.Key, JobID: f.JobID, Kind: f.Kind, Trigger: f.Trigger, ScheduledAt: f.ScheduledAt}, f.Payload, source)
			var fs fireSpans
			if e.tracer != nil {
				var parent, state string
				fs, parent, state = e.startFire(f, batchBegan)
				ev = withTrace(ev, parent, state)
			}
			msg, err := event.ToNATS(ctx, ev)
			if err != nil {
				e.log.Error("encode due event", "idempotency_key", f.Key, "error", err)
				if e.tracer != nil {
					fs.end(err)
				}
				unsent = append(unsent, *f)
				continue
			}
			msgs = append(msgs, queue.Message{Subject: e.names.DueSubject(f.Kind), MsgID: f.Key, Msg: msg})
			sent = append(sent, *f)
			if e.tracer != nil {
				spans = append(spans, fs)
			}
		}
		var batch trace.Span
		if e.tracer != nil {
			batch = e.traceBatch(batchBegan, spans, len(msgs))
		}
		var errs []error
		var dups []bool // nil when the publisher cannot tell
		if dp, ok := e.pub.(dupPublisher); ok {
			errs, dups = dp.PublishBatchDup(ctx, msgs)
		} else {
			errs = e.pub.PublishBatch(ctx, msgs)
		}
		if e.tracer != nil {
			e.endSpans(batch, spans, errs)
		}
		ackedAt := e.now()
		acked := make([]string, 0, len(sent))
		var failed int
		for i, err := range errs {
			if err != nil {
				failed++
				if failed == 1 {
					e.log.Error("publish due event; the relay will retry", "idempotency_key", sent[i].Key, "error", err)
				}
				unsent = append(unsent, sent[i])
				continue
			}
			// A republished fire (a relay pass, a claim redone) is acknowledged as a duplicate:
			// it was counted when it was first published.
			if dups == nil || !dups[i] {
				e.metrics.acknowledged(&sent[i].Fire, ackedAt)
			}
			if sent[i].held == nil {
				acked = append(acked, sent[i].Key)
			} else {
				e.published(ctx, sent[i].held, nil)
			}
		}
		for _, f := range unsent {
			if f.held != nil {
				e.published(ctx, f.held, &f.Fire)
			}
		}
		if failed > 1 {
			e.log.Error("publish due events; the relay will retry", "failed", failed)
		}
		if len(acked) > 0 {
			if err := e.store.DeleteFires(ctx, acked); err != nil {
				// Harmless but noisy: the relay republishes them and JetStream drops the duplicates.
				e.log.Error("remove published fires from outbox", "count", len(acked), "error", err)
			}
		}
	}
}

// published counts one fire of h as tried (unpublished when it was not acknowledged) and
// commits h after its last.
func (e *Engine) published(ctx context.Context, h *heldClaim, unpublished *domain.Fire) {
	if unpublished != nil {
		h.unpublished = append(h.unpublished, *unpublished)
	}
	if h.left--; h.left > 0 {
		return
	}
	commitCtx, cancel := context.WithTimeout(ctx, heldCommitTimeout)
	err := h.claim.Commit(commitCtx, h.unpublished)
	cancel()
	if err != nil {
		// Rolled back: the jobs are claimed again and their fires published under the same keys,
		// which the broker and the executions' unique key store once.
		e.log.Error("commit claim; its jobs will be claimed again", "fires", len(h.claim.Fires), "error", err)
	} else {
		e.metrics.claimed.Add(float64(len(h.claim.Fires)))
		e.metrics.countSkips(h.skips)
	}
	e.held.Add(-1)
	select {
	case e.claimed <- struct{}{}:
	default:
	}
}

// listen turns job-change notifications into wake-ups, reconnecting until ctx ends.
func (e *Engine) listen(ctx context.Context) {
	ready := func() {
		e.listenOne.Do(func() { close(e.listening) })
		e.poke() // changes made while not listening
	}
	for {
		err := e.store.ListenJobChanges(ctx, ready, e.poke)
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("job change notifications interrupted; listening again", "error", err)
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(time.Second):
		}
	}
}

func (e *Engine) now() time.Time { return e.clock.Now() }

func (e *Engine) poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// stopTimer stops the loop's timer for a pass another wake-up started; the pass ends by
// setting it again. A timer left set would wait on the clock through the pass, and a fake
// clock's BlockUntil, which counts the timers waiting on it, would take the engine for idle and
// let a test move the clock on under the pass (docs/deploy.md P1's review fixes).
func stopTimer(t clockwork.Timer) {
	if !t.Stop() {
		select {
		case <-t.Chan():
		default:
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// fireHeap orders claimed fires by scheduled instant.
type fireHeap []pendingFire

func (h fireHeap) Len() int           { return len(h) }
func (h fireHeap) Less(i, j int) bool { return h[i].ScheduledAt.Before(h[j].ScheduledAt) }
func (h fireHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *fireHeap) Push(x any)        { *h = append(*h, x.(pendingFire)) }
func (h *fireHeap) Pop() any {
	old := *h
	f := old[len(old)-1]
	*h = old[:len(old)-1]
	return f
}

// popDue removes and returns the fires due at or before now.
func (h *fireHeap) popDue(now time.Time) []pendingFire {
	var due []pendingFire
	for h.Len() > 0 && !(*h)[0].ScheduledAt.After(now) {
		due = append(due, heap.Pop(h).(pendingFire))
	}
	return due
}

var _ Store = (*store.Store)(nil)
