package secret

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestHostPatterns(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"api.example.com", "API.Example.com", "*.example.com", "10.0.0.7", "10.0.0.7:5432",
		"[fd00::1]:443", "fd00::1", "db_1.internal:3306", "*.svc.cluster.local:8080", "example.com."} {
		require.NoError(t, CheckHostPattern(p), p)
	}
	for p, want := range map[string]string{
		"":                        "is empty",
		"https://api.example.com": "is not a host",
		"api.example.com/v1":      "is not a host",
		"user@api.example.com":    "is not a host",
		"api.*.com":               "a wildcard may only be the first label",
		"*":                       "a wildcard may only be the first label",
		"*.10.0.0.7":              "an address takes no wildcard",
		"api.example.com:0":       "the port must be a number from 1 to 65535",
		"api.example.com:http":    "the port must be a number",
		"api..example.com":        "is not a host name",
		"bad!name":                "is not a host name",
		strings.Repeat("a", 300):  "longer than 260 bytes",
	} {
		err := CheckHostPattern(p)
		require.Error(t, err, p)
		require.Contains(t, err.Error(), want, p)
	}
}

func TestHostAllowed(t *testing.T) {
	t.Parallel()
	patterns := []string{"api.example.com", "*.bank.vn", "10.0.0.7:5432", "[fd00::1]:443"}
	for dest, want := range map[string]bool{
		"api.example.com:443":          true,
		"API.EXAMPLE.COM:80":           true,
		"api.example.com.:443":         true,
		"evil.com:443":                 false,
		"api.example.com.evil.com:443": false,
		"pay.bank.vn:443":              true,
		"a.b.bank.vn:443":              true,
		"bank.vn:443":                  false, // *.bank.vn is the subdomains, not the name itself
		"evilbank.vn:443":              false,
		"10.0.0.7:5432":                true,
		"10.0.0.7:5433":                false,
		"[fd00::1]:443":                true,
		"[fd00:0::1]:443":              true,
		"":                             false,
		"api.example.com":              false, // no port: not a destination
	} {
		require.Equal(t, want, HostAllowed(patterns, dest), dest)
	}
}

// A destination always matches its own name and never a pattern for another name or port, and
// a wildcard matches exactly the names below it.
func TestHostMatchingProperties(t *testing.T) {
	t.Parallel()
	label := rapid.StringMatching(`[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?`)
	rapid.Check(t, func(t *rapid.T) {
		labels := rapid.SliceOfN(label, 1, 4).Draw(t, "labels")
		host := strings.Join(labels, ".")
		port := rapid.IntRange(1, 65535).Draw(t, "port")
		dest := net.JoinHostPort(host, strconv.Itoa(port))
		other := rapid.IntRange(1, 65535).Filter(func(p int) bool { return p != port }).Draw(t, "other port")
		require.NoError(t, CheckHostPattern(host))
		require.True(t, HostAllowed([]string{host}, dest))
		require.True(t, HostAllowed([]string{strings.ToUpper(host)}, dest))
		require.True(t, HostAllowed([]string{net.JoinHostPort(host, strconv.Itoa(port))}, dest))
		require.False(t, HostAllowed([]string{net.JoinHostPort(host, strconv.Itoa(other))}, dest))
		require.False(t, HostAllowed([]string{"*." + host}, dest), "a wildcard does not match the name itself")
		sub := rapid.SampledFrom([]string{"a", "x-1", "deep.er"}).Draw(t, "sub")
		require.True(t, HostAllowed([]string{"*." + host}, net.JoinHostPort(sub+"."+host, "443")))
		require.False(t, HostAllowed([]string{"*." + host}, net.JoinHostPort(sub+host, "443")), "a suffix is matched at a dot")
		require.False(t, HostAllowed([]string{host}, net.JoinHostPort(host+".evil", "443")))
		require.False(t, HostAllowed(nil, dest))
	})
}

func TestBindingsTravelWithTheRequest(t *testing.T) {
	t.Parallel()
	require.NoError(t, CheckDestination(context.Background(), "anywhere:443"), "nothing bound")
	ctx := WithBindings(context.Background(), Bindings{{Name: "API_TOKEN", Hosts: []string{"api.example.com"}}})
	require.NoError(t, CheckDestination(ctx, "api.example.com:443"))
	err := CheckDestination(ctx, "127.0.0.1:8080")
	var b *BindingError
	require.True(t, errors.As(err, &b))
	require.Equal(t, "secret variable API_TOKEN may be sent only to api.example.com (its allowed_hosts), not to 127.0.0.1:8080", err.Error())
}

// FuzzCheckHostPattern: whatever a user writes as a pattern is accepted or refused with a
// reason; an accepted one never panics the matcher.
func FuzzCheckHostPattern(f *testing.F) {
	for _, s := range []string{"api.example.com", "*.x.y:1", "[::1]:443", "::1", "a:b:c", "*.", "[", "é.com", "a..b"} {
		f.Add(s, "api.example.com:443")
	}
	f.Fuzz(func(t *testing.T, p, dest string) {
		if err := CheckHostPattern(p); err != nil {
			if err.Error() == "" {
				t.Fatal("an empty reason")
			}
			return
		}
		_ = HostAllowed([]string{p}, dest)
	})
}
