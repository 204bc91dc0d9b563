package harness

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The scenario reads execute-http's state from dev's log: at zero before any decision and after
// a decision to 0 once every process started has stopped; not while one still drains, nor
// while the other kind's decisions say 0.
func TestAtZeroReadsDevsLog(t *testing.T) {
	t.Parallel()
	const (
		up      = "time=2026-12-06T16:35:18.990Z level=INFO msg=scaled function=autoscale kind=http from=0 to=1 lag=1 why=\"activated\"\n"
		started = "time=2026-12-06T16:35:18.990Z level=INFO msg=\"replica started\" function=autoscale replicas=execute-http replica=1 pid=8205\n"
		down    = "time=2026-12-06T16:35:22.000Z level=INFO msg=scaled function=autoscale kind=http from=1 to=0 lag=0 why=\"cooled down\"\n"
		stopped = "time=2026-12-06T16:35:22.100Z level=INFO msg=\"replica stopped\" function=autoscale replicas=execute-http replica=1 exit=0\n"
		sqlDown = "time=2026-12-06T16:35:23.000Z level=INFO msg=scaled function=autoscale kind=sql from=1 to=0 lag=0 why=\"cooled down\"\n"
	)
	for name, tc := range map[string]struct {
		log  string
		want bool
	}{
		"NoDecisionYet":     {"", true},
		"Up":                {up + started, false},
		"DownStillDrains":   {up + started + down, false},
		"DownAndStopped":    {up + started + down + stopped, true},
		"OtherKindAtZero":   {up + started + sqlDown, false},
		"DecidedNotStarted": {up, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := atZero(tc.log)
			require.Equal(t, tc.want, got)
		})
	}
}
