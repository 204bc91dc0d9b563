package identity

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
)

// Sign-in modes.
const (
	ModeDatabase = "database"
	ModeOIDC     = "oidc"
)

// Defaults.
const (
	RefreshTTLDefault = 24 * time.Hour
	// CacheTTLDefault bounds how long a disabled or deleted user's access tokens keep working.
	CacheTTLDefault = 10 * time.Second
	// CacheTTLMax is the longest cache the documentation promises (30 s).
	CacheTTLMax = 30 * time.Second
)

// Config configures sign-in (settings under auth).
type Config struct {
	Modes           []string      `koanf:"modes" usage:"how users sign in: database, oidc, or both (database,oidc keeps a break-glass admin when the identity provider is down)"`
	SigningKeys     string        `koanf:"signing_keys" usage:"Ed25519 seeds signing the API's access tokens, as id:base64seed, newest first (also VECRON_API__AUTH__SIGNING_KEYS)"`
	SigningKeysFile string        `koanf:"signing_keys_file" usage:"file holding the signing keys, one id:base64seed per line, newest first"`
	Issuer          string        `koanf:"issuer" usage:"iss of the access tokens the API signs"`
	AccessTTL       time.Duration `koanf:"access_ttl" usage:"lifetime of an access token"`
	RefreshTTL      time.Duration `koanf:"refresh_ttl" usage:"lifetime of a refresh token (each use issues a new one)"`
	CacheTTL        time.Duration `koanf:"cache_ttl" usage:"how long a user's roles and status are cached (at most 30s): a disabled user's tokens stop working within it"`
	LoginFailures   int           `koanf:"login_failures" usage:"failed logins per IP or per username within login_window before logins are refused"`
	LoginWindow     time.Duration `koanf:"login_window" usage:"window of the failed-login limit"`
	// TrustedProxies lists the proxies whose X-Forwarded-For is believed for the client address
	// (the login limit and the audit log); others' headers are ignored.
	TrustedProxies []string        `koanf:"trusted_proxies" usage:"CIDRs of proxies whose X-Forwarded-For gives the client address"`
	OIDC           auth.OIDCConfig `koanf:"oidc"`
	// OIDCRoles maps values of the OIDC roles claim to vecron roles: "claim-value=role@namespace".
	OIDCRoles []string `koanf:"oidc_roles" usage:"OIDC roles or groups granted vecron roles, as value=role@namespace (namespace * for all)"`
	// OIDCLogin is the dashboard's sign-in through the identity provider of OIDC; off until
	// its client id is set.
	OIDCLogin oidclogin.Config `koanf:"oidc_login"`
	// BootstrapAdmin and BootstrapPasswordFile make the first user of an installation, once,
	// when no user exists at all (FirstAdmin, CreateFirstAdmin): how an installed chart is
	// signed into without a default password.
	BootstrapAdmin        string `koanf:"bootstrap_admin" usage:"user created with the admin role for all namespaces when no user exists at all (never when one does: not a reset); empty: none"`
	BootstrapPasswordFile string `koanf:"bootstrap_password_file" usage:"file holding the password of auth.bootstrap_admin (a mounted Kubernetes Secret); one final line break is not part of it"`
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Modes: []string{ModeDatabase}, Issuer: auth.IssuerDefault, AccessTTL: auth.AccessTTLDefault,
		RefreshTTL: RefreshTTLDefault, CacheTTL: CacheTTLDefault,
		LoginFailures: auth.LoginMaxFailuresDefault, LoginWindow: auth.LoginWindowDefault,
		OIDCLogin: oidclogin.Config{Scopes: slices.Clone(oidclogin.ScopesDefault)},
	}
}

// Has reports whether mode is on.
func (c Config) Has(mode string) bool { return slices.Contains(c.Modes, mode) }

// oidcGrant is one parsed entry of OIDCRoles.
type oidcGrant struct {
	value, role, namespace string
}

func (c Config) validate() ([]oidcGrant, []netip.Prefix, error) {
	if len(c.Modes) == 0 {
		return nil, nil, fmt.Errorf("auth.modes: name at least one of %s, %s", ModeDatabase, ModeOIDC)
	}
	for _, m := range c.Modes {
		if m != ModeDatabase && m != ModeOIDC {
			return nil, nil, fmt.Errorf("auth.modes: %q is not one of %s, %s", m, ModeDatabase, ModeOIDC)
		}
	}
	if c.AccessTTL < 0 || c.RefreshTTL < 0 || c.CacheTTL < 0 || c.LoginWindow < 0 || c.LoginFailures < 0 {
		return nil, nil, fmt.Errorf("auth: durations and counts must not be negative")
	}
	if c.OIDCLogin.Enabled() && !c.Has(ModeOIDC) {
		return nil, nil, fmt.Errorf("auth.oidc_login.client_id: the sign-in through the identity provider needs %s among auth.modes", ModeOIDC)
	}
	if c.CacheTTL > CacheTTLMax {
		return nil, nil, fmt.Errorf("auth.cache_ttl: at most %s, so a disabled user is locked out in time", CacheTTLMax)
	}
	var grants []oidcGrant
	for i, m := range c.OIDCRoles {
		value, rest, ok1 := strings.Cut(m, "=")
		role, ns, ok2 := strings.Cut(rest, "@")
		if !ok1 || !ok2 || value == "" || role == "" || (ns != domain.AllNamespaces && !domain.ValidNamespace(ns)) {
			return nil, nil, fmt.Errorf("auth.oidc_roles: entry %d is not written as value=role@namespace", i+1)
		}
		grants = append(grants, oidcGrant{value: value, role: role, namespace: ns})
	}
	var proxies []netip.Prefix
	for _, p := range c.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return nil, nil, fmt.Errorf("auth.trusted_proxies: %q is not a CIDR or an address", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		proxies = append(proxies, prefix.Masked())
	}
	return grants, proxies, nil
}

func (c Config) signerConfig() auth.SignerConfig {
	return auth.SignerConfig{Issuer: cmp.Or(c.Issuer, auth.IssuerDefault), Audience: auth.AudienceDefault, TTL: cmp.Or(c.AccessTTL, auth.AccessTTLDefault)}
}
