package forward

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/event"
)

// A token checks on the replica that minted it, for the delivery it names, until it expires;
// changed in any field, minted by another replica, or expired, it does not.
func TestCallbackTokenRoundTrip(t *testing.T) {
	t.Parallel()
	mine, err := newCallbacks("http://vecron-tick-callback.openfaas-fn:8081/forward/callback", event.Names{Prefix: "t"})
	require.NoError(t, err)
	other, err := newCallbacks("http://vecron-tick-callback.openfaas-fn:8081/forward/callback", event.Names{Prefix: "t"})
	require.NoError(t, err)
	now := time.Unix(1_800_000_000, 0)
	rapid.Check(t, func(t *rapid.T) {
		d := delivery{seq: rapid.Uint64().Draw(t, "seq"), n: rapid.Uint64().Draw(t, "n")}
		exp := now.Add(time.Duration(rapid.Int64Range(0, int64(48*time.Hour)).Draw(t, "ttl")))
		tok := mine.mint(d, exp)
		if len(tok) > maxTokenLen {
			t.Fatalf("token of %d bytes", len(tok))
		}
		if h, ok := holderOf(tok); !ok || h != mine.holder {
			t.Fatalf("holder %q of %q", h, tok)
		}
		if got, ok := mine.verify(tok, now); !ok || got != d {
			t.Fatalf("verify(%q) = %v, %v", tok, got, ok)
		}
		if _, ok := mine.verify(tok, exp.Add(time.Second)); ok {
			t.Fatal("checked once expired")
		}
		if _, ok := other.verify(tok, now); ok {
			t.Fatal("checked by another replica")
		}
		parts := strings.Split(tok, ".")
		i := rapid.IntRange(1, 4).Draw(t, "field")
		parts[i] = fmt.Sprint(rapid.Uint64().Filter(func(v uint64) bool { return fmt.Sprint(v) != parts[i] }).Draw(t, "value"))
		if _, ok := mine.verify(strings.Join(parts, "."), now); ok {
			t.Fatalf("field %d changed, still checked", i)
		}
	})
}

// The callback URL keeps what forward.callback_url holds and adds the token to its query.
func TestCallbackURLKeepsTheSetting(t *testing.T) {
	t.Parallel()
	c, err := newCallbacks("https://tick.example:8443/forward/callback?tenant=a", event.Names{})
	require.NoError(t, err)
	require.Equal(t, "https://tick.example:8443/forward/callback?tenant=a&vecron_callback=tok.en", c.callbackURL("tok.en"))
	require.Equal(t, "vecron.forward.callback."+c.holder, c.subject)
}
