package secret

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// RawKey is one key of a key list: its id and its bytes.
type RawKey struct {
	ID  string
	Raw []byte
}

// ParseKeyList reads keys written as "id:base64key", separated by commas, spaces or newlines,
// newest first, each size bytes long. setting names the configuration key in errors, which name
// the position or id and never the key material. Every keyed secret of vecron (the secret
// variables' keys, the API's token signing keys, the audit chain's keys) is written this way.
func ParseKeyList(setting, spec string, size int) ([]RawKey, error) {
	var keys []RawKey
	seen := map[string]bool{}
	fields := strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	for i, f := range fields {
		id, enc, ok := strings.Cut(f, ":")
		if !ok || !keyID.MatchString(id) {
			return nil, fmt.Errorf("%s: key %d is not written as id:base64key (id: letters, digits, . _ -)", setting, i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			raw, err = base64.RawURLEncoding.DecodeString(enc)
		}
		if err != nil || len(raw) != size {
			return nil, fmt.Errorf("%s: key %q is not %d bytes of base64", setting, id, size)
		}
		if seen[id] {
			return nil, fmt.Errorf("%s: key id %q appears twice", setting, id)
		}
		seen[id] = true
		keys = append(keys, RawKey{ID: id, Raw: raw})
	}
	return keys, nil
}

// ReadKeyList joins inline keys with those of file (when set) and parses them as ParseKeyList
// does; setting is the inline key's name, and a file error names setting + "_file".
func ReadKeyList(setting, inline, file string, size int) ([]RawKey, error) {
	spec := inline
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s_file: %w", setting, err)
		}
		spec = strings.Join([]string{spec, string(b)}, "\n")
	}
	return ParseKeyList(setting, spec, size)
}

// DeriveKeys returns, for each key of raw, a key of size bytes derived from it with HKDF-SHA256
// for purpose, under the same id. A derived key tells nothing of the key it came from nor of
// the keys derived for other purposes, so one configured key list can serve a second use
// without the two ever sharing a key; rotating the list rotates the derived keys with it.
func DeriveKeys(raw []RawKey, purpose string, size int) ([]RawKey, error) {
	out := make([]RawKey, 0, len(raw))
	for _, k := range raw {
		d, err := hkdf.Key(sha256.New, k.Raw, nil, "vecron "+purpose, size)
		if err != nil {
			return nil, fmt.Errorf("derive key %q for %s: %w", k.ID, purpose, err)
		}
		out = append(out, RawKey{ID: k.ID, Raw: d})
	}
	return out, nil
}
