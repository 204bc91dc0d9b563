package sink

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestBackoffDefaults(t *testing.T) {
	t.Parallel()
	var got []time.Duration
	for n := 1; n <= 9; n++ {
		got = append(got, Backoff(n, time.Second, time.Minute))
	}
	s := time.Second
	require.Equal(t, []time.Duration{s, 2 * s, 4 * s, 8 * s, 16 * s, 32 * s, time.Minute, time.Minute, time.Minute}, got)
	require.Equal(t, time.Minute, Backoff(1<<40, time.Second, time.Minute), "a sink down for weeks is still tried every minute")
}

// The wait starts at first, doubles with each failure in a row, and never passes the limit.
func TestBackoffProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		first := time.Duration(rapid.Int64Range(int64(time.Millisecond), int64(10*time.Second)).Draw(t, "first"))
		limit := time.Duration(rapid.Int64Range(int64(first), int64(time.Hour)).Draw(t, "limit"))
		n := rapid.IntRange(1, 10_000).Draw(t, "n")
		d, next := Backoff(n, first, limit), Backoff(n+1, first, limit)
		if n == 1 && d != first {
			t.Fatalf("first wait %s, want %s", d, first)
		}
		if d < first || d > limit {
			t.Fatalf("wait %s outside [%s, %s]", d, first, limit)
		}
		if want := min(2*d, limit); next != want {
			t.Fatalf("after %s comes %s, want %s", d, next, want)
		}
	})
}
