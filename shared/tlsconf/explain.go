package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
)

// Settings names, for Explain, where each part of a connection's TLS is configured.
type Settings struct {
	// CA is where the trusted CA certificates are set, such as "redis.tls.ca_file".
	CA string
	// Cert is where the client certificate is set.
	Cert string
	// ServerName is where the name checked against the server's certificate is set.
	ServerName string
}

// SettingsOf returns the settings of the section a Config was read from, e.g. "nats.tls".
func SettingsOf(section string) Settings {
	return Settings{CA: section + ".ca_file", Cert: section + ".cert_file", ServerName: section + ".server_name"}
}

// certAlerts are what the TLS alerts a server sends when it refuses a client certificate read
// as, compared with the error of an alert received (crypto/tls exports no alert type for those).
var certAlerts = func() map[string]bool {
	m := map[string]bool{}
	// bad_certificate, unsupported_certificate, certificate_revoked, certificate_expired,
	// certificate_unknown, unknown_ca, access_denied, certificate_required.
	for _, a := range []uint8{42, 43, 44, 45, 46, 48, 49, 116} {
		m[tls.AlertError(a).Error()] = true
	}
	return m
}()

// Explain returns err with the setting to look at in front when err is a TLS failure of the
// kind a setting explains: a server certificate signed by a CA not trusted (s.CA), issued for
// another name (s.ServerName), or a client certificate the server refused or missed (s.Cert).
// Any other error is returned as it is. The text added never quotes a file's content.
func Explain(err error, s Settings) error {
	if err == nil {
		return nil
	}
	var (
		host    x509.HostnameError
		unknown x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		verify  *tls.CertificateVerificationError
		op      *net.OpError
	)
	switch {
	case errors.As(err, &host):
		return fmt.Errorf("%s: the server's certificate is not issued for the name checked: %w", s.ServerName, err)
	case errors.As(err, &unknown):
		return fmt.Errorf("%s: the server's certificate is not signed by a CA trusted there: %w", s.CA, err)
	case errors.As(err, &invalid), errors.As(err, &verify):
		return fmt.Errorf("%s: the server's certificate does not verify: %w", s.CA, err)
	case errors.As(err, &op) && op.Op == "remote error" && op.Err != nil && certAlerts[op.Err.Error()]:
		return fmt.Errorf("%s: the server refused the client certificate (none given, expired, or not signed by a CA it trusts): %w", s.Cert, err)
	}
	return err
}
