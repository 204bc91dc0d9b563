package domain_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
)

// TestEventKeyNamesOneEvent: two different (source, id) pairs never share a key, however
// many "/" and "%" they hold — (a/b, c) and (a, b/c) were one key once — and the same pair
// always makes the same key.
func TestEventKeyNamesOneEvent(t *testing.T) {
	t.Parallel()
	require.NotEqual(t, domain.EventKey("j", "a/b", "c"), domain.EventKey("j", "a", "b/c"))
	require.NotEqual(t, domain.EventKey("j", "a%2Fb", "c"), domain.EventKey("j", "a/b", "c"))
	require.Equal(t, "j:event:%2Fshop%25eu/o-1", domain.EventKey("j", "/shop%eu", "o-1"))
	text := rapid.StringOfN(rapid.SampledFrom([]rune{'a', '/', '%', '2', 'F', 'f', '5'}), 1, 8, -1)
	rapid.Check(t, func(t *rapid.T) {
		s1, i1, s2, i2 := text.Draw(t, "s1"), text.Draw(t, "i1"), text.Draw(t, "s2"), text.Draw(t, "i2")
		k1, k2 := domain.EventKey("j", s1, i1), domain.EventKey("j", s2, i2)
		if (s1 == s2 && i1 == i2) != (k1 == k2) {
			t.Fatalf("(%q, %q) → %q and (%q, %q) → %q", s1, i1, k1, s2, i2, k2)
		}
	})
}
