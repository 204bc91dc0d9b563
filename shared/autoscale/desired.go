package autoscale

import (
	"math"
	"time"
)

// State is what the rules remember between two calls of Desired: what KEDA keeps in a
// ScaledObject's status and what the HPA controller keeps in memory. The zero State is a
// ScaledObject just created. Desired never modifies the State it is given, so a caller that
// could not apply a count keeps its old State and asks again.
type State struct {
	// LastActive is when the trigger was last seen active (KEDA status.lastActiveTime); zero
	// when it never was.
	LastActive time.Time

	// proposals are the HPA's recent unstabilized proposals, oldest first, kept while a
	// stabilization window can still see them.
	proposals []sample
	// changes are the HPA's own recent changes of the count (signed), oldest first, kept for
	// one ScaleUpPeriod. KEDA's moves to and from zero are not among them, as on a cluster.
	changes []sample
}

// sample is a replica count, or a change of it, at a time.
type sample struct {
	at time.Time
	n  int
}

// Desired returns the replica count the rules want now, given the lag of the consumer and the
// current count, and the State to pass to the next call once that count is applied. A negative
// lag counts as 0. The result is always within [MinReplicas, MaxReplicas]. Rules that Validate
// rejects give a count with no meaning, never a panic.
func (r Rules) Desired(lag int64, current int, s State, now time.Time) (int, State) {
	lag = max(lag, 0)
	current = max(current, 0)
	active := lag > r.ActivationLagThreshold
	if active {
		s.LastActive = now
	}

	// KEDA's part, first: it owns the moves to and from zero, and below the minimum.
	switch {
	case current == 0 && active:
		return max(1, r.MinReplicas), s
	case current == 0:
		// The HPA does nothing at zero ("scaling is disabled since the replica count of the
		// target is zero"); KEDA raises the count to a positive minimum.
		return r.MinReplicas, s
	case !active && r.MinReplicas == 0:
		// KEDA scales to zero when the cooldown has passed (strictly), or at once when the
		// trigger was never active; while it cools down the HPA goes on.
		if s.LastActive.IsZero() || s.LastActive.Add(r.CooldownPeriod).Before(now) {
			return 0, s
		}
	case !active && current < r.MinReplicas:
		return r.MinReplicas, s
	}
	return r.hpa(lag, current, s, now)
}

// hpa is the HorizontalPodAutoscaler's decision at current ≥ 1 (reconcileAutoscaler with
// behaviors, in the order the controller applies them).
func (r Rules) hpa(lag int64, current int, s State, now time.Time) (int, State) {
	lowest := max(1, r.MinReplicas)
	maxReplicas := max(1, r.MaxReplicas)
	switch {
	case current > maxReplicas:
		return maxReplicas, s
	case current < lowest:
		return lowest, s
	}

	proposal := r.propose(lag, current)

	// Stabilize: between the lowest proposal of the scale-up window and the highest of the
	// scale-down window, both including this one; the current count when it lies between.
	upFrom, downFrom := now.Add(-r.ScaleUpStabilization), now.Add(-r.ScaleDownStabilization)
	up, down := proposal, proposal
	for _, p := range s.proposals {
		if p.at.After(upFrom) {
			up = min(up, p.n)
		}
		if p.at.After(downFrom) {
			down = max(down, p.n)
		}
	}
	desired := min(max(current, up), down)
	s.proposals = keepAfter(s.proposals, now.Add(-max(r.ScaleUpStabilization, r.ScaleDownStabilization)), sample{now, proposal})

	// Limit the rate: a scale-up to what the policies allow in the period, a scale-down only to
	// the minimum (the default scale-down policy removes all replicas in one period).
	switch {
	case desired > current:
		desired = min(desired, maxReplicas, max(current, r.scaleUpLimit(current, s.changes, now)))
	case desired < current:
		desired = max(desired, lowest)
	}
	periodFrom := now.Add(-r.ScaleUpPeriod)
	if desired != current {
		s.changes = keepAfter(s.changes, periodFrom, sample{now, desired - current})
	} else {
		s.changes = keepAfter(s.changes, periodFrom)
	}
	return desired, s
}

// propose is the HPA's raw proposal for an External metric with an AverageValue target
// (GetExternalPerPodMetricReplicas): the current count while the usage ratio is within the
// tolerance, else ceil(lag / LagThreshold). It is capped at MaxReplicas, which changes no
// decision (current ≤ MaxReplicas here, and every count is capped there afterwards) and keeps
// it an int wherever int is 32 bits.
func (r Rules) propose(lag int64, current int) int {
	threshold := max(r.LagThreshold, 1)
	ratio := float64(lag) / (float64(threshold) * float64(current))
	if 1-r.Tolerance <= ratio && ratio <= 1+r.Tolerance {
		return current
	}
	n := lag / threshold
	if lag%threshold != 0 {
		n++
	}
	return int(min(n, int64(max(1, r.MaxReplicas))))
}

// scaleUpLimit is the highest count the scale-up policies allow now
// (calculateScaleUpLimitWithScalingRules, selectPolicy Max): from the count at the start of the
// period, add ScaleUpPods, or ScaleUpPercent of it rounded up, whichever is more.
func (r Rules) scaleUpLimit(current int, changes []sample, now time.Time) int {
	from := now.Add(-r.ScaleUpPeriod)
	start := current
	for _, c := range changes {
		if c.at.After(from) {
			start -= c.n
		}
	}
	// Counted in float64 and capped as the HPA's int32 counts are, so that no setting overflows.
	limit := math.Inf(-1)
	if r.ScaleUpPods > 0 {
		limit = max(limit, float64(start)+float64(r.ScaleUpPods))
	}
	if r.ScaleUpPercent > 0 {
		limit = max(limit, math.Ceil(float64(start)*(1+float64(r.ScaleUpPercent)/100)))
	}
	return int(min(max(limit, math.MinInt32), math.MaxInt32))
}

// keepAfter returns a new slice of the samples of a taken after from, then add: the State
// passed to Desired keeps its own slices untouched.
func keepAfter(a []sample, from time.Time, add ...sample) []sample {
	kept := make([]sample, 0, len(a)+len(add))
	for _, p := range a {
		if p.at.After(from) {
			kept = append(kept, p)
		}
	}
	return append(kept, add...)
}
