package gcdefault

import (
	"runtime/debug"
	"testing"
)

func TestApplyKeepsAnOperatorsGOGCAndOtherwiseSetsTheDefault(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	t.Setenv("GOGC", "")
	if got := Apply(); got != Percent || debug.SetGCPercent(Percent) != Percent {
		t.Fatalf("without GOGC: got %d, want %d", got, Percent)
	}
	t.Setenv("GOGC", "50")
	debug.SetGCPercent(50) // what the runtime read from GOGC at start
	if got := Apply(); got != 50 || debug.SetGCPercent(50) != 50 {
		t.Fatalf("with GOGC=50: got %d, want 50", got)
	}
}
