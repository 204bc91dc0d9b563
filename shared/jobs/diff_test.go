package jobs

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
)

// value draws a JSON value of at most depth levels of objects, with few keys so that two draws
// share some.
func value(depth int) *rapid.Generator[any] {
	leaf := rapid.OneOf(
		rapid.Map(rapid.IntRange(-3, 3), func(n int) any { return n }),
		rapid.Map(rapid.SampledFrom([]string{"", "a", "b", "{{ var.X }}"}), func(s string) any { return s }),
		rapid.Map(rapid.Bool(), func(b bool) any { return b }),
		rapid.Just[any](nil),
		rapid.Map(rapid.SliceOfN(rapid.IntRange(0, 2), 0, 2), func(l []int) any { return l }),
	)
	if depth == 0 {
		return leaf
	}
	return rapid.OneOf(leaf, rapid.Map(object(depth-1), func(m map[string]any) any { return m }))
}

func object(depth int) *rapid.Generator[map[string]any] {
	return rapid.MapOfN(rapid.SampledFrom([]string{"name", "http", "url", "x.y", "schedule"}), value(depth), 0, 4)
}

// TestDiffTurnsBeforeIntoAfter: whatever the two values, the diff lists each differing leaf once,
// in order, with the value before as it was; setting its after values on the leaves of before
// gives the leaves of after; and a value has no diff with itself.
func TestDiffTurnsBeforeIntoAfter(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := object(2).Draw(t, "before"), object(2).Draw(t, "after")
		d, err := Diff(a, b)
		require.NoError(t, err)
		fa, err := flatten(a)
		require.NoError(t, err)
		fb, err := flatten(b)
		require.NoError(t, err)
		got := map[string]json.RawMessage{}
		for k, v := range fa {
			got[k] = v
		}
		for i, c := range d {
			if i > 0 {
				require.Less(t, d[i-1].Field, c.Field, "sorted, each field once")
			}
			require.True(t, bytes.Equal(fa[c.Field], c.Before), "before of %s", c.Field)
			require.False(t, bytes.Equal(c.Before, c.After), "%s does change", c.Field)
			if c.After == nil {
				delete(got, c.Field)
			} else {
				got[c.Field] = c.After
			}
		}
		require.Equal(t, fb, got)
		same, err := Diff(a, a)
		require.NoError(t, err)
		require.Empty(t, same)
	})
}

func TestDiffOfJobDefinitions(t *testing.T) {
	t.Parallel()
	cur := &domain.Job{Name: "n", Namespace: "ns", Kind: domain.KindHTTP, HTTP: &domain.HTTPSpec{Method: "GET", URL: "https://a.test",
		Headers: map[string]string{"Authorization": "Bearer sk_live_1"}}, Schedule: domain.Schedule{Cron: "@hourly"}}
	next := *cur
	next.HTTP = &domain.HTTPSpec{Method: "POST", URL: "https://a.test", Headers: map[string]string{"Authorization": "{{ var.TOKEN }}"}}
	d, err := Diff(domain.DefinitionOf(cur), domain.DefinitionOf(&next))
	require.NoError(t, err)
	require.Equal(t, []domain.FieldChange{
		{Field: "http.headers.Authorization", Before: json.RawMessage(`"******"`), After: json.RawMessage(`"{{ var.TOKEN }}"`)},
		{Field: "http.method", Before: json.RawMessage(`"GET"`), After: json.RawMessage(`"POST"`)},
	}, d, "a credential in clear never reaches a diff")
	d, err = Diff(nil, domain.DefinitionOf(cur))
	require.NoError(t, err)
	require.NotEmpty(t, d)
	for _, c := range d {
		require.Nil(t, c.Before, "a create has no before")
	}
}
