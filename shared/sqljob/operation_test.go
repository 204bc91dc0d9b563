package sqljob

import (
	"regexp"
	"strings"
	"testing"
)

func TestOperation(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]string{
		"select 1": "SELECT",
		"  /* password=hunter2 */ -- x\n update t":        "UPDATE",
		"# mysql\n(WITH a AS (SELECT 1) SELECT * FROM a)": "WITH",
		"-- never ends":      "OTHER",
		"/* never closed":    "OTHER",
		"":                   "OTHER",
		"123":                "OTHER",
		"élan":               "OTHER",
		"abcdefghijklmnopq":  "OTHER", // 17 letters
		"abcdefghijklmnop x": "ABCDEFGHIJKLMNOP",
		"call_proc()":        "OTHER",
		"$1":                 "OTHER",
	} {
		if got := operation(q); got != want {
			t.Errorf("operation(%q) = %q, want %q", q, got, want)
		}
	}
}

var operationWord = regexp.MustCompile(`^[A-Z]{1,16}$`)

// FuzzOperation: a statement's span name is OTHER or a word of 1 to 16 letters A to Z, and a
// comment before the statement never shows in it, whatever the comment holds.
func FuzzOperation(f *testing.F) {
	for _, s := range []string{"SELECT 1", "/* secret */ update", "-- c\nset x=1", "((with", "#\n", "ſelect", "K"} {
		f.Add(s, "hunter2")
	}
	f.Fuzz(func(t *testing.T, q, comment string) {
		op := operation(q)
		if op != operationOther && !operationWord.MatchString(op) {
			t.Fatalf("operation(%q) = %q", q, op)
		}
		if strings.Contains(comment, "*/") {
			return
		}
		if got := operation("/*" + comment + "*/ delete from t"); got != "DELETE" {
			t.Fatalf("operation after comment %q = %q, want DELETE", comment, got)
		}
		if strings.Contains(comment, "\n") {
			return
		}
		if got := operation("--" + comment + "\n insert into t"); got != "INSERT" {
			t.Fatalf("operation after line comment %q = %q, want INSERT", comment, got)
		}
	})
}
