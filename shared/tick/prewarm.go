package tick

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
)

// Defaults of PrewarmConfig.
const (
	// PrewarmLeadDefault is the cold-start budget of the binary; the chart sets one per mode
	// (docs/deploy.md §8).
	PrewarmLeadDefault = 10 * time.Second
	// PrewarmKeepDefault is under Knative's 60 s stable window, so a kind kept warm by wakes
	// and fires never shows the autoscaler a gap; KEDA's cooldown is longer.
	PrewarmKeepDefault = 45 * time.Second
	// prewarmMax bounds keep: a kind kept warm that long never scales to zero.
	prewarmMax = time.Hour
	// prewarmLeadMax bounds lead: no platform's cold start is longer, and the per-kind look
	// at a kind with no job due soon walks every job due within the lead (31 ms for 50 000).
	prewarmLeadMax = 10 * time.Minute
)

// PrewarmKindsDefault returns the kinds woken when tick.prewarm.kinds is not set: every kind.
func PrewarmKindsDefault() []string { return []string{string(domain.KindHTTP), string(domain.KindSQL)} }

// PrewarmConfig says whether, how early and for which kinds the tick wakes executors ahead of
// their fires. Zero fields take their defaults.
type PrewarmConfig struct {
	Enabled bool          `koanf:"enabled" usage:"wake an executor kind ahead of its fires, so one scaled to zero is up in time"`
	Lead    time.Duration `koanf:"lead" usage:"how long before a kind's fire its executors are woken: their cold-start budget"`
	Keep    time.Duration `koanf:"keep" usage:"a kind with a fire published or a wake sent this recently is warm and not woken"`
	Kinds   []string      `koanf:"kinds" usage:"the job kinds woken (http, sql)"`
}

func (c PrewarmConfig) withDefaults() PrewarmConfig {
	c.Lead = cmp.Or(c.Lead, PrewarmLeadDefault)
	c.Keep = cmp.Or(c.Keep, PrewarmKeepDefault)
	if len(c.Kinds) == 0 {
		c.Kinds = PrewarmKindsDefault()
	}
	return c
}

func (c PrewarmConfig) validate() error {
	switch {
	case c.Lead < 0:
		return errors.New("tick.prewarm.lead: must not be negative")
	case c.Lead > prewarmLeadMax:
		return fmt.Errorf("tick.prewarm.lead: must be at most %s", prewarmLeadMax)
	case c.Keep < 0:
		return errors.New("tick.prewarm.keep: must not be negative")
	case c.Keep > prewarmMax:
		return fmt.Errorf("tick.prewarm.keep: must be at most %s", prewarmMax)
	}
	known := PrewarmKindsDefault()
	for _, k := range c.Kinds {
		if !slices.Contains(known, k) {
			return fmt.Errorf("tick.prewarm.kinds: unknown kind %q (want one of %s)", k, strings.Join(known, ", "))
		}
	}
	return nil
}

// kinds returns the configured kinds, once each.
func (c PrewarmConfig) kinds() []domain.JobKind {
	var out []domain.JobKind
	for _, k := range c.Kinds {
		if !slices.Contains(out, domain.JobKind(k)) {
			out = append(out, domain.JobKind(k))
		}
	}
	return out
}

// prewarmer decides when to wake each kind. Only the engine's loop touches it.
type prewarmer struct {
	cfg PrewarmConfig
	// due is each kind's next fire as the last look saw it.
	due map[domain.JobKind]store.Candidate
	// gone holds, per kind, fires a look saw coming that are no longer the kind's next and
	// whose fate is not known yet (a claim or an edit holds the job): each look asks again.
	gone map[domain.JobKind][]store.Candidate
	// warmUntil is when each kind stops being warm: keep after its last fire or wake.
	warmUntil map[domain.JobKind]time.Time
	// woken is the fire each kind was last woken for, so that it is woken once for it.
	woken map[domain.JobKind]time.Time
}

// goneMax bounds the fires of a kind waiting for their fate: each is a lookup in every look,
// and one held longer than a few looks is an edit's, which drops it, or a claim's, whose fires
// count their kind warm where they are published.
const goneMax = 4

func newPrewarmer(cfg PrewarmConfig) *prewarmer {
	if !cfg.Enabled {
		return nil
	}
	return &prewarmer{cfg: cfg, due: map[domain.JobKind]store.Candidate{}, gone: map[domain.JobKind][]store.Candidate{},
		warmUntil: map[domain.JobKind]time.Time{}, woken: map[domain.JobKind]time.Time{}}
}

// watch returns the fires whose fate the next look is to tell: each kind's next fire as last
// seen, and those gone from the answers whose fate is not known yet.
func (p *prewarmer) watch() []store.Candidate {
	var list []store.Candidate
	for _, c := range p.due {
		list = append(list, c)
	}
	for _, cs := range p.gone {
		list = append(list, cs...)
	}
	return list
}

// fireKey names a fire: a job's at an instant, whatever its version.
type fireKey struct {
	job string
	at  int64
}

func keyOf(c store.Candidate) fireKey { return fireKey{c.JobID, c.At.UnixNano()} }

// saw records what a look answered: each kind's next fire, and the fates of the fires in
// watched. A fire that is no longer its kind's next warms its kind from its instant only when
// a claim took it — by this replica or another, so that every replica knows a kind warm from
// the fires of the others and none wakes it. One edited, paused, deleted, or skipped by its
// claim warms nothing: the kind's next fire is woken for as if it had never been seen. One a
// claim or an edit holds is asked about again at the next look.
func (p *prewarmer) saw(t store.NextDueTimes, watched []store.Candidate) {
	fates := make(map[fireKey]store.Fate, len(watched))
	for i, c := range watched {
		if i < len(t.Fates) {
			fates[keyOf(c)] = t.Fates[i]
		}
	}
	for k, c := range p.due {
		if n, ok := t.Kinds[k]; !ok || keyOf(n) != keyOf(c) {
			p.gone[k] = append(p.gone[k], c)
		}
	}
	for k, cs := range p.gone {
		var left []store.Candidate
		for _, c := range cs {
			if n, ok := t.Kinds[k]; ok && keyOf(n) == keyOf(c) {
				continue // its kind's next again: a claim of it rolled back
			}
			switch fates[keyOf(c)] {
			case store.FateClaimed:
				p.warm(k, c.At)
			case store.FateDropped:
			default:
				if !slices.ContainsFunc(left, func(l store.Candidate) bool { return keyOf(l) == keyOf(c) }) {
					left = append(left, c)
				}
			}
		}
		if len(left) > goneMax {
			left = left[len(left)-goneMax:]
		}
		if len(left) == 0 {
			delete(p.gone, k)
		} else {
			p.gone[k] = left
		}
	}
	clear(p.due)
	for k, c := range t.Kinds {
		p.due[k] = c
	}
}

// forget drops what the looks saw: the replica owns none of the jobs now, or could not look.
// A kind it knows nothing of is not woken by it.
func (p *prewarmer) forget() {
	if p == nil {
		return
	}
	clear(p.due)
	clear(p.gone)
}

// claimed marks the kinds of fires this replica just claimed warm from their instants: they are
// published lookahead later at most, so none needs a wake, even before a look tells it.
func (p *prewarmer) claimed(fires []domain.Fire) {
	if p == nil {
		return
	}
	for i := range fires {
		p.warm(fires[i].Kind, fires[i].ScheduledAt)
	}
}

// warm makes kind warm for keep from at, unless it stays warm longer already.
func (p *prewarmer) warm(k domain.JobKind, at time.Time) {
	if until := at.Add(p.cfg.Keep); until.After(p.warmUntil[k]) {
		p.warmUntil[k] = until
	}
}

// published marks the kinds of fires sent at now as warm: the outbox's fires too, which no
// query of next fires sees.
func (p *prewarmer) published(fires []pendingFire, now time.Time) {
	if p == nil {
		return
	}
	for i := range fires {
		p.warm(fires[i].Kind, now)
	}
}

// wake is a wake to publish: kind's executors, ahead of its fire due at at.
type wake struct {
	kind domain.JobKind
	at   time.Time
}

// next returns the wakes due at now, marking their kinds warm, and when the next one will be
// due (zero when none will, until a query or a fire says otherwise). A kind is woken lead
// before its fire, or when it stops being warm if that is later: a kind that fired or was
// woken within keep needs no wake, however near its fires are. A fire already due gets no
// wake: its own publication, under way, is as early as a wake would be.
func (p *prewarmer) next(now time.Time) (wakes []wake, later time.Time) {
	for k, c := range p.due {
		at := c.At
		if !at.After(now) || p.woken[k].Equal(at) {
			continue
		}
		when := at.Add(-p.cfg.Lead)
		if w := p.warmUntil[k]; w.After(when) {
			when = w
		}
		if when.After(now) {
			if later.IsZero() || when.Before(later) {
				later = when
			}
			continue
		}
		wakes = append(wakes, wake{kind: k, at: at})
		p.warm(k, now)
		p.woken[k] = at
	}
	return wakes, later
}

// nextDue is the store's NextDue, asked with each kind's next fire and the fates of the fires
// seen coming when the engine pre-warms: one statement either way, after each claim.
func (e *Engine) nextDue(ctx context.Context, now time.Time, shards []int32) (next time.Time, ok, held bool, err error) {
	if e.prewarm == nil {
		return e.store.NextDue(ctx, shards)
	}
	watched := e.prewarm.watch()
	t, err := e.store.NextDueByKind(ctx, shards, e.cfg.Prewarm.kinds(), now.Add(e.cfg.MaxSleep), e.cfg.Prewarm.Lead, watched)
	if err != nil {
		e.prewarm.forget()
		return time.Time{}, false, false, err
	}
	e.prewarm.saw(t, watched)
	return t.Next, t.OK, t.Held, nil
}

// wakeQueue bounds the wakes waiting for the broker: one per kind is all a pass can make.
const wakeQueue = 8

// wakeLoop publishes wakes apart from the fires, so a broker slow to answer a wake never
// delays a fire's publication, and counts those the broker stores (not a replica's duplicate).
func (e *Engine) wakeLoop(ctx context.Context, wakes <-chan wake) {
	source := event.Source("tick", e.cfg.Instance)
	for w := range wakes {
		ev := event.NewWake(w.kind, w.at, source)
		msg, err := event.ToNATS(ctx, ev)
		if err != nil {
			e.log.Error("encode wake", "kind", w.kind, "error", err)
			continue
		}
		msgs := []queue.Message{{Subject: e.names.DueSubject(w.kind), MsgID: ev.ID(), Msg: msg}}
		var errs []error
		dup := false
		if dp, ok := e.pub.(dupPublisher); ok {
			var dups []bool
			errs, dups = dp.PublishBatchDup(ctx, msgs)
			dup = len(dups) > 0 && dups[0]
		} else {
			errs = e.pub.PublishBatch(ctx, msgs)
		}
		if len(errs) > 0 && errs[0] != nil {
			// A lost wake costs a cold start, not a fire: the fire itself follows.
			e.log.Warn("publish wake", "kind", w.kind, "due_at", w.at, "error", errs[0])
			continue
		}
		if !dup {
			e.metrics.wakes.Inc(string(w.kind))
		}
	}
}

// sendWakes hands wakes to the wake loop without waiting: a wake that finds the queue full is
// dropped, as one the broker refused would be.
func (e *Engine) sendWakes(wakes []wake, out chan<- wake) {
	for _, w := range wakes {
		select {
		case out <- w:
		default:
			e.log.Warn("wake dropped: wakes are waiting for the broker", "kind", w.kind)
		}
	}
}
