package queue

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/vecron/vecron/shared/tlsconf"
)

// tlsSection is where the NATS TLS settings are read from.
const tlsSection = "nats.tls"

// secureOptions checks the TLS and credential settings and returns the nats.go options that
// apply them, or an error naming the setting at fault and never quoting a secret.
func (c ConnConfig) secureOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if c.TLS.Enabled() {
		cl, err := tlsconf.New(tlsSection, c.TLS)
		if err != nil {
			return nil, err
		}
		// nats.go copies this configuration for each connection and fills the server name from
		// the URL when it is empty; the client certificate is asked for at each handshake.
		opts = append(opts, nats.Secure(cl.TLSConfig()))
		if c.TLS.CAFile != "" {
			// The CA file read again at each (re)connection: a CA rotated in the mounted Secret
			// is trusted from the next one on.
			opts = append(opts, nats.ClientTLSConfig(nil, cl.RootCAs))
		}
	}
	if c.CredsFile != "" && c.NkeyFile != "" {
		return nil, errors.New("nats.creds_file: set it or nats.nkey_file, not both")
	}
	if c.CredsFile != "" || c.NkeyFile != "" {
		setting := "nats.creds_file"
		if c.NkeyFile != "" {
			setting = "nats.nkey_file"
		}
		if urlHasUser(c.URL) {
			return nil, fmt.Errorf("nats.url: holds a user, password or token; with %s give none (the server would see two identities)", setting)
		}
	}
	if c.CredsFile != "" {
		if err := checkCreds(c.CredsFile); err != nil {
			return nil, err
		}
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.NkeyFile != "" {
		if _, err := os.Stat(c.NkeyFile); err != nil {
			return nil, fmt.Errorf("nats.nkey_file: %w", err) // the path is configuration, not the seed
		}
		opt, err := nats.NkeyOptionFromSeed(c.NkeyFile)
		if err != nil {
			return nil, errors.New("nats.nkey_file: holds no NKey user seed (a line starting SU)")
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

// checkCreds returns an error naming nats.creds_file when the file does not hold a user JWT and
// a user seed, as nats-server's tools write them. It says what is missing, never what is there.
func checkCreds(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("nats.creds_file: %w", err)
	}
	defer clear(b)
	// Without the decoration the parser hands the whole text back: a JWT is three
	// dot-separated parts.
	if j, err := nkeys.ParseDecoratedJWT(b); err != nil || strings.Count(j, ".") != 2 || strings.ContainsAny(j, " \n") {
		return errors.New("nats.creds_file: holds no user JWT (-----BEGIN NATS USER JWT-----)")
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		return errors.New("nats.creds_file: holds no user NKey seed (-----BEGIN USER NKEY SEED-----)")
	}
	kp.Wipe()
	return nil
}

// urlHasUser reports whether any server URL of u, a comma-separated list, carries a user,
// password or token.
func urlHasUser(u string) bool {
	for part := range strings.SplitSeq(u, ",") {
		p, err := url.Parse(strings.TrimSpace(part))
		if err == nil && p.User != nil {
			return true
		}
	}
	return false
}

// explain names the setting to look at when err is a TLS or sign-in failure.
func (c ConnConfig) explain(err error) error {
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) {
		setting := "nats.url (user and password, or token)"
		switch {
		case c.CredsFile != "":
			setting = "nats.creds_file"
		case c.NkeyFile != "":
			setting = "nats.nkey_file"
		}
		return fmt.Errorf("%s: the server refused the credentials: %w", setting, err)
	}
	names := tlsconf.SettingsOf(tlsSection)
	if explained := tlsconf.Explain(err, names); explained != err {
		return explained
	}
	// With TLS 1.3 a server that refuses the client certificate may close the connection
	// before its alert reaches the client, which then sees only the connection gone right
	// after a handshake it completed (nats.go says so under ErrTLS).
	if errors.Is(err, nats.ErrTLS) && (errors.Is(err, io.EOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		return fmt.Errorf("%s: the server closed the connection after the TLS handshake, as one that verifies clients does when the client certificate is missing or not signed by a CA it trusts: %w", names.Cert, err)
	}
	return err
}
