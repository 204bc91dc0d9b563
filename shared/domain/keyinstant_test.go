package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
)

// TestKeyInstantReadsTheInstantEveryKeyNames: execution history is partitioned by the instant a
// key names, so reading it back must give that instant, to the millisecond, for every key that
// names one — over the whole range of schedules, years 1 to 9999 — and nothing for a key that
// names none.
func TestKeyInstantReadsTheInstantEveryKeyNames(t *testing.T) {
	t.Parallel()
	lo, hi := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()
	rapid.Check(t, func(t *rapid.T) {
		jobID := uuid.UUID(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "id")).String()
		at := time.UnixMilli(rapid.Int64Range(lo, hi).Draw(t, "ms")).Add(time.Duration(rapid.IntRange(0, 999_999).Draw(t, "ns")))
		for _, key := range []string{
			domain.ScheduledKey(jobID, at),
			domain.Key(jobID, domain.TriggerBackfill, at, ""),
			domain.MisfireRangeKey(jobID, at),
		} {
			got, ok := domain.KeyInstant(key)
			if !ok || !got.Equal(at.Truncate(time.Millisecond)) || got.Location() != time.UTC {
				t.Fatalf("KeyInstant(%q) = %v, %v; want %v", key, got, ok, at.Truncate(time.Millisecond))
			}
		}
		other := domain.Key(jobID, domain.TriggerReplay, at, rapid.StringMatching(`[0-9A-Za-z-]{1,36}`).Draw(t, "replay id"))
		if _, ok := domain.KeyInstant(other); ok {
			t.Fatalf("KeyInstant(%q) read an instant from a key that names none", other)
		}
	})
}

func FuzzKeyInstant(f *testing.F) {
	f.Add("0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b:1764378000000")
	f.Add("0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b:misfire:-62135596800000")
	f.Add("0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b:replay:0193a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b")
	f.Add(":1")
	f.Add("x:99999999999999999999")
	f.Fuzz(func(t *testing.T, key string) {
		at, ok := domain.KeyInstant(key)
		if !ok {
			return
		}
		// What it reads, minted again, is the key's own suffix: it read the instant, not a guess.
		id, _, _ := strings.Cut(key, ":")
		if domain.ScheduledKey(id, at) != key && domain.MisfireRangeKey(id, at) != key {
			// A number with leading zeros or a plus sign names the same instant another way.
			require.Equal(t, at.UnixMilli(), mustInstant(t, domain.ScheduledKey(id, at)).UnixMilli())
		}
	})
}

func mustInstant(t *testing.T, key string) time.Time {
	at, ok := domain.KeyInstant(key)
	require.True(t, ok, key)
	return at
}
