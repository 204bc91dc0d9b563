package api

import (
	"regexp"
	"testing"

	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
)

// TestTagPatternIsValidTag: the pattern the document gives for a tag accepts exactly what the
// API accepts.
func TestTagPatternIsValidTag(t *testing.T) {
	t.Parallel()
	pattern := regexp.MustCompile(tagPattern)
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.OneOf(rapid.StringMatching(`[a-zA-Z0-9_.:/ <-]{0,70}`), rapid.String()).Draw(t, "tag")
		if pattern.MatchString(s) != domain.ValidTag(s) {
			t.Fatalf("%q: the pattern says %t, ValidTag %t", s, pattern.MatchString(s), domain.ValidTag(s))
		}
	})
}
