package audit

import (
	"bytes"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAnchorRoundTrip(t *testing.T) {
	t.Parallel()
	mac := bytes.Repeat([]byte{0xfb}, 32)
	a := Anchor{Seq: 1234, MAC: mac}
	require.Equal(t, "vecron-audit:1234:"+base64.RawURLEncoding.EncodeToString(mac), a.String())
	got, err := ParseAnchor(a.String())
	require.NoError(t, err)
	require.Equal(t, a, got)
}

func TestParseAnchorIsStrict(t *testing.T) {
	t.Parallel()
	mac := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	tests := []struct {
		name, in, want string
	}{
		{name: "Empty", in: "", want: `audit anchor: does not start with "vecron-audit:"`},
		{name: "OtherPrefix", in: "vecron:1:" + mac, want: `audit anchor: does not start with "vecron-audit:"`},
		{name: "Spaces", in: " vecron-audit:1:" + mac, want: `audit anchor: does not start with "vecron-audit:"`},
		{name: "NoMAC", in: "vecron-audit:1", want: `audit anchor: no ":" between the seq and the MAC`},
		{name: "NoSeq", in: "vecron-audit::" + mac, want: `audit anchor: seq "" is not a decimal number without sign or leading zeros`},
		{name: "Sign", in: "vecron-audit:+1:" + mac, want: `audit anchor: seq "+1" is not a decimal number without sign or leading zeros`},
		{name: "Negative", in: "vecron-audit:-1:" + mac, want: `audit anchor: seq "-1" is not a decimal number without sign or leading zeros`},
		{name: "LeadingZero", in: "vecron-audit:01:" + mac, want: `audit anchor: seq "01" is not a decimal number without sign or leading zeros`},
		{name: "TooBig", in: "vecron-audit:9223372036854775808:" + mac, want: `audit anchor: seq "9223372036854775808" is out of range`},
		{name: "Padded", in: "vecron-audit:1:" + mac + "=", want: "audit anchor: the MAC is not unpadded base64url"},
		{name: "StdAlphabet", in: "vecron-audit:1:" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)), want: "audit anchor: the MAC is not unpadded base64url"},
		{name: "TrailingNewline", in: "vecron-audit:1:" + mac + "\n", want: "audit anchor: the MAC is not unpadded base64url"},
		{name: "ExtraPart", in: "vecron-audit:1:" + mac + ":x", want: "audit anchor: the MAC is not unpadded base64url"},
		{name: "ShortMAC", in: "vecron-audit:1:" + mac[:40], want: "audit anchor: the MAC is 30 bytes, not 32"},
		{name: "MissingMAC", in: "vecron-audit:1:", want: "audit anchor: the MAC is 0 bytes, not 32"},
		{name: "MACAtZero", in: "vecron-audit:0:" + mac, want: "audit anchor: seq 0 (an empty log) has no MAC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseAnchor(tt.in)
			require.EqualError(t, err, tt.want)
		})
	}
}
