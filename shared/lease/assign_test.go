package lease

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
)

// requireBalanced checks that every shard has exactly one member of members and that the counts
// are ⌊shards/n⌋ or ⌈shards/n⌉: the caps add up to shards and every member ends at its cap, so
// nothing looser is acceptable.
func requireBalanced(t require.TestingT, shards int, members, got []string) {
	require.Len(t, got, shards)
	count := make(map[string]int, len(members))
	for s, m := range got {
		require.Contains(t, members, m, "shard %d", s)
		count[m]++
	}
	lo := shards / len(members)
	hi := (shards + len(members) - 1) / len(members)
	for _, m := range members {
		require.GreaterOrEqual(t, count[m], lo, "member %q", m)
		require.LessOrEqual(t, count[m], hi, "member %q", m)
	}
}

func without(a []string, x string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(m string) bool { return m == x })
}

func TestAssignProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		shards := rapid.OneOf(rapid.Just(domain.ShardCount), rapid.IntRange(1, 300)).Draw(t, "shards")
		members := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-z0-9.-]{1,10}`), 1, 12, rapid.ID[string]).Draw(t, "members")
		slices.Sort(members)
		// Whatever replicas hold now, stale or overlapping, the result is balanced.
		holders := rapid.SliceOfN(rapid.SampledFrom(append([]string{""}, members...)), shards, shards).Draw(t, "holders")
		a := assign(shards, members, holders)
		requireBalanced(t, shards, members, a)
		// Once replicas hold what they were assigned, nobody is asked to move: no flapping.
		require.Equal(t, a, assign(shards, members, a))

		n := len(members)
		if n > 1 {
			gone := rapid.SampledFrom(members).Draw(t, "gone")
			rest := without(members, gone)
			held := slices.Clone(a)
			for s := range held {
				if held[s] == gone {
					held[s] = ""
				}
			}
			b := assign(shards, rest, held)
			requireBalanced(t, shards, rest, b)
			// A survivor gives up shards only when it holds more than the smaller of the new
			// caps, ⌊shards/(n-1)⌋, which its ⌈shards/n⌉ at most never exceeds for 128 shards
			// and up to 13 members: then only the departed member's shards move.
			excess := 0
			count := map[string]int{}
			for _, m := range held {
				count[m]++
			}
			for _, m := range rest {
				excess += max(0, count[m]-shards/(n-1))
			}
			moved := 0
			for s := range a {
				if a[s] != gone && b[s] != a[s] {
					moved++
				}
			}
			require.LessOrEqual(t, moved, excess, "shards moved between survivors")
			if shards == domain.ShardCount {
				require.Zero(t, moved, "shards moved between survivors")
			}
		}

		newcomer := rapid.StringMatching(`[a-z0-9.-]{1,10}`).
			Filter(func(s string) bool { return !slices.Contains(members, s) }).Draw(t, "newcomer")
		joined := append(slices.Clone(members), newcomer)
		slices.Sort(joined)
		c := assign(shards, joined, a)
		requireBalanced(t, shards, joined, c)
		// Old members hold ⌊shards/n⌋ or more. When the lower cap drops below that, none of
		// them has room under its new cap, so every moved shard goes to the newcomer.
		if shards/n > shards/(n+1) {
			for s := range a {
				if c[s] != a[s] {
					require.Equal(t, newcomer, c[s], "shard %d", s)
				}
			}
		}
	})
}

func TestAssignWithoutHolders(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		shards  int
		members []string
	}{
		{"One", 128, []string{"tick-0"}},
		{"Three", 128, []string{"tick-0", "tick-1", "tick-2"}},
		{"Ten", 128, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}},
		{"MoreMembersThanShards", 3, []string{"a", "b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := assign(tt.shards, tt.members, make([]string, tt.shards))
			requireBalanced(t, tt.shards, tt.members, got)
			// Every replica must compute the same answer.
			require.Equal(t, got, assign(tt.shards, tt.members, make([]string, tt.shards)))
		})
	}
}

func TestHolder(t *testing.T) {
	t.Parallel()
	tests := []struct{ value, want string }{
		{"tick-0.0123456789abcdef0123456789abcdef", "tick-0"},
		{"tick.eu.0.0123456789abcdef0123456789abcdef", "tick.eu.0"},
		{"foreign", ""},
		{"", ""},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, holder(tt.value), tt.value)
	}
}
