package auth

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestOpaqueTokenLayout(t *testing.T) {
	t.Parallel()
	require.Equal(t, base64.RawURLEncoding.EncodedLen(opaqueRandomBytes), opaqueBodyLen)
	require.Equal(t, 6, opaqueChecksumLen)

	for _, prefix := range []string{APITokenPrefix, RefreshTokenPrefix} {
		t.Run(strings.TrimSuffix(prefix, "_"), func(t *testing.T) {
			t.Parallel()
			token, hash, err := NewOpaqueToken(prefix)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(token, prefix))
			require.Len(t, token, len(prefix)+43+6)
			require.Equal(t, HashOpaqueToken(token), hash)
			require.Len(t, hash, 32)

			got, ok := ParseOpaqueToken(prefix, token)
			require.True(t, ok)
			require.Equal(t, hash, got)

			other, _, err := NewOpaqueToken(prefix)
			require.NoError(t, err)
			require.NotEqual(t, token, other)
		})
	}
}

func TestOpaqueTokenPrefixesDoNotMix(t *testing.T) {
	t.Parallel()
	api, _, err := NewOpaqueToken(APITokenPrefix)
	require.NoError(t, err)
	refresh, _, err := NewOpaqueToken(RefreshTokenPrefix)
	require.NoError(t, err)
	_, ok := ParseOpaqueToken(RefreshTokenPrefix, api)
	require.False(t, ok)
	_, ok = ParseOpaqueToken(APITokenPrefix, refresh)
	require.False(t, ok)
}

func TestNewOpaqueTokenRejectsOddPrefixes(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"", "_", "vcr", "VCR_", "v-r_", "a_b_", "vcr_\n", strings.Repeat("a", 16) + "_"} {
		_, _, err := NewOpaqueToken(prefix)
		require.Error(t, err, "%q", prefix)
		_, ok := ParseOpaqueToken(prefix, prefix+strings.Repeat("A", 49))
		require.False(t, ok, "%q", prefix)
	}
}

func TestParseOpaqueTokenRejects(t *testing.T) {
	t.Parallel()
	token, _, err := NewOpaqueToken(APITokenPrefix)
	require.NoError(t, err)
	body := token[len(APITokenPrefix) : len(token)-opaqueChecksumLen]
	sum := token[len(token)-opaqueChecksumLen:]

	// A body whose last character carries bits beyond the 32 bytes (its two low bits are zero
	// in a real token): decoders that are not strict read it as the same bytes, so it would be
	// a second spelling of one token.
	last := strings.IndexByte(opaqueAlphabet, body[len(body)-1])
	require.Zero(t, last&3)
	strayToken := APITokenPrefix + body[:len(body)-1] + string(opaqueAlphabet[last|1])
	strayToken += opaqueChecksum(strayToken)
	lax, err := base64.RawURLEncoding.DecodeString(strayToken[len(APITokenPrefix) : len(strayToken)-opaqueChecksumLen])
	require.NoError(t, err)
	want, err := base64.RawURLEncoding.DecodeString(body)
	require.NoError(t, err)
	require.Equal(t, want, lax, "the stray bits are invisible to a lax decoder")

	for name, s := range map[string]string{
		"Empty":          "",
		"PrefixOnly":     APITokenPrefix,
		"NoPrefix":       token[len(APITokenPrefix):],
		"UpperPrefix":    "VCR_" + token[len(APITokenPrefix):],
		"Truncated":      token[:len(token)-1],
		"Extended":       token + "A",
		"Spaced":         " " + token[1:],
		"NotURLAlphabet": APITokenPrefix + "+" + body[1:] + sum,
		"Padded":         token[:len(token)-2] + "==",
		"ChecksumOff":    APITokenPrefix + body + flip(sum, 0),
		"BodyOff":        APITokenPrefix + flip(body, 7) + sum,
		"StrayBits":      strayToken,
		"NonASCII":       APITokenPrefix + "é" + body[2:] + sum,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			hash, ok := ParseOpaqueToken(APITokenPrefix, s)
			require.False(t, ok)
			require.Nil(t, hash)
		})
	}
}

const opaqueAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flip replaces the character at i with the next one of the base64url alphabet.
func flip(s string, i int) string {
	j := strings.IndexByte(opaqueAlphabet, s[i])
	return s[:i] + string(opaqueAlphabet[(j+1)%len(opaqueAlphabet)]) + s[i+1:]
}

func TestOpaqueTokenProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		prefix := rapid.SampledFrom([]string{APITokenPrefix, RefreshTokenPrefix}).Draw(t, "prefix")
		token, hash, err := NewOpaqueToken(prefix)
		require.NoError(t, err)
		got, ok := ParseOpaqueToken(prefix, token)
		require.True(t, ok)
		require.Equal(t, hash, got)

		i := rapid.IntRange(0, len(token)-1).Draw(t, "at")
		c := rapid.Byte().Filter(func(c byte) bool { return c != token[i] }).Draw(t, "byte")
		changed := token[:i] + string([]byte{c}) + token[i+1:]
		got, ok = ParseOpaqueToken(prefix, changed)
		if ok {
			require.NotEqual(t, hash, got, "a changed token has the original's hash")
		}
	})
}

func FuzzParseOpaqueToken(f *testing.F) {
	for _, prefix := range []string{APITokenPrefix, RefreshTokenPrefix} {
		token, _, err := NewOpaqueToken(prefix)
		require.NoError(f, err)
		f.Add(prefix, token)
		f.Add(prefix, token[:len(token)-1])
	}
	f.Add("vcr_", "vcr_")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, prefix, token string) {
		hash, ok := ParseOpaqueToken(prefix, token)
		if !ok {
			require.Nil(t, hash)
			return
		}
		require.Equal(t, HashOpaqueToken(token), hash)
		require.True(t, strings.HasPrefix(token, prefix))
		// Whatever is accepted has the one spelling NewOpaqueToken would give its bytes.
		body, err := base64.RawURLEncoding.DecodeString(token[len(prefix) : len(token)-opaqueChecksumLen])
		require.NoError(t, err)
		require.Len(t, body, opaqueRandomBytes)
		unsummed := prefix + base64.RawURLEncoding.EncodeToString(body)
		require.Equal(t, token, unsummed+opaqueChecksum(unsummed))
	})
}
