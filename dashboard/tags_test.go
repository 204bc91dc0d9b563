package dashboard

import (
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
)

// storedTagsGen draws a job's tags as the API stores them: valid, each once, sorted; nil for
// none.
func storedTagsGen() *rapid.Generator[[]string] {
	return rapid.Custom(func(t *rapid.T) []string {
		return domain.NormalizeTags(rapid.SliceOfN(rapid.StringMatching(`[a-z0-9][a-z0-9_.:/-]{0,12}`), 0, 5).Draw(t, "tags"))
	})
}

func TestReadTags(t *testing.T) {
	t.Parallel()
	require.Nil(t, readTags(""))
	require.Nil(t, readTags(" , ,\n"))
	require.Equal(t, []string{"env/prod", "team:payments"}, readTags("team:payments, env/prod,team:payments"))
	require.Equal(t, []string{"a", "b"}, readTags("b a"), "sorted here as the API sorts them")
	require.Equal(t, []string{"B", "a"}, readTags("B\u00a0a"), "a list the API refuses keeps its order, for tags[i]")
}

// FuzzBuilderTags: whatever is typed in the tags input reads without a panic into tags that
// hold no separator; shown again and read back, they are the same; and once every one is a tag,
// they are each once and sorted, as stored.
func FuzzBuilderTags(f *testing.F) {
	for _, seed := range []string{"", "team:payments env/prod", "a,,b , a", "Payments", "<script>", "thuế\u00a0x", "\u2028a\tb\r\nc", strings.Repeat("x,", 30)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		tags := readTags(typed)
		for _, tag := range tags {
			require.NotEmpty(t, tag)
			require.False(t, strings.ContainsFunc(tag, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }), "%q", tag)
		}
		shown := formOf(&domain.JobDefinition{Tags: tags}).Tags
		require.Equal(t, tags, readTags(shown))
		if !slices.ContainsFunc(tags, func(s string) bool { return !domain.ValidTag(s) }) {
			require.True(t, slices.IsSorted(tags))
			require.Len(t, slices.Compact(slices.Clone(tags)), len(tags))
		}
	})
}

// TestTagFilterValues: the tag filter goes to the API, and into the pager's links, one tag a
// parameter.
func TestTagFilterValues(t *testing.T) {
	t.Parallel()
	f := jobFilter{Kind: "http", Tags: splitTags("env/prod, team:payments")}
	require.Equal(t, "kind=http&tag=env%2Fprod&tag=team%3Apayments", f.values().Encode())
	require.Equal(t, "env/prod team:payments", f.TagText())
	require.Empty(t, jobFilter{}.values())
}
