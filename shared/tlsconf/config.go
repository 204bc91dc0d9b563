// Package tlsconf turns the TLS settings of a client connection — CA file, client certificate
// and key, server name, lowest version — into a *tls.Config for Redis and NATS, reading the
// files again when they change: cert-manager and Kubernetes Secret volumes rotate them in place,
// and a long-running function must pick up the new ones without a restart.
//
// Errors name the setting ("redis.tls.ca_file: …") and never quote what a file holds.
package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// MinVersionDefault is the lowest TLS version a client accepts when min_version is empty.
const MinVersionDefault = "1.2"

// versions are the accepted values of min_version; older versions are broken and refused.
var versions = map[string]uint16{"1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// Config is one connection's TLS settings, a section such as redis.tls or nats.tls.
type Config struct {
	// CAFile holds the certificates that sign the server's; empty trusts the system roots.
	CAFile string `koanf:"ca_file" usage:"PEM file of the CA certificates that sign the server's (a mounted Secret, reread when it changes); empty trusts the system roots"`
	// CertFile and KeyFile are the client certificate, for servers that ask for one.
	CertFile string `koanf:"cert_file" usage:"PEM file of the client certificate, for a server that verifies clients (reread when it changes); needs key_file"`
	KeyFile  string `koanf:"key_file" usage:"PEM file of the client certificate's private key; needs cert_file"`
	// ServerName is checked against the server's certificate instead of the URL's host: for a
	// server reached through an address its certificate does not name.
	ServerName string `koanf:"server_name" usage:"name the server's certificate must carry, when not the URL's host"`
	// InsecureSkipVerify turns verification of the server off. Only `vecron dev` (Development)
	// takes it: anywhere else it would hand the connection to whoever sits in between.
	InsecureSkipVerify bool `koanf:"insecure_skip_verify" usage:"do not verify the server's certificate; refused outside vecron dev"`
	// MinVersion is the lowest TLS version accepted.
	MinVersion string `koanf:"min_version" usage:"lowest TLS version accepted: 1.2 or 1.3; empty is 1.2"`

	// Development is set by `vecron dev`, where a server on this machine with a self-signed
	// certificate is expected; it allows InsecureSkipVerify.
	Development bool `koanf:"-"`
}

// Enabled reports whether any setting asks for TLS.
func (c Config) Enabled() bool {
	return c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "" ||
		c.InsecureSkipVerify || c.MinVersion != ""
}

// validate checks c without reading its files; section prefixes every setting named.
func (c Config) validate(section string) error {
	var errs []error
	switch {
	case c.CertFile != "" && c.KeyFile == "":
		errs = append(errs, fmt.Errorf("%s.key_file: is required with %s.cert_file", section, section))
	case c.KeyFile != "" && c.CertFile == "":
		errs = append(errs, fmt.Errorf("%s.cert_file: is required with %s.key_file", section, section))
	}
	if c.InsecureSkipVerify {
		switch {
		case !c.Development:
			errs = append(errs, fmt.Errorf("%s.insecure_skip_verify: is refused outside vecron dev; set %s.ca_file to the CA that signs the server's certificate", section, section))
		case c.CAFile != "":
			errs = append(errs, fmt.Errorf("%s.insecure_skip_verify: set it or %s.ca_file, not both", section, section))
		}
	}
	if c.ServerName != "" && !validServerName(c.ServerName) {
		errs = append(errs, fmt.Errorf("%s.server_name: is not a host name (letters, digits, '-', '.', or an IP address)", section))
	}
	if _, ok := versions[c.MinVersion]; !ok && c.MinVersion != "" {
		errs = append(errs, fmt.Errorf("%s.min_version: %q is not 1.2 or 1.3", section, c.MinVersion))
	}
	return errors.Join(errs...)
}

// validServerName accepts what a certificate's DNS or IP names can hold, and a '*'-free name:
// a wildcard belongs in the certificate, not in the name checked against it.
func validServerName(s string) bool {
	if len(s) > 253 || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r > unicode.MaxASCII || !(r == '-' || r == '.' || r == ':' || r == '_' ||
			unicode.IsLetter(r) || unicode.IsDigit(r))
	})
}
