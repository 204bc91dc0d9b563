package harness

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/bench/report"
)

func TestBacklogGrowth(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(29 * time.Second) // 30 instants: the backlog is compared 10 s in and at the end
	const perInstant = 10
	// arrivals delivers every fire of the window late by lateness(i), i the instant's index; a
	// negative lateness leaves the fire out.
	arrivals := func(lateness func(i int) time.Duration) []arrival {
		var out []arrival
		for i := range 30 {
			at := from.Add(time.Duration(i) * time.Second)
			for j := range perInstant {
				if l := lateness(i); l >= 0 {
					out = append(out, arrival{key: fmt.Sprint(j, "@", i), scheduledAt: at, receivedAt: at.Add(l)})
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		lateness func(i int) time.Duration
		want     int
	}{
		{"KeepingUp", func(int) time.Duration { return 200 * time.Millisecond }, 0},
		{"SteadilyLateByMoreThanASecond", func(int) time.Duration { return 1500 * time.Millisecond }, 0},
		// Late by i×100 ms: the fires of the instants whose lateness exceeds the distance to the
		// measuring instant are outstanding, more of them at the end.
		{"FallingBehind", func(i int) time.Duration { return time.Duration(i) * 100 * time.Millisecond }, 2 * perInstant},
		{"NeverArrivingAfterTheFirstTen", func(i int) time.Duration {
			if i >= 10 {
				return -1
			}
			return 0
		}, 20 * perInstant},
		{"DuplicatesCountOnce", func(int) time.Duration { return 0 }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := arrivals(tc.lateness)
			if tc.name == "DuplicatesCountOnce" {
				a = append(a, a...)
			}
			require.Equal(t, tc.want, backlogGrowth(a, from, to, perInstant))
		})
	}
}

func TestCumulativeInterpolatesBetweenSamples(t *testing.T) {
	t.Parallel()
	u := []report.Point{{T: 1, V: 2}, {T: 2, V: 4}, {T: 4, V: 5}}
	for _, tc := range []struct {
		name string
		at   float64
		want float64
	}{
		{"BeforeTheStart", -1, 0},
		{"FromTheBaseline", 0.5, 1},
		{"OnASample", 2, 4},
		{"BetweenSamples", 3, 4.5},
		{"AfterTheLast", 9, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.InDelta(t, tc.want, cumulative(u, tc.at), 1e-9)
		})
	}
	require.Zero(t, cumulative(nil, 3))
}
