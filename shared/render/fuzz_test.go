package render

import (
	"strings"
	"testing"
)

// FuzzRender: any template either renders within the bound or fails with an error naming the
// field; nothing panics or hangs.
func FuzzRender(f *testing.F) {
	for _, s := range []string{"", "x", "{{ var.HOST }}", `{{ execution.scheduled_at | date "Jan 2" }}`, "{{", "}}",
		`{{ "{{" }}`, "{{ trigger.payload.a.b }}", "{{ var.X | nope }}", "{{{{}}}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tmpl string) {
		out, err := Render("http.body", tmpl, ctx())
		if err != nil {
			if !strings.HasPrefix(err.Error(), "http.body: ") {
				t.Fatalf("error does not name the field: %v", err)
			}
			return
		}
		if len(out) > MaxOutput {
			t.Fatalf("output of %d bytes", len(out))
		}
		if Check("http.body", tmpl) != nil {
			t.Fatalf("rendered but does not check")
		}
	})
}
