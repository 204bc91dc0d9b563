package webhook_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/webhook"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func TestMintMakesDistinctWellFormedCredentials(t *testing.T) {
	t.Parallel()
	a, err := webhook.Mint()
	require.NoError(t, err)
	b, err := webhook.Mint()
	require.NoError(t, err)
	require.NotEqual(t, a.Token, b.Token)
	require.NotEqual(t, a.Secret, b.Secret)
	require.True(t, webhook.WellFormedToken(a.Token))
	require.True(t, strings.HasPrefix(a.Secret, webhook.SecretPrefix))
	require.Len(t, webhook.HashToken(a.Token), 32)
	require.Equal(t, a.Token[:8], webhook.Hint(a.Token))
	for _, bad := range []string{"", "vwh_", a.Token + "x", a.Token[:len(a.Token)-1], "vct_" + a.Token[4:], strings.Replace(a.Token, a.Token[10:11], "*", 1)} {
		require.False(t, webhook.WellFormedToken(bad), bad)
	}
}

// TestVerifyRefusesHostileCalls: every way a call can be wrong names the header, and a call
// signed right within the window passes, at both edges.
func TestVerifyRefusesHostileCalls(t *testing.T) {
	t.Parallel()
	const secret = "whsec_test"
	body := []byte(`{"order":1042}`)
	ts := strconv.FormatInt(t0.Unix(), 10)
	good := webhook.Sign(secret, t0, body)

	sig, err := webhook.Verify(secret, ts, good, body, t0)
	require.NoError(t, err)
	require.Equal(t, strings.TrimPrefix(good, "sha256="), sig)
	for _, now := range []time.Time{t0.Add(webhook.ReplayWindow), t0.Add(-webhook.ReplayWindow)} {
		_, err := webhook.Verify(secret, ts, good, body, now)
		require.NoError(t, err, "the window's edges are inside it")
	}
	_, err = webhook.Verify(secret, ts, "sha256="+strings.Repeat("0", 64)+", "+good, body, t0)
	require.NoError(t, err, "any of several signatures may match (rotation)")

	cases := []struct {
		name, ts, sig string
		body          []byte
		now           time.Time
		field         string
		stale         bool
	}{
		{"WrongSecret", ts, webhook.Sign("whsec_other", t0, body), body, t0, webhook.HeaderSignature, false},
		{"TamperedBody", ts, good, []byte(`{"order":1043}`), t0, webhook.HeaderSignature, false},
		{"TimestampNotSigned", strconv.FormatInt(t0.Unix()+1, 10), good, body, t0, webhook.HeaderSignature, false},
		{"MissingSignature", ts, "", body, t0, webhook.HeaderSignature, false},
		{"MissingTimestamp", "", good, body, t0, webhook.HeaderTimestamp, false},
		{"BadTimestamp", "yesterday", good, body, t0, webhook.HeaderTimestamp, false},
		{"NegativeTimestamp", "-1", good, body, t0, webhook.HeaderTimestamp, false},
		{"Stale", ts, good, body, t0.Add(webhook.ReplayWindow + time.Second), webhook.HeaderTimestamp, true},
		{"Future", ts, good, body, t0.Add(-webhook.ReplayWindow - time.Second), webhook.HeaderTimestamp, true},
		{"NoScheme", ts, strings.TrimPrefix(good, "sha256="), body, t0, webhook.HeaderSignature, false},
		{"OtherScheme", ts, "sha1=" + strings.Repeat("a", 40), body, t0, webhook.HeaderSignature, false},
		{"ShortHex", ts, good[:len(good)-2], body, t0, webhook.HeaderSignature, false},
		{"NotHex", ts, "sha256=" + strings.Repeat("z", 64), body, t0, webhook.HeaderSignature, false},
		{"TooMany", ts, strings.Repeat(good+",", 4) + good, body, t0, webhook.HeaderSignature, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.Verify(secret, c.ts, c.sig, c.body, c.now)
			var werr *webhook.Error
			require.ErrorAs(t, err, &werr)
			require.Equal(t, c.field, werr.Field)
			require.Equal(t, c.stale, errors.Is(err, webhook.ErrStale))
			require.NotContains(t, err.Error(), secret)
		})
	}
}

// FuzzParseSignatures: the signature header parser takes any string without panicking, and
// what it accepts are 32-byte digests.
func FuzzParseSignatures(f *testing.F) {
	f.Add("sha256=" + strings.Repeat("ab", 32))
	f.Add("sha256=" + strings.Repeat("ab", 32) + " , sha256=" + strings.Repeat("0", 64))
	f.Add("sha256=")
	f.Add(",,,,")
	f.Add("sha1=abc")
	f.Fuzz(func(t *testing.T, h string) {
		sigs, err := webhook.ParseSignatures(h)
		if err != nil {
			var werr *webhook.Error
			if !errors.As(err, &werr) {
				t.Fatalf("error %v is not a *webhook.Error", err)
			}
			return
		}
		if len(sigs) == 0 || len(sigs) > 4 {
			t.Fatalf("%d signatures", len(sigs))
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("digest of %d bytes", len(s))
			}
		}
	})
}

// FuzzParseTimestamp: any header gives a time or an error naming the header.
func FuzzParseTimestamp(f *testing.F) {
	f.Add("1772355600")
	f.Add("")
	f.Add("99999999999999999999")
	f.Fuzz(func(t *testing.T, h string) {
		if _, err := webhook.ParseTimestamp(h); err != nil {
			var werr *webhook.Error
			if !errors.As(err, &werr) || werr.Field != webhook.HeaderTimestamp {
				t.Fatalf("error %v does not name the header", err)
			}
		}
	})
}
