package autoscale

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// step is one poll: at t0+at the lag is lag and the count wanted is want, which the next step
// finds applied.
type step struct {
	at   time.Duration
	lag  int64
	want int
}

// with returns the default rules changed by f.
func with(f func(r *Rules)) Rules {
	r := DefaultRules()
	if f != nil {
		f(&r)
	}
	return r
}

// replay runs steps from current replicas and state s, as a scaler applying each count would.
func replay(t *testing.T, r Rules, current int, s State, steps []step) {
	t.Helper()
	require.NoError(t, r.Validate())
	for i, st := range steps {
		got, next := r.Desired(st.lag, current, s, t0.Add(st.at))
		require.Equal(t, st.want, got, "step %d (t=%s, lag %d, from %d)", i, st.at, st.lag, current)
		current, s = got, next
	}
}

func TestDesiredKEDA(t *testing.T) {
	t.Parallel()
	sec := time.Second
	tests := []struct {
		name    string
		rules   Rules
		current int
		state   State
		steps   []step
	}{{
		// keda.sh, "Activating and Scaling thresholds": "activationThreshold: 0 will only
		// activate when the metric value is 1 or more".
		name:  "DefaultActivationIsOneMessage",
		rules: DefaultRules(),
		steps: []step{{0, 0, 0}, {30 * sec, 1, 1}},
	}, {
		// "Activation only occurs when this value is greater than the set value; not greater
		// than or equal to."
		name:  "ActivationIsStrict",
		rules: with(func(r *Rules) { r.ActivationLagThreshold = 5 }),
		steps: []step{{0, 5, 0}, {30 * sec, 6, 1}},
	}, {
		// From zero KEDA goes to one replica whatever the lag; the HPA takes it from there.
		name:  "FromZeroToOneThenHPA",
		rules: DefaultRules(),
		steps: []step{{0, 1000, 1}, {30 * sec, 1000, 5}},
	}, {
		// "threshold: 10 and activationThreshold: 50, in case of 40 messages the scaler is not
		// active and it'll be scaled to zero even the HPA requires 4 instances."
		name:    "ActivationOverridesTheHPA",
		rules:   with(func(r *Rules) { r.ActivationLagThreshold = 50 }),
		current: 4,
		state:   State{LastActive: t0.Add(-301 * sec)},
		steps:   []step{{0, 40, 0}},
	}, {
		// Until the cooldown has passed the HPA keeps the count: 40 / (10 × 4) is exactly 1.
		name:    "CoolingDownTheHPAKeepsTheCount",
		rules:   with(func(r *Rules) { r.ActivationLagThreshold = 50 }),
		current: 4,
		state:   State{LastActive: t0.Add(-299 * sec)},
		steps:   []step{{0, 40, 4}},
	}, {
		// scaleToZero: LastActiveTime + cooldownPeriod must be Before now.
		name:    "CooldownIsStrict",
		rules:   DefaultRules(),
		current: 1,
		state:   State{LastActive: t0},
		steps:   []step{{300 * sec, 0, 1}, {300*sec + time.Millisecond, 0, 0}},
	}, {
		// "when you first create your Deployment ... KEDA will immediately scale it to
		// minReplicaCount": with no last active time the cooldown does not apply.
		name:    "NeverActiveGoesToZeroAtOnce",
		rules:   DefaultRules(),
		current: 3,
		steps:   []step{{0, 0, 0}},
	}, {
		// Activity puts the cooldown off: each active poll restarts it.
		name:  "ActivityRestartsTheCooldown",
		rules: with(func(r *Rules) { r.CooldownPeriod = 60 * sec }),
		steps: []step{{0, 3, 1}, {50 * sec, 3, 1}, {100 * sec, 0, 1}, {111 * sec, 0, 0}},
	}, {
		// Below a positive minimum KEDA raises the count, active or not, and the minimum is
		// where it scales from zero to.
		name:  "PositiveMinimumFromZero",
		rules: with(func(r *Rules) { r.MinReplicas = 2 }),
		steps: []step{{0, 0, 2}},
	}, {
		name:  "PositiveMinimumActiveFromZero",
		rules: with(func(r *Rules) { r.MinReplicas = 3 }),
		steps: []step{{0, 1, 3}},
	}, {
		// With minReplicaCount ≥ 1 nothing goes to zero (keda.sh: "If the minimum replicas is
		// >= 1, the scaler is always active").
		name:    "PositiveMinimumNeverZero",
		rules:   with(func(r *Rules) { r.MinReplicas = 2 }),
		current: 3,
		state:   State{LastActive: t0.Add(-time.Hour)},
		steps:   []step{{0, 0, 2}, {time.Hour, 0, 2}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			replay(t, tt.rules, tt.current, tt.state, tt.steps)
		})
	}
}

func TestDesiredHPA(t *testing.T) {
	t.Parallel()
	sec := time.Second
	// Every case but the scale-to-zero one keeps the trigger active.
	active := State{LastActive: t0}
	tests := []struct {
		name    string
		rules   Rules
		current int
		state   State
		steps   []step
	}{{
		// kubernetes.io "Algorithm details": a metric at twice its target doubles the count.
		name:    "TwiceTheTargetDoubles",
		rules:   DefaultRules(),
		current: 3,
		state:   active,
		steps:   []step{{0, 60, 6}},
	}, {
		// ... and at half of it halves the count (no proposal in the window yet).
		name:    "HalfTheTargetHalves",
		rules:   DefaultRules(),
		current: 4,
		state:   active,
		steps:   []step{{0, 20, 2}},
	}, {
		// Within the 0.1 tolerance, bounds included, nothing changes; outside it the count is
		// ceil(lag / lagThreshold).
		name:    "ToleranceAbove",
		rules:   DefaultRules(),
		current: 10,
		state:   active,
		steps:   []step{{0, 109, 10}, {sec, 110, 10}, {2 * sec, 111, 12}},
	}, {
		name:    "ToleranceBelow",
		rules:   with(func(r *Rules) { r.ScaleDownStabilization = 0 }),
		current: 10,
		state:   active,
		steps:   []step{{0, 91, 10}, {sec, 90, 10}, {2 * sec, 89, 9}},
	}, {
		// Default scale-up policies: per 15 s, the larger of +4 replicas and +100 % of the
		// count at the start of the period; the period is stated in time, so polls within it
		// add nothing.
		name:    "ScaleUpRate",
		rules:   DefaultRules(),
		current: 1,
		state:   active,
		steps: []step{
			{0, 10_000, 5}, {5 * sec, 10_000, 5}, {10 * sec, 10_000, 5}, {15 * sec, 10_000, 10},
			{30 * sec, 10_000, 20}, {45 * sec, 10_000, 40}, {60 * sec, 10_000, 80},
			{75 * sec, 10_000, 100},
		},
	}, {
		// Only the Pods policy: +2 per 10 s.
		name:    "ScaleUpPodsOnly",
		rules:   with(func(r *Rules) { r.ScaleUpPercent, r.ScaleUpPods, r.ScaleUpPeriod = 0, 2, 10*sec }),
		current: 1,
		state:   active,
		steps:   []step{{0, 1000, 3}, {10 * sec, 1000, 5}, {15 * sec, 1000, 5}, {20 * sec, 1000, 7}},
	}, {
		// The limit counts from the count the period started at, before a scale-down in it:
		// 10 → 2 → 20, not 2 → 6.
		name:    "ScaleUpCountsFromThePeriodStart",
		rules:   with(func(r *Rules) { r.ScaleDownStabilization = 0 }),
		current: 10,
		state:   active,
		steps:   []step{{0, 20, 2}, {5 * sec, 1000, 20}},
	}, {
		// The scale-down window holds the highest proposal of the last 300 s.
		name:    "ScaleDownStabilization",
		rules:   DefaultRules(),
		current: 10,
		state:   active,
		steps: []step{
			{0, 100, 10}, {60 * sec, 10, 10}, {299 * sec, 10, 10}, {300 * sec, 10, 1},
		},
	}, {
		// A scale-up window holds the lowest proposal of its window.
		name:    "ScaleUpStabilization",
		rules:   with(func(r *Rules) { r.ScaleUpStabilization = 60 * sec }),
		current: 2,
		state:   active,
		steps:   []step{{0, 20, 2}, {30 * sec, 100, 2}, {61 * sec, 100, 6}},
	}, {
		// A lag that comes and goes keeps the count while the windows last.
		name:    "NoFlapping",
		rules:   DefaultRules(),
		current: 5,
		state:   active,
		steps: []step{
			{0, 50, 5}, {15 * sec, 5, 5}, {30 * sec, 50, 5}, {45 * sec, 5, 5}, {60 * sec, 50, 5},
		},
	}, {
		name:    "AboveMaxComesDown",
		rules:   with(func(r *Rules) { r.MaxReplicas = 5 }),
		current: 8,
		state:   active,
		steps:   []step{{0, 1000, 5}},
	}, {
		name:    "NeverAboveMax",
		rules:   with(func(r *Rules) { r.MaxReplicas = 3 }),
		current: 2,
		state:   active,
		steps:   []step{{0, 1 << 62, 3}},
	}, {
		// A burst from zero and back with the chart's polling interval: up at the HPA's rate,
		// held by the scale-down window while the trigger cools down, then straight to zero
		// (KEDA's move to zero does not wait for the HPA's window).
		name:  "BurstFromZeroAndBack",
		rules: with(func(r *Rules) { r.PollingInterval = 5 * sec }),
		steps: []step{
			{0, 0, 0}, {5 * sec, 1000, 1}, {20 * sec, 1000, 5}, {35 * sec, 1000, 10},
			{50 * sec, 0, 10}, {330 * sec, 0, 10}, {340 * sec, 0, 0}, {345 * sec, 0, 0},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			replay(t, tt.rules, tt.current, tt.state, tt.steps)
		})
	}
}

func TestDesiredLeavesItsStateAlone(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	_, s := r.Desired(100, 5, State{LastActive: t0}, t0)
	_, s = r.Desired(100, 10, s, t0.Add(time.Second))
	before := State{LastActive: s.LastActive, proposals: append([]sample(nil), s.proposals...),
		changes: append([]sample(nil), s.changes...)}
	// A count that could not be applied: ask again with the old state, twice.
	n1, s1 := r.Desired(20, 10, s, t0.Add(10*time.Second))
	n2, s2 := r.Desired(20, 10, s, t0.Add(10*time.Second))
	require.Equal(t, before, s)
	require.Equal(t, n1, n2)
	require.Equal(t, s1, s2)
}

func TestDesiredNegativeLagIsZero(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	n, s := r.Desired(-5, 0, State{}, t0)
	require.Zero(t, n)
	require.True(t, s.LastActive.IsZero())
}
