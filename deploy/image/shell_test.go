package image_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// shellWords splits s into words as a POSIX shell does for the forms the Dockerfiles and the
// Makefile use: single quotes keep everything, double quotes all but \" and \\, a backslash
// outside quotes escapes the next byte, and the operators &&, ; and > are words of their own.
// Variables are not expanded.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
			w.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			flush()
		case c == '\'':
			inWord = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inWord = true
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				w.WriteByte(s[i])
			}
		case c == '\\' && i+1 < len(s):
			inWord = true
			i++
			w.WriteByte(s[i])
		case c == ';' || c == '>':
			flush()
			words = append(words, string(c))
		case c == '&' && i+1 < len(s) && s[i+1] == '&':
			flush()
			words = append(words, "&&")
			i++
		default:
			inWord = true
			w.WriteByte(c)
		}
	}
	flush()
	return words
}

// sameSet reports whether a and b hold the same strings, each as often, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestShellWords(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		`-trimpath -ldflags='-s -w'`:                   {"-trimpath", "-ldflags=-s -w"},
		`a && b; c > d`:                                {"a", "&&", "b", ";", "c", ">", "d"},
		`k="it's \"x\"" j=${V}`:                        {`k=it's "x"`, "j=${V}"},
		`printf 'x:y\n' >/out/p`:                       {"printf", `x:y\n`, ">", "/out/p"},
		`a\ b`:                                         {"a b"},
		`CGO_ENABLED=0 go build -tags oracle ./x`:      {"CGO_ENABLED=0", "go", "build", "-tags", "oracle", "./x"},
		`org.opencontainers.image.title="vecron-tick"`: {"org.opencontainers.image.title=vecron-tick"},
	} {
		require.Equal(t, want, shellWords(in), in)
	}
}
