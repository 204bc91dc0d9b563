package dashboard

import (
	"strings"
	"unicode"

	"github.com/vecron/vecron/shared/domain"
)

// splitTags returns the tags typed in s, separated by commas or white space; nil for none.
// Whether each is a tag is the API's to say.
func splitTags(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// readTags returns the tags of the builder's input s as the API stores them (domain.NormalizeTags):
// the JSON the builder shows is then the job as it will be, and a list the API refuses keeps
// the order typed, so that its tags[i] is the i-th tag of the input.
func readTags(s string) []string {
	return domain.NormalizeTags(splitTags(s))
}

// TagText is the tag filter as its input shows it.
func (f jobFilter) TagText() string { return strings.Join(f.Tags, " ") }
