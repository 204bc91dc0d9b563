// Package gcdefault sets the garbage collector's default for vecron's long-running processes.
//
// Go collects when the heap has grown by GOGC percent (100) since the last collection. A
// scheduler's heap is small and its allocations short-lived — an event decoded, an execution
// recorded, a request sent — so at 100 it collects often for little: at 1 000 fires a second
// the collector took about a fifth of `vecron dev`'s CPU. At 200 the bench's CPU per fire across
// every process fell by a tenth and the resident set grew from 130 to 167 MB
// (docs/bench-lateness.md). An operator's GOGC, or a GOMEMLIMIT, still decides.
package gcdefault

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC vecron's processes run with when the environment sets none.
const Percent = 200

// Apply sets Percent unless GOGC is set, and reports the percentage in force.
func Apply() int {
	if v, ok := os.LookupEnv("GOGC"); ok && v != "" {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(Percent)
	return Percent
}
