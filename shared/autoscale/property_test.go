package autoscale

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// genRules draws valid rules, small enough that a run of a few dozen polls crosses their
// windows, periods and cooldowns.
func genRules(t *rapid.T) Rules {
	dur := func(name string, lo, hi int) time.Duration {
		return time.Duration(rapid.IntRange(lo, hi).Draw(t, name)) * time.Second
	}
	maxReplicas := rapid.IntRange(1, 60).Draw(t, "max")
	r := Rules{
		PollingInterval:        dur("polling", 1, 60),
		CooldownPeriod:         dur("cooldown", 0, 600),
		MinReplicas:            rapid.OneOf(rapid.Just(0), rapid.IntRange(0, maxReplicas)).Draw(t, "min"),
		MaxReplicas:            maxReplicas,
		LagThreshold:           rapid.Int64Range(1, 1000).Draw(t, "lagThreshold"),
		ActivationLagThreshold: rapid.OneOf(rapid.Just(int64(0)), rapid.Int64Range(0, 2000)).Draw(t, "activation"),
		Tolerance:              rapid.Float64Range(0, 0.5).Draw(t, "tolerance"),
		ScaleUpStabilization:   dur("upWindow", 0, 300),
		ScaleDownStabilization: dur("downWindow", 0, 600),
		ScaleUpPods:            rapid.IntRange(0, 10).Draw(t, "pods"),
		ScaleUpPercent:         rapid.IntRange(0, 300).Draw(t, "percent"),
		ScaleUpPeriod:          dur("period", 1, 120),
	}
	if r.ScaleUpPods == 0 && r.ScaleUpPercent == 0 {
		r.ScaleUpPods = 1
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("generated rules: %v", err)
	}
	return r
}

// genLag draws a lag around the thresholds and around the load of the current replicas (where
// the tolerance decides), now and then an extreme one.
func genLag(t *rapid.T, r Rules, current int, name string) int64 {
	load := r.LagThreshold * int64(max(current, 1))
	return rapid.OneOf(
		rapid.Just(int64(0)),
		rapid.Int64Range(0, r.ActivationLagThreshold+1),
		rapid.Int64Range(max(0, load-2*r.LagThreshold-load/2), load+2*r.LagThreshold+load/2),
		rapid.Int64Range(0, 2*r.LagThreshold*int64(r.MaxReplicas)),
		rapid.Int64Range(-10, math.MaxInt64),
	).Draw(t, name)
}

// TestDesiredProperties replays random lags against random rules from zero replicas, applying
// each count as a scaler does, and checks every decision against the rules' promises.
func TestDesiredProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		r := genRules(t)
		now := t0
		current, s := 0, State{}
		var lastActive time.Time // kept here, independently of State
		type rise struct {
			at time.Time
			to int
		}
		var rises []rise
		for i := range rapid.IntRange(1, 60).Draw(t, "polls") {
			now = now.Add(time.Duration(rapid.Int64Range(0, int64(400*time.Second)).Draw(t, "wait")))
			lag := genLag(t, r, current, "lag")
			active := lag > r.ActivationLagThreshold
			if active {
				lastActive = now
			}
			got, next := r.Desired(lag, current, s, now)

			if got < r.MinReplicas || got > r.MaxReplicas {
				t.Fatalf("poll %d: %d replicas outside [%d, %d]", i, got, r.MinReplicas, r.MaxReplicas)
			}
			if active && got == 0 {
				t.Fatalf("poll %d: zero replicas while lag %d is above activation %d", i, lag, r.ActivationLagThreshold)
			}
			// From zero only activation starts replicas (with no minimum to keep).
			if current == 0 && r.MinReplicas == 0 && (got > 0) != active {
				t.Fatalf("poll %d: from zero to %d at lag %d, activation %d", i, got, lag, r.ActivationLagThreshold)
			}
			// To zero only after a whole cooldown with no activity.
			if current > 0 && got == 0 && (active || !now.After(lastActive.Add(r.CooldownPeriod))) {
				t.Fatalf("poll %d: to zero %s after the last activity, cooldown %s", i, now.Sub(lastActive), r.CooldownPeriod)
			}
			// No flapping: within the scale-down window of a rise to n, the HPA takes nothing
			// below n (only KEDA's cooldown takes it to zero).
			if got < current && got > 0 {
				for _, u := range rises {
					if now.Sub(u.at) < r.ScaleDownStabilization && got < u.to {
						t.Fatalf("poll %d: down to %d, %s after a rise to %d, window %s", i, got, now.Sub(u.at), u.to, r.ScaleDownStabilization)
					}
				}
			}
			// Monotone in lag, from the same count and state at the same time.
			room := math.MaxInt64 - max(lag, 0)
			more := max(lag, 0) + rapid.OneOf(
				rapid.Int64Range(0, min(2*r.LagThreshold, room)),
				rapid.Int64Range(0, room),
			).Draw(t, "more")
			for _, more := range []int64{max(lag, 0) + min(1, room), more} {
				if n, _ := r.Desired(more, current, s, now); n < got {
					t.Fatalf("poll %d: lag %d wants %d replicas, the larger lag %d only %d", i, lag, got, more, n)
				}
			}
			if got > current {
				rises = append(rises, rise{now, got})
			}
			current, s = got, next
		}
	})
}

// TestDesiredSettles checks that a steady lag above activation brings the count, poll after
// poll, to the HPA's answer for it: ceil(lag / LagThreshold) within the bounds, or a count
// whose load is within the tolerance.
func TestDesiredSettles(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		r := genRules(t)
		lag := rapid.Int64Range(r.ActivationLagThreshold+1, r.ActivationLagThreshold+1+3*r.LagThreshold*int64(r.MaxReplicas)).Draw(t, "lag")
		// Polls far enough apart that every window and period has passed between two.
		gap := max(r.ScaleUpStabilization, r.ScaleDownStabilization, r.ScaleUpPeriod) + time.Second
		now := t0
		current, s := rapid.IntRange(0, r.MaxReplicas).Draw(t, "start"), State{}
		// From 1, the slowest policy adds one replica a period (+1 %, rounded up).
		for range r.MaxReplicas + 2 {
			now = now.Add(gap)
			current, s = r.Desired(lag, current, s, now)
		}
		lowest := max(1, r.MinReplicas)
		target := int(min(max((lag+r.LagThreshold-1)/r.LagThreshold, int64(lowest)), int64(r.MaxReplicas)))
		ratio := float64(lag) / (float64(r.LagThreshold) * float64(current))
		if current != target && (ratio < 1-r.Tolerance || ratio > 1+r.Tolerance) {
			t.Fatalf("settled at %d replicas (load ratio %.3f), want %d", current, ratio, target)
		}
		// Settled means settled: one more poll changes nothing.
		if n, _ := r.Desired(lag, current, s, now.Add(gap)); n != current {
			t.Fatalf("settled at %d, then %d", current, n)
		}
	})
}
