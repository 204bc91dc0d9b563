// Package watchdog finds fires that were due and have not started within their job's grace —
// never claimed, claimed but never published, published but never delivered, delivered but never
// started — and records them as missed, once each, counting them in a metric
// (docs/missed-fires.md). It runs in the api function, apart from the tick and the executors
// whose failures it is there to see, and adds nothing to the path of a healthy fire: it reads
// the jobs' due index, the outbox and the due stream, which hold only what has not gone through.
package watchdog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
)

// Defaults of Config.
const (
	IntervalDefault  = 10 * time.Second
	LimitDefault     = 1000
	RetentionDefault = 30 * 24 * time.Hour
	// lookBack bounds how far back a pass notes the start of fires it recorded.
	lookBack = 7 * 24 * time.Hour
)

// Config shapes the watchdog.
type Config struct {
	// Interval is how often one of the api replicas runs a pass.
	Interval time.Duration `koanf:"interval" usage:"how often the missed-fire watchdog looks (one api replica at a time)"`
	// Limit bounds the fires a pass looks at in each place, so that a huge backlog does not
	// turn the watchdog into a load of its own.
	Limit int `koanf:"limit" usage:"fires the missed-fire watchdog looks at per place and pass"`
	// Retention is how long a missed fire's record is kept, as long as the execution history
	// by default.
	Retention time.Duration `koanf:"retention" usage:"how long missed-fire records are kept"`
	// Disabled turns the watchdog off on this replica.
	Disabled bool `koanf:"disabled" usage:"do not run the missed-fire watchdog on this replica"`
}

func (c Config) withDefaults() Config {
	c.Interval = cmp.Or(c.Interval, IntervalDefault)
	c.Limit = cmp.Or(c.Limit, LimitDefault)
	c.Retention = cmp.Or(c.Retention, RetentionDefault)
	return c
}

func (c Config) validate() error {
	switch {
	case c.Interval < time.Second:
		return fmt.Errorf("watchdog.interval: %s is shorter than 1s", c.Interval)
	case c.Limit < 1 || c.Limit > 100_000:
		return fmt.Errorf("watchdog.limit: %d is not from 1 to 100000", c.Limit)
	case c.Retention < lookBack:
		return fmt.Errorf("watchdog.retention: %s is shorter than the %s a missed fire is followed for", c.Retention, lookBack)
	}
	return nil
}

// Store is what the watchdog reads and writes in the database.
type Store interface {
	BeginMissedPass(ctx context.Context, now time.Time, every time.Duration) (bool, error)
	UnclaimedFires(ctx context.Context, now time.Time, def time.Duration, limit int) ([]domain.MissedFire, error)
	UnpublishedFires(ctx context.Context, now time.Time, def time.Duration, limit int) ([]domain.MissedFire, error)
	JudgeWaiting(ctx context.Context, now time.Time, def time.Duration, fires []store.WaitingFire) ([]store.Verdict, error)
	RecordMissedFires(ctx context.Context, fires []domain.MissedFire, hook store.MissedHook) ([]domain.MissedFire, error)
	NoteMissedStarts(ctx context.Context, since time.Time) (int, error)
	ForgetMissedFires(ctx context.Context, before time.Time, limit int) (int, error)
}

// Stream lists the fires the due stream holds.
type Stream interface {
	Waiting(ctx context.Context, from uint64, limit int) ([]queue.Waiting, error)
}

var (
	_ Store  = (*store.Store)(nil)
	_ Stream = (*queue.Inspector)(nil)
)

// Deps are the watchdog's collaborators. Stream may be nil (no NATS configured): the stages
// after publication are then not looked at.
type Deps struct {
	Store  Store
	Stream Stream
	Clock  clockwork.Clock
	Log    *slog.Logger
	// Metrics, when not nil, receives vecron_missed_fires_total.
	Metrics *metric.Registry
	// OnMissed, when not nil, runs in the transaction that records missed fires, with those
	// recorded now (alerting).
	OnMissed store.MissedHook
}

// Watchdog looks for missed fires every interval.
type Watchdog struct {
	deps   Deps
	cfg    Config
	missed *metric.CounterVec

	mu sync.Mutex
	// from is the due stream's sequence the next pass reads from: everything before it was
	// recorded missed or taken by an execution, or was not a fire. It moves once a pass has
	// recorded what it found.
	from uint64
}

// New returns a watchdog, or an error naming the field of cfg that is wrong or the metric that
// cannot be registered.
func New(deps Deps, cfg Config) (*Watchdog, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	// Every stage shows, at 0, before its first miss: the registry starts closed label sets at 0.
	missed, err := deps.Metrics.CounterVec(metric.MissedFires)
	if err != nil {
		return nil, fmt.Errorf("watchdog metrics: %w", err)
	}
	w := &Watchdog{deps: deps, cfg: cfg, missed: missed}
	return w, nil
}

// Run runs a pass every interval on the clock until ctx ends. A pass that fails is logged and
// the next one tries again: the watchdog must outlive the outages it is there to report.
func (w *Watchdog) Run(ctx context.Context) error {
	if w.cfg.Disabled {
		return nil
	}
	t := w.deps.Clock.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
		}
		if _, err := w.Pass(ctx); err != nil && ctx.Err() == nil {
			w.deps.Log.Warn("missed-fire pass failed", "error", err)
		}
	}
}

// Pass looks once, when no other replica has within the interval, and returns the fires it
// recorded missed now. A place that cannot be read (the broker down) is reported in the error
// after the others were looked at and their findings recorded.
func (w *Watchdog) Pass(ctx context.Context) ([]domain.MissedFire, error) {
	now := w.deps.Clock.Now().UTC()
	// A little less than the interval, so that a replica's own ticker, a hair early, still wins.
	mine, err := w.deps.Store.BeginMissedPass(ctx, now, w.cfg.Interval*9/10)
	if err != nil || !mine {
		return nil, err
	}
	return w.look(ctx, now)
}

// look is one pass at now.
func (w *Watchdog) look(ctx context.Context, now time.Time) ([]domain.MissedFire, error) {
	var found []domain.MissedFire
	var errs []error
	def := domain.MissedAfterDefault
	if fires, err := w.deps.Store.UnclaimedFires(ctx, now, def, w.cfg.Limit); err != nil {
		errs = append(errs, err)
	} else {
		found = append(found, fires...)
	}
	if fires, err := w.deps.Store.UnpublishedFires(ctx, now, def, w.cfg.Limit); err != nil {
		errs = append(errs, err)
	} else {
		found = append(found, fires...)
	}
	var (
		from    uint64
		advance bool
	)
	if w.deps.Stream != nil {
		if fires, next, err := w.waiting(ctx, now, def); err != nil {
			errs = append(errs, err)
		} else {
			found, from, advance = append(found, fires...), next, true
		}
	}
	recorded, err := w.deps.Store.RecordMissedFires(ctx, found, w.deps.OnMissed)
	if err != nil {
		// The stream is read from where it was again: what could not be recorded is judged anew.
		return nil, errors.Join(append(errs, err)...)
	}
	if advance {
		w.mu.Lock()
		w.from = from
		w.mu.Unlock()
	}
	for _, f := range recorded {
		w.missed.Inc(string(f.Stage))
		w.deps.Log.Warn("fire missed", "job_id", f.JobID, "idempotency_key", f.Key, "scheduled_at", f.ScheduledAt,
			"stage", string(f.Stage), "detail", f.Detail)
	}
	if _, err := w.deps.Store.NoteMissedStarts(ctx, now.Add(-lookBack)); err != nil {
		errs = append(errs, err)
	}
	if _, err := w.deps.Store.ForgetMissedFires(ctx, now.Add(-w.cfg.Retention), w.cfg.Limit); err != nil {
		errs = append(errs, err)
	}
	return recorded, errors.Join(errs...)
}

// waiting returns the fires the due stream holds past their grace that no execution has taken,
// and the sequence the next pass is to read from once they are recorded. It reads from where
// the previous pass of this replica found the first fire still to be judged, so that a backlog
// larger than the limit is read a limit at a time, oldest first, instead of its oldest part
// again and again.
func (w *Watchdog) waiting(ctx context.Context, now time.Time, def time.Duration) ([]domain.MissedFire, uint64, error) {
	w.mu.Lock()
	from := w.from
	w.mu.Unlock()
	held, err := w.deps.Stream.Waiting(ctx, from, w.cfg.Limit)
	if err != nil || len(held) == 0 {
		return nil, from, err
	}
	cands := make([]store.WaitingFire, 0, len(held))
	for _, h := range held {
		since := h.ScheduledAt
		if h.Stored.After(since) {
			since = h.Stored
		}
		f := store.WaitingFire{Since: since, MissedFire: domain.MissedFire{Key: h.Key, JobID: h.JobID, ScheduledAt: h.ScheduledAt,
			StreamSeq: h.Seq, Consumer: h.Consumer, DetectedAt: now}}
		switch {
		case h.Consumer == "":
			f.Stage, f.Detail = domain.MissedUndelivered, "in the due stream; no consumer takes "+string(h.Kind)+" fires"
		case !h.Delivered:
			f.Stage, f.Detail = domain.MissedUndelivered, "in the due stream; consumer "+h.Consumer+" never delivered it (no executor pulling)"
		default:
			f.Stage, f.Detail = domain.MissedUnacknowledged, "delivered by consumer "+h.Consumer+"; no executor recorded its start"
		}
		cands = append(cands, f)
	}
	// Messages that are not fires are stepped over; the rest are judged.
	judged := make([]store.WaitingFire, 0, len(cands))
	for _, c := range cands {
		if c.Key != "" {
			judged = append(judged, c)
		}
	}
	verdicts, err := w.deps.Store.JudgeWaiting(ctx, now, def, judged)
	if err != nil {
		return nil, from, err
	}
	var missed []domain.MissedFire
	next, young := held[len(held)-1].Seq+1, false
	for i, k := 0, 0; i < len(cands); i++ {
		if cands[i].Key == "" {
			continue
		}
		switch verdicts[k] {
		case store.VerdictMissed:
			missed = append(missed, judged[k].MissedFire)
		case store.VerdictYoung:
			if !young {
				next, young = cands[i].StreamSeq, true
			}
		}
		k++
	}
	return missed, next, nil
}
