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
	// Kind is the kind whose executors are scaled: the lag read is its durable consumer's.
	Kind     domain.JobKind
	Lag      LagReader
	Replicas Replicas
	Clock    clockwork.Clock
	Log      *slog.Logger
	// OnScale, when set, is called with each change of a count once it is applied, on the
	// scaler's goroutine: a caller that waits on it (a test, the bench) gets a signal, not a log
	// line to parse. It must not block for long: the next poll waits for it.
	OnScale func(Event)
}

// Scaler is a local stand-in for one KEDA ScaledObject with a nats-jetstream trigger: every
// PollingInterval it reads its kind's lag, asks Rules.Desired for a count and has the Replicas run
// it. It starts at zero replicas. Each kind has a Scaler of its own, as each Deployment has its
// own ScaledObject.
type Scaler struct {
	deps  ScalerDeps
	rules Rules
	log   *slog.Logger

	// current and state are what the last applied decision left.
	current int
	state   State
	// lagErr and scaleErr are the last failures logged, so that a failure repeated at every poll
	// is logged once, and its end once.
	lagErr, scaleErr string
}

// NewScaler returns a scaler by rules, or an error: every field of rules that Validate rejects,
// or the dependency missing.
func NewScaler(deps ScalerDeps, rules Rules) (*Scaler, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	switch {
	case deps.Kind == "":
		return nil, errors.New("autoscale scaler: Kind is required")
	case deps.Lag == nil:
		return nil, errors.New("autoscale scaler: Lag is required")
	case deps.Replicas == nil:
		return nil, errors.New("autoscale scaler: Replicas is required")
	case deps.Clock == nil:
		return nil, errors.New("autoscale scaler: Clock is required")
	case deps.Log == nil:
		return nil, errors.New("autoscale scaler: Log is required")
	}
	return &Scaler{deps: deps, rules: rules, log: deps.Log.With("kind", string(deps.Kind))}, nil
}

// Run polls at once and then every PollingInterval until ctx ends, and returns nil. It leaves
// the replicas as they are: stopping them is their owner's part (Processes.Close).
func (s *Scaler) Run(ctx context.Context) error {
	for {
		s.poll(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.deps.Clock.After(s.rules.PollingInterval):
		}
	}
}

// poll reads the lag, decides and applies. A lag that cannot be read keeps the count (KEDA keeps
// the replicas when its scaler errs and no fallback is set); a count that cannot be applied
// keeps the old State, so the next poll decides again from what runs.
func (s *Scaler) poll(ctx context.Context) {
	lag, err := s.deps.Lag.Lag(ctx, s.deps.Kind)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if err.Error() != s.lagErr {
			s.log.Warn("cannot read the lag; keeping the count", "replicas", s.current, "error", err)
			s.lagErr = err.Error()
		}
		s.apply(ctx, s.current)
		return
	}
	if s.lagErr != "" {
		s.log.Info("the lag is readable again", "lag", lag)
		s.lagErr = ""
	}
	now := s.deps.Clock.Now()
	want, state := s.rules.Desired(lag, s.current, s.state, now)
	if !s.apply(ctx, want) {
		return
	}
	from := s.current
	s.current, s.state = want, state
	if want == from {
		return
	}
	ev := Event{Kind: s.deps.Kind, From: from, To: want, Lag: lag, Reason: s.rules.reason(lag, from, want, s.state, now), At: now}
	s.log.Info("scaled", "from", from, "to", want, "lag", lag, "why", ev.Reason)
	if s.deps.OnScale != nil {
		s.deps.OnScale(ev)
	}
}

// apply has the replicas run n and reports whether they took it.
func (s *Scaler) apply(ctx context.Context, n int) bool {
	if err := s.deps.Replicas.Scale(ctx, n); err != nil {
		if ctx.Err() == nil && err.Error() != s.scaleErr {
			s.log.Warn("cannot scale; trying again at the next poll", "from", s.current, "to", n, "error", err)
			s.scaleErr = err.Error()
		}
		return false
	}
	if s.scaleErr != "" {
		s.log.Info("scaling works again", "replicas", n)
		s.scaleErr = ""
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
