package autoscale

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Each rule that can move a count says so in its own words.
func TestReasonNamesTheRule(t *testing.T) {
	t.Parallel()
	r := DefaultRules()
	r.LagThreshold, r.ActivationLagThreshold, r.MinReplicas = 10, 2, 0
	active := State{LastActive: t0.Add(-400 * time.Second)}
	for name, tc := range map[string]struct {
		lag      int64
		from, to int
		s        State
		want     string
	}{
		"Activation":    {5, 0, 1, State{LastActive: t0}, "activated: lag 5 above the activation threshold 2"},
		"NeverActive":   {0, 3, 0, State{}, "never active"},
		"Cooldown":      {1, 2, 0, active, "inactive for the cooldown 5m0s (lag 1 at or below 2 since 6m40s ago)"},
		"ScaleUp":       {45, 1, 5, State{LastActive: t0}, "lag 45 at 10 a replica wants 5"},
		"ScaleUpLimit":  {90, 1, 5, State{LastActive: t0}, "lag 90 at 10 a replica wants 9; the scale-up limit allows 5"},
		"ScaleDown":     {15, 5, 2, State{LastActive: t0}, "lag 15 at 10 a replica wants 2"},
		"ScaleDownHeld": {15, 5, 4, State{LastActive: t0}, "lag 15 at 10 a replica wants 2; the scale-down window holds 4"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, r.reason(tc.lag, tc.from, tc.to, tc.s, t0))
		})
	}
	withMin := r
	withMin.MinReplicas = 2
	require.Equal(t, "the minimum is 2", withMin.reason(0, 0, 2, State{}, t0))
}
