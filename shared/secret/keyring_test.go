package secret

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func ring(t testing.TB, ids ...string) *Keyring {
	t.Helper()
	var specs []string
	for _, id := range ids {
		k, err := NewKey(id)
		require.NoError(t, err)
		specs = append(specs, k)
	}
	k, err := ParseKeys(strings.Join(specs, ","))
	require.NoError(t, err)
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	t.Parallel()
	k := ring(t, "k1")
	rapid.Check(t, func(t *rapid.T) {
		plain := rapid.SliceOfN(rapid.Byte(), 0, 4096).Draw(t, "plaintext")
		ad := rapid.SliceOfN(rapid.Byte(), 0, 64).Draw(t, "ad")
		id, sealed, err := k.Seal(plain, ad)
		require.NoError(t, err)
		require.Equal(t, "k1", id)
		if len(plain) >= 8 {
			require.False(t, bytes.Contains(sealed, plain), "the plaintext shows in the ciphertext")
		}
		got, err := k.Open(id, sealed, ad)
		require.NoError(t, err)
		require.Equal(t, len(plain), len(got))
		require.True(t, bytes.Equal(plain, got))
	})
}

func TestTamperingIsDetected(t *testing.T) {
	t.Parallel()
	k := ring(t, "k1")
	rapid.Check(t, func(t *rapid.T) {
		plain := rapid.SliceOfN(rapid.Byte(), 1, 256).Draw(t, "plaintext")
		ad := []byte("global/DB_PASSWORD")
		id, sealed, err := k.Seal(plain, ad)
		require.NoError(t, err)
		bad := bytes.Clone(sealed)
		switch rapid.IntRange(0, 2).Draw(t, "how") {
		case 0: // flip a bit anywhere
			i := rapid.IntRange(0, len(bad)-1).Draw(t, "byte")
			bad[i] ^= 1 << rapid.IntRange(0, 7).Draw(t, "bit")
		case 1: // truncate
			bad = bad[:rapid.IntRange(0, len(bad)-1).Draw(t, "length")]
		case 2: // moved to another row
			ad = []byte("global/OTHER")
		}
		_, err = k.Open(id, bad, ad)
		require.ErrorIs(t, err, ErrTampered)
	})
}

func TestRotationOldKeysStillOpen(t *testing.T) {
	t.Parallel()
	oldSpec, err := NewKey("2025")
	require.NoError(t, err)
	old, err := ParseKeys(oldSpec)
	require.NoError(t, err)
	id, sealed, err := old.Seal([]byte("s3cret"), []byte("ad"))
	require.NoError(t, err)

	newSpec, err := NewKey("2026")
	require.NoError(t, err)
	// The new key first; the old one stays to open what it sealed.
	rotated, err := ParseKeys(newSpec + "," + oldSpec)
	require.NoError(t, err)
	require.Equal(t, "2026", rotated.Current())
	got, err := rotated.Open(id, sealed, []byte("ad"))
	require.NoError(t, err)
	require.Equal(t, "s3cret", string(got))
	newID, _, err := rotated.Seal([]byte("x"), nil)
	require.NoError(t, err)
	require.Equal(t, "2026", newID)

	_, err = ring(t, "other").Open(id, sealed, []byte("ad"))
	require.ErrorIs(t, err, ErrUnknownKey)
}

func TestParseKeysErrorsNeverShowKeyMaterial(t *testing.T) {
	t.Parallel()
	for spec, want := range map[string]string{
		"nocolon":     "key 1 is not written as id:base64key",
		"k1:c2hvcnQ=": `key "k1" is not 32 bytes of base64`,
		"bad id:AAAA": "key 1 is not written",
		"k1:" + strings.Repeat("A", 43) + "=" + ",k1:" + strings.Repeat("A", 43) + "=": `key id "k1" appears twice`,
	} {
		_, err := ParseKeys(spec)
		require.ErrorContains(t, err, want, spec)
		require.NotContains(t, err.Error(), "c2hvcnQ")
	}
	k, err := ParseKeys("")
	require.NoError(t, err)
	require.True(t, k.Empty())
	_, _, err = k.Seal([]byte("x"), nil)
	require.ErrorIs(t, err, ErrNoKey)
}

// TestDeriveKeys: derived keys keep their ids, are fixed for a key and purpose, and differ from
// the key they come from and between purposes; a keyring of them seals and opens.
func TestDeriveKeys(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		raw := RawKey{ID: "k1", Raw: rapid.SliceOfN(rapid.Byte(), KeySize, KeySize).Draw(t, "key")}
		a, err := DeriveKeys([]RawKey{raw}, "purpose a", KeySize)
		require.NoError(t, err)
		again, err := DeriveKeys([]RawKey{raw}, "purpose a", KeySize)
		require.NoError(t, err)
		b, err := DeriveKeys([]RawKey{raw}, "purpose b", KeySize)
		require.NoError(t, err)
		require.Equal(t, a, again)
		require.Equal(t, "k1", a[0].ID)
		require.Len(t, a[0].Raw, KeySize)
		require.NotEqual(t, raw.Raw, a[0].Raw)
		require.NotEqual(t, a[0].Raw, b[0].Raw)

		ka, err := NewKeyring(a)
		require.NoError(t, err)
		kb, err := NewKeyring(b)
		require.NoError(t, err)
		id, sealed, err := ka.Seal([]byte("state"), nil)
		require.NoError(t, err)
		plain, err := ka.Open(id, sealed, nil)
		require.NoError(t, err)
		require.Equal(t, []byte("state"), plain)
		_, err = kb.Open(id, sealed, nil)
		require.ErrorIs(t, err, ErrTampered, "another purpose's key does not open it")
	})
}

func TestNewKeyringRefusesOtherSizes(t *testing.T) {
	t.Parallel()
	_, err := NewKeyring([]RawKey{{ID: "short", Raw: make([]byte, 16)}})
	require.ErrorContains(t, err, `"short"`)
	k, err := NewKeyring(nil)
	require.NoError(t, err)
	require.True(t, k.Empty())
}
