package secret

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// MaxHostPatterns bounds the allowed_hosts of one secret.
const MaxHostPatterns = 32

// CheckHostPattern reports what is wrong with an allowed_hosts entry, or nil. A pattern is a
// host name or IP address, optionally with a port ("api.example.com", "10.0.0.7:5432",
// "[fd00::1]:443"), where the name may start with "*." to match any subdomain of what follows
// (not the name itself). Matching compares names, not addresses: the name a job's URL holds is
// what the pattern is checked against.
func CheckHostPattern(p string) error {
	if p == "" {
		return fmt.Errorf("is empty")
	}
	if len(p) > 260 {
		return fmt.Errorf("is longer than 260 bytes")
	}
	if strings.ContainsAny(p, "/?#@ \t") {
		return fmt.Errorf("%q is not a host: give a name or address, optionally with :port, without a scheme or path", p)
	}
	host, port, err := splitPattern(p)
	if err != nil {
		return fmt.Errorf("%q: %v", p, err)
	}
	name := strings.TrimPrefix(host, "*.")
	if strings.Contains(name, "*") {
		return fmt.Errorf("%q: a wildcard may only be the first label, as in *.example.com", p)
	}
	if net.ParseIP(name) != nil {
		if name != host {
			return fmt.Errorf("%q: an address takes no wildcard", p)
		}
	} else {
		for _, label := range strings.Split(name, ".") {
			if label == "" || len(label) > 63 || strings.Trim(label, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
				return fmt.Errorf("%q is not a host name (letters, digits, - and _ between dots)", p)
			}
		}
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: the port must be a number from 1 to 65535", p)
		}
	}
	return nil
}

// splitPattern splits a pattern into its lower-cased host and its port ("" when none).
func splitPattern(p string) (host, port string, err error) {
	p = strings.ToLower(p)
	if strings.HasPrefix(p, "[") || strings.Count(p, ":") == 1 {
		h, port, err := net.SplitHostPort(p)
		if err != nil {
			return "", "", err
		}
		return h, port, nil
	}
	return strings.TrimSuffix(p, "."), "", nil
}

// HostAllowed reports whether a destination "host:port" matches one of patterns.
func HostAllowed(patterns []string, hostport string) bool {
	host, port, err := net.SplitHostPort(strings.ToLower(hostport))
	if err != nil {
		return false
	}
	host = strings.TrimSuffix(host, ".")
	if host == "" {
		return false
	}
	for _, p := range patterns {
		ph, pp, err := splitPattern(p)
		if err != nil || (pp != "" && pp != port) {
			continue
		}
		if suffix, ok := strings.CutPrefix(ph, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if ph == host || (net.ParseIP(ph) != nil && net.ParseIP(ph).Equal(net.ParseIP(host))) {
			return true
		}
	}
	return false
}

// Binding is a secret that may be sent only to the destinations its Hosts patterns match.
type Binding struct {
	Name  string
	Hosts []string
}

// Bindings are the bound secrets one request carries.
type Bindings []Binding

// Check returns an error naming the first secret that may not go to hostport, or nil.
func (b Bindings) Check(hostport string) error {
	for _, s := range b {
		if !HostAllowed(s.Hosts, hostport) {
			dest := hostport
			if dest == "" {
				dest = "a destination vecron cannot name"
			}
			return &BindingError{Name: s.Name, Hosts: slices.Clone(s.Hosts), Destination: dest}
		}
	}
	return nil
}

// BindingError says that a bound secret would have been sent where it may not go.
type BindingError struct {
	Name        string
	Hosts       []string
	Destination string
}

func (e *BindingError) Error() string {
	return fmt.Sprintf("secret variable %s may be sent only to %s (its allowed_hosts), not to %s",
		e.Name, strings.Join(e.Hosts, ", "), e.Destination)
}

type bindingsKey struct{}

// WithBindings returns ctx carrying the bound secrets of the request made under it, so every
// hop of it (a redirect) is checked as the first destination was.
func WithBindings(ctx context.Context, b Bindings) context.Context {
	if len(b) == 0 {
		return ctx
	}
	return context.WithValue(ctx, bindingsKey{}, b)
}

// CheckDestination checks hostport against the bound secrets ctx carries.
func CheckDestination(ctx context.Context, hostport string) error {
	b, _ := ctx.Value(bindingsKey{}).(Bindings)
	return b.Check(hostport)
}

type maskerKey struct{}

// WithMasker returns ctx carrying m, the masker of the attempt made under it, so what a runner
// records while it runs (a span's status) hides the same secrets as the stored outcome.
func WithMasker(ctx context.Context, m *Masker) context.Context {
	if m == nil {
		return ctx
	}
	return context.WithValue(ctx, maskerKey{}, m)
}

// MaskerFrom returns the masker ctx carries; nil (which masks nothing) when it carries none.
func MaskerFrom(ctx context.Context) *Masker {
	m, _ := ctx.Value(maskerKey{}).(*Masker)
	return m
}
