package lograte

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A limiter lets the first line through, then one per interval standing for those held back.
func TestLimiterLetsOneLineAnInterval(t *testing.T) {
	t.Parallel()
	var l Limiter
	at := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	n, ok := l.Allow(at, time.Minute)
	require.True(t, ok)
	require.Equal(t, 1, n)
	for i := range 5 {
		_, ok := l.Allow(at.Add(time.Duration(i)*time.Second), time.Minute)
		require.False(t, ok, "within the minute")
	}
	n, ok = l.Allow(at.Add(time.Minute), time.Minute)
	require.True(t, ok)
	require.Equal(t, 6, n, "the five held back and itself")
}
