package domain

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of a job's tags (docs/job-tags.md).
const (
	MaxTags   = 20
	MaxTagLen = 63
)

// TagProblem says why tag is not a tag, or returns "" when it is one: 1 to MaxTagLen lowercase
// letters a-z, digits and - _ . : /, starting with a letter or digit. Uppercase is refused, not
// lowered: a tag is matched exactly, and a filter typed as "Payments" that silently found
// "payments" would make the one written in a file and the one stored differ.
func TagProblem(tag string) string {
	// The length first: what follows may quote the tag, and a reason stays short.
	switch {
	case tag == "":
		return "is empty; a tag is 1 to 63 lowercase letters, digits and - _ . : /"
	case utf8.RuneCountInString(tag) > MaxTagLen:
		return fmt.Sprintf("is longer than %d characters", MaxTagLen)
	}
	for i, c := range tag {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			return "must be lowercase: write " + strconv.Quote(strings.ToLower(tag))
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/':
			if i == 0 {
				return "must start with a letter or a digit"
			}
		default:
			return fmt.Sprintf("holds %s; a tag is lowercase letters a-z, digits and - _ . : /", strconv.QuoteRune(c))
		}
	}
	return ""
}

// ValidTag reports whether tag is a tag (TagProblem).
func ValidTag(tag string) bool { return TagProblem(tag) == "" }

// NormalizeTags returns tags as they are stored: each trimmed of surrounding white space, then,
// when every one is a valid tag, without duplicates and sorted. A list holding an invalid tag
// keeps its order, so that the error of tags[i] names the item the user wrote at i. It returns
// nil for an empty list and never changes tags.
func NormalizeTags(tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	out := make([]string, len(tags))
	valid := true
	for i, t := range tags {
		out[i] = strings.TrimSpace(t)
		valid = valid && ValidTag(out[i])
	}
	if !valid {
		return out
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckTags adds to v the problems of tags, a job's tags as NormalizeTags left them: each
// invalid one under "tags[i]", or only "tags" when there are more than MaxTags (a list of
// thousands is not answered with thousands of errors).
func CheckTags(v *ValidationError, tags []string) {
	if len(tags) > MaxTags {
		v.Add("tags", fmt.Sprintf("lists %d tags; a job has at most %d", len(tags), MaxTags))
		return
	}
	for i, t := range tags {
		if p := TagProblem(t); p != "" {
			v.Add("tags["+strconv.Itoa(i)+"]", p)
		}
	}
}
