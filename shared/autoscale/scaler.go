package autoscale

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/shared/domain"
)

// LagReader reads the lag of a kind's durable consumer (queue.Inspector.Lag).
type LagReader interface {
	Lag(ctx context.Context, kind domain.JobKind) (int64, error)
}

// Replicas runs one kind's executors: what a Deployment's scale subresource is to KEDA.
type Replicas interface {
	// Scale makes n replicas run, starting or stopping some. It is called every poll with the
	// count wanted, also when unchanged, so that a replica that exited on its own is replaced as
	// a Deployment would replace it.
	Scale(ctx context.Context, n int) error
}

// Target is one kind the scaler scales, and its replicas.
type Target struct {
	Kind     domain.JobKind
	Replicas Replicas
}

// Event is one change of a kind's count, as the scaler applied it.
type Event struct {
	Kind     domain.JobKind
	From, To int
	// Lag is the lag the decision was made on.
	Lag int64
	// Reason says which rule moved the count, in words.
	Reason string
	At     time.Time
}

// ScalerDeps are what a Scaler works with.
type ScalerDeps struct {
	Lag     LagReader
	Targets []Target
	Clock   clockwork.Clock
	Log     *slog.Logger
	// OnScale, when set, is called with each change of a count once it is applied, on the
	// scaler's goroutine: a caller that waits on it (a test, the bench) gets a signal, not a log
	// line to parse. It must not block for long: the next poll waits for it.
	OnScale func(Event)
}

// Scaler is a local stand-in for KEDA with a nats-jetstream trigger: every PollingInterval it
// reads each kind's lag, asks Rules.Desired for a count and has the kind's Replicas run it. Every
// kind starts at zero replicas.
type Scaler struct {
	deps  ScalerDeps
	rules Rules
	kinds []*scaled
}

// scaled is what the scaler knows of one kind between polls.
type scaled struct {
	Target
	current int
	state   State
	// lagErr and scaleErr are the last failures logged, so that a failure repeated at every poll
	// is logged once, and its end once.
	lagErr, scaleErr string
}

// NewScaler returns a scaler of deps' targets by rules, or an error naming the first field of
// rules that Validate rejects, or a missing dependency.
func NewScaler(deps ScalerDeps, rules Rules) (*Scaler, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	switch {
	case deps.Lag == nil:
		return nil, errors.New("autoscale scaler: Lag is required")
	case deps.Clock == nil:
		return nil, errors.New("autoscale scaler: Clock is required")
	case deps.Log == nil:
		return nil, errors.New("autoscale scaler: Log is required")
	case len(deps.Targets) == 0:
		return nil, errors.New("autoscale scaler: Targets: at least one kind is required")
	}
	s := &Scaler{deps: deps, rules: rules}
	seen := map[domain.JobKind]bool{}
	for _, t := range deps.Targets {
		if t.Replicas == nil || seen[t.Kind] {
			return nil, fmt.Errorf("autoscale scaler: Targets: kind %q is listed twice or has no Replicas", t.Kind)
		}
		seen[t.Kind] = true
		s.kinds = append(s.kinds, &scaled{Target: t})
	}
	return s, nil
}

// Run polls at once and then every PollingInterval until ctx ends, and returns nil. It leaves
// the replicas as they are: stopping them is their owner's part (Processes.Close).
func (s *Scaler) Run(ctx context.Context) error {
	for {
		for _, k := range s.kinds {
			if ctx.Err() != nil {
				return nil
			}
			s.poll(ctx, k)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.deps.Clock.After(s.rules.PollingInterval):
		}
	}
}

// poll reads k's lag, decides and applies. A lag that cannot be read keeps the count (KEDA keeps
// the replicas when its scaler errs and no fallback is set); a count that cannot be applied
// keeps the old State, so the next poll decides again from what runs.
func (s *Scaler) poll(ctx context.Context, k *scaled) {
	log := s.deps.Log.With("kind", string(k.Kind))
	lag, err := s.deps.Lag.Lag(ctx, k.Kind)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if err.Error() != k.lagErr {
			log.Warn("cannot read the lag; keeping the count", "replicas", k.current, "error", err)
			k.lagErr = err.Error()
		}
		s.apply(ctx, log, k, k.current)
		return
	}
	if k.lagErr != "" {
		log.Info("the lag is readable again", "lag", lag)
		k.lagErr = ""
	}
	now := s.deps.Clock.Now()
	want, state := s.rules.Desired(lag, k.current, k.state, now)
	if !s.apply(ctx, log, k, want) {
		return
	}
	from := k.current
	k.current, k.state = want, state
	if want == from {
		return
	}
	ev := Event{Kind: k.Kind, From: from, To: want, Lag: lag, Reason: s.rules.reason(lag, from, want, k.state, now), At: now}
	log.Info("scaled", "from", from, "to", want, "lag", lag, "why", ev.Reason)
	if s.deps.OnScale != nil {
		s.deps.OnScale(ev)
	}
}

// apply has k's replicas run n and reports whether they took it.
func (s *Scaler) apply(ctx context.Context, log *slog.Logger, k *scaled, n int) bool {
	if err := k.Replicas.Scale(ctx, n); err != nil {
		if ctx.Err() == nil && err.Error() != k.scaleErr {
			log.Warn("cannot scale; trying again at the next poll", "from", k.current, "to", n, "error", err)
			k.scaleErr = err.Error()
		}
		return false
	}
	if k.scaleErr != "" {
		log.Info("scaling works again", "replicas", n)
		k.scaleErr = ""
	}
	return true
}

// reason says which rule took the count from from to to on lag; s is the State after the
// decision.
func (r Rules) reason(lag int64, from, to int, s State, now time.Time) string {
	switch {
	case from == 0 && lag > r.ActivationLagThreshold:
		return fmt.Sprintf("activated: lag %d above the activation threshold %d", lag, r.ActivationLagThreshold)
	case from == 0:
		return fmt.Sprintf("the minimum is %d", r.MinReplicas)
	case to == 0 && s.LastActive.IsZero():
		return "never active"
	case to == 0:
		return fmt.Sprintf("inactive for the cooldown %s (lag %d at or below %d since %s ago)",
			r.CooldownPeriod, lag, r.ActivationLagThreshold, now.Sub(s.LastActive).Round(time.Millisecond))
	}
	wants := r.propose(lag, from)
	switch {
	case to > from && to < wants:
		return fmt.Sprintf("lag %d at %d a replica wants %d; the scale-up limit allows %d", lag, r.LagThreshold, wants, to)
	case to > from:
		return fmt.Sprintf("lag %d at %d a replica wants %d", lag, r.LagThreshold, wants)
	case to > wants:
		return fmt.Sprintf("lag %d at %d a replica wants %d; the scale-down window holds %d", lag, r.LagThreshold, wants, to)
	}
	return fmt.Sprintf("lag %d at %d a replica wants %d", lag, r.LagThreshold, wants)
}
