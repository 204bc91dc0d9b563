package audit

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseAnchor feeds arbitrary text to the anchor parser: it never panics, every error says
// what an anchor is, and whatever it accepts is written back exactly as it was read, so one
// anchor has one spelling.
func FuzzParseAnchor(f *testing.F) {
	f.Add("vecron-audit:0:")
	f.Add(Anchor{Seq: 1, MAC: bytes.Repeat([]byte{0xfb}, 32)}.String())
	f.Add(Anchor{Seq: 9223372036854775807, MAC: bytes.Repeat([]byte{0}, 32)}.String())
	f.Add("vecron-audit:0:\r")
	f.Add("vecron-audit:01:AAAA")
	f.Add("vecron-audit:1:" + strings.Repeat("A", 43) + "=")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAnchor(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "audit anchor: ") {
				t.Fatalf("error without the anchor named: %v", err)
			}
			return
		}
		if a.String() != s {
			t.Fatalf("%q reads as %q", s, a.String())
		}
		if a.Seq < 0 || (a.Seq == 0) != (len(a.MAC) == 0) || (a.Seq > 0 && len(a.MAC) != 32) {
			t.Fatalf("accepted an impossible anchor %+v", a)
		}
	})
}
