package domain_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
)

func TestTagProblem(t *testing.T) {
	t.Parallel()
	for _, tag := range []string{"a", "0", "team:payments", "env/prod", "v1.2_rc-3", strings.Repeat("a", 63), "9-to-5"} {
		require.Empty(t, domain.TagProblem(tag), tag)
	}
	for tag, want := range map[string]string{
		"":                      "is empty",
		strings.Repeat("a", 64): "longer than 63",
		"Payments":              `must be lowercase: write "payments"`,
		"-a":                    "must start with a letter or a digit",
		"/a":                    "must start with a letter or a digit",
		"<script>":              `holds '<'`,
		"a b":                   `holds ' '`,
		"thuế":                  `holds 'ế'`,
		"a\x00":                 `holds '\x00'`,
		"a\n":                   `holds '\n'`,
		"a,b":                   `holds ','`,
	} {
		require.Contains(t, domain.TagProblem(tag), want, "%q", tag)
	}
}

func TestCheckTagsNamesTheItem(t *testing.T) {
	t.Parallel()
	var v domain.ValidationError
	domain.CheckTags(&v, domain.NormalizeTags([]string{"ok", " Bad ", "ok", ""}))
	require.Equal(t, []domain.FieldError{
		{Field: "tags[1]", Reason: `must be lowercase: write "bad"`},
		{Field: "tags[3]", Reason: "is empty; a tag is 1 to 63 lowercase letters, digits and - _ . : /"},
	}, v.Fields, "an invalid list keeps the user's order, so the index is theirs")

	many := make([]string, 5000)
	for i := range many {
		many[i] = "<x>"
	}
	v = domain.ValidationError{}
	domain.CheckTags(&v, many)
	require.Equal(t, []string{"tags"}, fieldNames(v), "one error for a list too long, not one per item")

	v = domain.ValidationError{}
	domain.CheckTags(&v, domain.NormalizeTags(append(slices.Repeat([]string{"same"}, 30), "other")))
	require.Empty(t, v.Fields, "duplicates count once")
}

func fieldNames(v domain.ValidationError) []string {
	out := make([]string, len(v.Fields))
	for i, f := range v.Fields {
		out[i] = f.Field
	}
	return out
}

// tagGen draws what a user may write as a tag: often a tag, with white space around it or in
// another case, sometimes anything.
func tagGen() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.StringMatching(`[a-z0-9][a-z0-9_.:/-]{0,8}`),
		rapid.StringMatching(`[ \t]?[a-z][a-z0-9]{0,3}[ \t]?`),
		rapid.SampledFrom([]string{"a", "b", "prod", "team:ops"}),
		rapid.StringMatching(`[A-Za-z]{1,3}`),
		rapid.String(),
	)
}

// TestNormalizeTagsProperties: normalising is idempotent and leaves its input alone; a list of
// valid tags comes out sorted, each once, as the same set; a list with an invalid tag keeps its
// length and order, so that errors name the user's items.
func TestNormalizeTagsProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(rt *rapid.T) {
		in := rapid.SliceOfN(tagGen(), 0, 25).Draw(rt, "tags")
		before := slices.Clone(in)
		out := domain.NormalizeTags(in)
		require.Equal(rt, before, in, "the input is left alone")
		require.Equal(rt, out, domain.NormalizeTags(out), "idempotent")
		if len(in) == 0 {
			require.Nil(rt, out)
			return
		}
		trimmed := make([]string, len(in))
		valid := true
		for i, s := range in {
			trimmed[i] = strings.TrimSpace(s)
			valid = valid && domain.ValidTag(trimmed[i])
		}
		if !valid {
			require.Equal(rt, trimmed, out)
			return
		}
		require.True(rt, slices.IsSorted(out))
		require.Equal(rt, len(out), len(slices.Compact(slices.Clone(out))), "each once")
		for _, s := range trimmed {
			require.Contains(rt, out, s)
		}
		for _, s := range out {
			require.Contains(rt, trimmed, s)
			require.True(rt, domain.ValidTag(s))
		}
	})
}
