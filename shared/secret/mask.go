package secret

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"slices"
	"sort"
	"strings"
)

// Masked replaces a secret wherever it would be shown.
const Masked = "******"

// MinLength is the shortest secret accepted: masking a shorter one would blank out ordinary text.
const MinLength = 4

// Masker hides secret values in text that leaves the executor: response excerpts, errors, logs.
// It also hides the forms a target, a library or a database function is likely to turn it into:
// URL-encoded, JSON-escaped, base64 (as in a Basic authorization header), hex, upper and lower
// case, and reversed. It cannot hide an arbitrary function of a secret (a substring, a hash, a
// character at a time): permission to use a secret in a job is permission to read it.
type Masker struct{ forms []string }

// NewMasker returns a masker for values; values shorter than MinLength are ignored.
func NewMasker(values []string) *Masker {
	seen := map[string]bool{}
	m := &Masker{}
	for _, v := range values {
		if len(v) < MinLength {
			continue
		}
		js, _ := json.Marshal(v)
		hx := hex.EncodeToString([]byte(v))
		for _, f := range []string{v, url.QueryEscape(v), url.PathEscape(v), string(js[1 : len(js)-1]),
			base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
			base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
			hx, strings.ToUpper(hx), strings.ToUpper(v), strings.ToLower(v), reverse(v)} {
			if len(f) >= MinLength && !seen[f] {
				seen[f] = true
				m.forms = append(m.forms, f)
			}
		}
	}
	// Longest first, so a value that contains another is masked whole.
	sort.Slice(m.forms, func(i, k int) bool { return len(m.forms[i]) > len(m.forms[k]) })
	return m
}

// reverse returns v's characters in reverse order, as SQL's reverse() does.
func reverse(v string) string {
	r := []rune(v)
	slices.Reverse(r)
	return string(r)
}

// Mask returns s with every form of every secret replaced by Masked.
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	for _, f := range m.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, Masked)
		}
	}
	// Text cut at a length limit may end in the first part of a secret.
	for _, f := range m.forms {
		for k := len(f) - 1; k >= MinLength; k-- {
			if strings.HasSuffix(s, f[:k]) {
				return s[:len(s)-k] + Masked
			}
		}
	}
	return s
}
