package sqljob

import (
	"strings"
	"testing"
	"unicode"
)

func TestLeadingWord(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]string{
		"commit":                             "COMMIT",
		"  /* a */ -- b\n ( select 1)":       "SELECT",
		"# mysql comment\nSTART TRANSACTION": "START",
		"/* never closed":                    "",
		"":                                   "",
		"BEGIN;":                             "BEGIN",
	} {
		if got := leadingWord(q); got != want {
			t.Errorf("leadingWord(%q) = %q, want %q", q, got, want)
		}
	}
}

// FuzzLeadingWord: any statement text gives an upper-case word (or nothing), and the guards
// built on it never panic.
func FuzzLeadingWord(f *testing.F) {
	for _, s := range []string{"COMMIT", "/* x */ begin", "-- c\nset autocommit=1", "((with", "#\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		w := leadingWord(q)
		if w != strings.ToUpper(w) || strings.IndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && r != '_' }) >= 0 {
			t.Fatalf("leadingWord(%q) = %q", q, w)
		}
		for _, d := range []string{"postgres", "mysql", "oracle"} {
			_ = controlsTransaction(d, q)
		}
		_ = mysqlReadOnly(q)
	})
}
