package queue

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/vecron/vecron/shared/tlsconf"
)

// tlsSection is where the NATS TLS settings are read from.
const tlsSection = "nats.tls"

// secureOptions checks the TLS and credential settings and returns the nats.go options that
// apply them, or an error naming the setting at fault and never quoting a secret. The credential
// files are read by callbacks of ours at every (re)connection, never by nats.go, so each read
// gets the same checks as the one at start. A seed file rotated to another user calls
// rotated: the connection cannot follow it (see nkeyOption).
func (c ConnConfig) secureOptions(log *slog.Logger, rotated func(error)) ([]nats.Option, error) {
	var opts []nats.Option
	if c.TLS.Enabled() {
		cl, err := tlsconf.New(tlsSection, c.TLS)
		if err != nil {
			return nil, err
		}
		cl.SetLogger(log)
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
		opt, err := credsOption(c.CredsFile, newErrorOnce(log))
		if err != nil {
			return nil, err
		}
		opts = append(opts, opt)
	}
	if c.NkeyFile != "" {
		opt, err := nkeyOption(c.NkeyFile, newErrorOnce(log), rotated)
		if err != nil {
			return nil, err
		}
		opts = append(opts, opt)
	}
	return opts, nil
}

// credsOption reads the credentials file at path for each CONNECT: the user JWT it sends and the
// seed that signs the server's nonce. nats.go's own reader (UserCredentials) hands back the whole
// file, seed included, as the JWT when the file lacks the JWT markers; ours refuses such a file,
// at start with an error and on a reconnection by failing that attempt, so the seed is never sent.
func credsOption(path string, report *errorOnce) (nats.Option, error) {
	if err := checkCreds(path); err != nil {
		return nil, err
	}
	userCB := func() (string, error) {
		j, kp, err := readCreds(path)
		report.check(err)
		if err != nil {
			return "", err
		}
		kp.Wipe()
		return j, nil
	}
	sigCB := func(nonce []byte) ([]byte, error) {
		_, kp, err := readCreds(path)
		report.check(err)
		if err != nil {
			return nil, err
		}
		defer kp.Wipe()
		return kp.Sign(nonce)
	}
	return nats.UserJWT(userCB, sigCB), nil
}

// checkCreds returns an error naming nats.creds_file when the file does not hold a user JWT and
// a user seed, as nats-server's tools write them. It says what is missing, never what is there.
func checkCreds(path string) error {
	_, kp, err := readCreds(path)
	if err != nil {
		return err
	}
	kp.Wipe()
	return nil
}

// readCreds returns the user JWT and seed of the credentials file at path, or an error naming
// nats.creds_file that says what is missing, never what is there.
func readCreds(path string) (string, nkeys.KeyPair, error) {
	b, err := readSecret("nats.creds_file", path)
	if err != nil {
		return "", nil, err
	}
	defer clear(b)
	// Without the decoration the parser hands the whole text back: a JWT is three
	// dot-separated parts.
	j, err := nkeys.ParseDecoratedJWT(b)
	if err != nil || strings.Count(j, ".") != 2 || strings.ContainsAny(j, " \t\r\n") {
		return "", nil, errors.New("nats.creds_file: holds no user JWT (-----BEGIN NATS USER JWT-----)")
	}
	kp, err := nkeys.ParseDecoratedUserNKey(b)
	if err != nil {
		return "", nil, errors.New("nats.creds_file: holds no user NKey seed (-----BEGIN USER NKEY SEED-----)")
	}
	return j, kp, nil
}

// nkeyOption signs each CONNECT with the seed in the file at path, read again at every
// (re)connection. nats.go sends the public key given here, once for the connection's life, with
// every CONNECT; so a seed rotated to another user cannot be followed: signing for the old key
// with the new seed is refused by the server every time. The signature callback compares the
// seed's public key with the first one instead, refuses to sign, reports the change to rotated
// (which ends the connection, so the process restarts with the new user), and says which
// setting changed.
func nkeyOption(path string, report *errorOnce, rotated func(error)) (nats.Option, error) {
	kp, err := readNkey(path)
	if err != nil {
		return nil, err
	}
	public, err := kp.PublicKey()
	kp.Wipe()
	if err != nil {
		return nil, errors.New("nats.nkey_file: holds no NKey user seed (a line starting SU)")
	}
	sigCB := func(nonce []byte) ([]byte, error) {
		kp, err := readNkey(path)
		report.check(err)
		if err != nil {
			return nil, err
		}
		defer kp.Wipe()
		now, err := kp.PublicKey()
		if err != nil {
			return nil, errors.New("nats.nkey_file: holds no NKey user seed (a line starting SU)")
		}
		if now != public {
			// Public keys are no secret: they name the users in the server's configuration.
			err := fmt.Errorf("nats.nkey_file: now holds the seed of user %s, not of %s this connection signs in as; a connection keeps its user, so the process must restart to use the new one", now, public)
			rotated(err)
			return nil, err
		}
		return kp.Sign(nonce)
	}
	return nats.Nkey(public, sigCB), nil
}

// readNkey returns the user seed in the file at path, bare or decorated, or an error naming
// nats.nkey_file that never quotes the file.
func readNkey(path string) (nkeys.KeyPair, error) {
	b, err := readSecret("nats.nkey_file", path)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	kp, err := nkeys.ParseDecoratedNKey(b)
	if err != nil {
		return nil, errors.New("nats.nkey_file: holds no NKey user seed (a line starting SU)")
	}
	if seed, err := kp.Seed(); err != nil || !strings.HasPrefix(string(seed), "SU") {
		kp.Wipe()
		return nil, errors.New("nats.nkey_file: holds no NKey user seed (a line starting SU)")
	}
	return kp, nil
}

// readSecret reads the file at path for setting. The path is used as written: nats.go expands $VAR
// and ~ in the paths it reads, but it reads none of ours, and the process reads its environment
// in one place only, so a path such as ~/user.creds is a file of that name.
func readSecret(setting, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, fs.ErrNotExist) && (strings.HasPrefix(path, "~") || strings.Contains(path, "$")):
		return nil, fmt.Errorf("%s: %w (the path is used as written: $ and ~ are not expanded)", setting, err)
	default:
		// The os error names the path, which is configuration, and the cause (such as
		// permission denied), never the content.
		return nil, fmt.Errorf("%s: cannot be read: %w", setting, err)
	}
}

// errorOnce logs an error of a credential callback when it differs from the last one logged:
// nats.go keeps the reason a reconnection failed to itself, and a retry every half second
// would repeat the same line.
type errorOnce struct {
	log  *slog.Logger
	msg  string
	mu   sync.Mutex
	last string
}

func newErrorOnce(log *slog.Logger) *errorOnce {
	return &errorOnce{log: log, msg: "nats credentials refused before sign-in; retrying at each reconnection"}
}

// check logs err when it is new; a nil err forgets the last one, so a later failure is logged.
func (e *errorOnce) check(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err == nil {
		e.last = ""
		return
	}
	if msg := err.Error(); msg != e.last {
		e.last = msg
		e.log.Error(e.msg, "error", err)
	}
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
