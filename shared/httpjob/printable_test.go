package httpjob

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"
)

func TestPrintable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "Empty", in: "", want: ""},
		{name: "ASCII", in: "hello", want: "hello"},
		{name: "Unicode", in: "xin chào 👋", want: "xin chào 👋"},
		{name: "NULs", in: "\x00a\x00", want: "a"},
		{name: "OnlyNULs", in: "\x00\x00", want: ""},
		{name: "CutTwoByteRune", in: "é"[:1], want: ""},
		{name: "CutThreeByteRune", in: "ab" + "€"[:2], want: "ab"},
		{name: "CutFourByteRune", in: "ab" + "😀"[:3], want: "ab"},
		{name: "InvalidFarFromEnd", in: "a\xffbcde", want: "a\uFFFDbcde"},
		{name: "InvalidRunIsOneReplacement", in: "a\xff\xfe\xfdbcde", want: "a\uFFFDbcde"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, printable([]byte(tt.in)))
		})
	}
}

// TestPrintableInvalidBytesNearTheEnd checks that only a rune the limit cut is dropped: an
// invalid byte among the last ones is replaced and the valid bytes after it stay.
func TestPrintableInvalidBytesNearTheEnd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "InvalidThenOneByte", in: "a\xffb", want: "a\uFFFDb"},
		{name: "InvalidThenTwoBytes", in: "a\xffbc", want: "a\uFFFDbc"},
		{name: "InvalidThenNewline", in: "ok\xff\n", want: "ok\uFFFD\n"},
		{name: "LoneInvalidLastByte", in: "abc\xff", want: "abc\uFFFD"},
		{name: "InvalidBetweenNULs", in: "\x00\xff\x00", want: "\uFFFD"},
		{name: "StrayContinuationByte", in: "abc\x80", want: "abc\uFFFD"},
		// With an invalid byte earlier, the cut rune is not dropped but replaced.
		{name: "InvalidEarlierAndCutRune", in: "\xffabc" + "€"[:2], want: "\uFFFDabc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, printable([]byte(tt.in)))
		})
	}
}

// TestPrintableProperties checks, for arbitrary bytes, that the result is storable text, and for
// valid text, that it is kept as is, and that cutting it anywhere gives a prefix of the whole
// short by less than one rune.
func TestPrintableProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")
		got := printable(b)
		if !utf8.ValidString(got) {
			t.Fatalf("printable(%q) = %q is not valid UTF-8", b, got)
		}
		if strings.Contains(got, "\x00") {
			t.Fatalf("printable(%q) = %q contains NUL", b, got)
		}

		s := strings.ReplaceAll(rapid.String().Draw(t, "text"), "\x00", "")
		if got := printable([]byte(s)); got != s {
			t.Fatalf("printable(%q) = %q, want it unchanged", s, got)
		}
		withNUL := rapid.String().Draw(t, "textWithNUL")
		if got, want := printable([]byte(withNUL)), strings.ReplaceAll(withNUL, "\x00", ""); got != want {
			t.Fatalf("printable(%q) = %q, want %q", withNUL, got, want)
		}

		// A cut (as the excerpt limit makes) renders as a prefix of the whole.
		cut := rapid.IntRange(0, len(s)).Draw(t, "cut")
		part := printable([]byte(s[:cut]))
		if !strings.HasPrefix(s, part) {
			t.Fatalf("printable(%q) = %q is not a prefix of %q", s[:cut], part, s)
		}
		if cut-len(part) >= utf8.UTFMax {
			t.Fatalf("printable(%q) = %q dropped %d bytes, want less than one rune", s[:cut], part, cut-len(part))
		}
	})
}
