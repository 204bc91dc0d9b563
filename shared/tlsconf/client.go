package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
)

// Client is a checked Config whose files are read again when what they hold changes. It is safe
// for concurrent use.
type Client struct {
	section    string
	cfg        Config
	minVersion uint16

	mu sync.Mutex
	// The last content read and what it parsed to; kept when a later read fails, since a
	// rotation half done (a certificate written before its key) is no reason to stop connecting.
	caPEM           []byte
	pool            *x509.CertPool
	certPEM, keyPEM []byte
	pair            *tls.Certificate
	// log hears of a failed re-read, once per new error: the last good files stay in use, and
	// without a line nobody learns that a rotation did not take.
	log                  *slog.Logger
	caFailed, pairFailed string
}

// New checks c and reads its files, returning an error naming the setting at fault when a
// setting is invalid or a file does not read or parse. section is where c was read from, such as
// "redis.tls", and prefixes every setting an error names.
func New(section string, c Config) (*Client, error) {
	if err := c.validate(section); err != nil {
		return nil, err
	}
	cl := &Client{section: section, cfg: c, minVersion: versions[MinVersionDefault]}
	if v, ok := versions[c.MinVersion]; ok {
		cl.minVersion = v
	}
	if c.CAFile != "" {
		if err := cl.loadCA(); err != nil {
			return nil, err
		}
	}
	if c.CertFile != "" {
		if err := cl.loadPair(); err != nil {
			return nil, err
		}
	}
	return cl, nil
}

// SetLogger makes cl log a failed re-read of its files, once per new error and never their
// content; without it such failures are silent.
func (cl *Client) SetLogger(log *slog.Logger) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.log = log
}

// Section returns the settings section the client was made from, such as "redis.tls".
func (cl *Client) Section() string { return cl.section }

// TLSConfig returns a configuration for a new connection: the CA file's certificates as they are
// now, the client certificate asked for at each handshake (so a rotated one is sent from the
// next connection on), the server name when set, and the lowest version. A caller that dials
// through a library reusing one configuration for every connection takes RootCAs as a
// per-connection callback too.
func (cl *Client) TLSConfig() *tls.Config {
	tc := &tls.Config{
		MinVersion:         cl.minVersion,
		ServerName:         cl.cfg.ServerName,
		InsecureSkipVerify: cl.cfg.InsecureSkipVerify, // only under vecron dev: Config.validate
	}
	if cl.cfg.CAFile != "" {
		tc.RootCAs, _ = cl.RootCAs() // never fails once New succeeded
	}
	if cl.cfg.CertFile != "" {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cl.Certificate() }
	}
	return tc
}

// RootCAs returns the certificates of the CA file as it is now, or nil when no CA file is set
// (the system roots). A file that no longer reads or parses leaves the last good certificates in
// use; the error is nil once New succeeded.
func (cl *Client) RootCAs() (*x509.CertPool, error) {
	if cl.cfg.CAFile == "" {
		return nil, nil
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	err := cl.loadCALocked()
	if err != nil && cl.pool == nil {
		return nil, err
	}
	cl.caFailed = cl.keptLocked(err, cl.caFailed, "ca")
	return cl.pool, nil
}

// Certificate returns the client certificate as its files are now. Files that no longer read or
// do not match leave the last good pair in use; the error is nil once New succeeded.
func (cl *Client) Certificate() (*tls.Certificate, error) {
	if cl.cfg.CertFile == "" {
		return &tls.Certificate{}, nil // no certificate: the server decides whether that will do
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	err := cl.loadPairLocked()
	if err != nil && cl.pair == nil {
		return nil, err
	}
	cl.pairFailed = cl.keptLocked(err, cl.pairFailed, "certificate")
	return cl.pair, nil
}

// keptLocked logs err, a failed re-read that left the last good files of what in use, unless it
// is the error last logged; it returns the error now on record ("" once a read succeeds, so
// the next failure is logged again). The errors name settings, paths and causes, never content.
func (cl *Client) keptLocked(err error, last, what string) string {
	if err == nil {
		return ""
	}
	if msg := err.Error(); msg != last {
		if cl.log != nil {
			cl.log.Error("tls files do not read; the last good ones stay in use", "section", cl.section, "kept", what, "error", err)
		}
		return msg
	}
	return last
}

func (cl *Client) loadCA() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.loadCALocked()
}

func (cl *Client) loadPair() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.loadPairLocked()
}

func (cl *Client) loadCALocked() error {
	setting := cl.section + ".ca_file"
	b, err := os.ReadFile(cl.cfg.CAFile)
	if err != nil {
		return fmt.Errorf("%s: %w", setting, err) // the path is configuration, not a secret
	}
	if cl.pool != nil && bytes.Equal(b, cl.caPEM) {
		return nil
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return fmt.Errorf("%s: certificate %d does not parse: %w", setting, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return fmt.Errorf("%s: %s holds no PEM certificate", setting, cl.cfg.CAFile)
	}
	cl.caPEM, cl.pool = b, pool
	return nil
}

func (cl *Client) loadPairLocked() error {
	certPEM, err := os.ReadFile(cl.cfg.CertFile)
	if err != nil {
		return fmt.Errorf("%s.cert_file: %w", cl.section, err)
	}
	keyPEM, err := os.ReadFile(cl.cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("%s.key_file: %w", cl.section, err)
	}
	if cl.pair != nil && bytes.Equal(certPEM, cl.certPEM) && bytes.Equal(keyPEM, cl.keyPEM) {
		return nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The parser's messages name PEM block types and key kinds, never key material; still,
		// say it in words of our own so no future message can leak what the key file holds.
		return fmt.Errorf("%s.cert_file, %s.key_file: %s", cl.section, cl.section, pairProblem(certPEM, keyPEM))
	}
	cl.certPEM, cl.keyPEM, cl.pair = certPEM, keyPEM, &pair
	return nil
}

// pairProblem says why a certificate and key do not make a pair, without quoting either.
func pairProblem(certPEM, keyPEM []byte) string {
	cert := firstBlock(certPEM, "CERTIFICATE")
	if cert == nil {
		return "the certificate file holds no PEM certificate"
	}
	key := firstBlock(keyPEM, "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY")
	if key == nil {
		return "the key file holds no PEM private key"
	}
	if _, err := x509.ParseCertificate(cert.Bytes); err != nil {
		return "the certificate does not parse"
	}
	if !parsesAsKey(key) {
		return "the private key does not parse (PKCS#1, PKCS#8 or SEC 1 EC expected)"
	}
	return "the key does not belong to the certificate"
}

func firstBlock(b []byte, types ...string) *pem.Block {
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil
		}
		if slices.Contains(types, block.Type) {
			return block
		}
	}
}

func parsesAsKey(b *pem.Block) bool {
	if _, err := x509.ParsePKCS8PrivateKey(b.Bytes); err == nil {
		return true
	}
	if _, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return true
	}
	_, err := x509.ParseECPrivateKey(b.Bytes)
	return err == nil
}
