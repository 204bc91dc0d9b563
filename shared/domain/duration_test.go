package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

// A Duration reads back what it wrote, and a string that spells it with JSON escapes reads as
// the same duration; anything that is not a duration string is refused.
func TestDurationJSONRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := Duration(rapid.Int64Range(0, int64(1000*time.Hour)).Draw(t, "d"))
		b, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var got Duration
		if err := json.Unmarshal(b, &got); err != nil || got != d {
			t.Fatalf("%s: got %v, %v", b, time.Duration(got), err)
		}
		// The same string with its first character escaped.
		s := time.Duration(d).String()
		escaped := []byte(`"\u00` + strings.ToLower(hexByte(s[0])) + s[1:] + `"`)
		got = 0
		if err := json.Unmarshal(escaped, &got); err != nil || got != d {
			t.Fatalf("%s: got %v, %v", escaped, time.Duration(got), err)
		}
	})
	for _, bad := range []string{`5`, `"5"`, `"five minutes"`, `null`, `"1s\"`} {
		var d Duration
		if err := json.Unmarshal([]byte(bad), &d); err == nil && bad != "null" {
			t.Errorf("%s: accepted as %v", bad, time.Duration(d))
		}
	}
}

func hexByte(c byte) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[c>>4], digits[c&15]})
}
