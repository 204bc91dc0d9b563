package devenv

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ServerTLS makes a server listen with TLS only. The files are copied into the data directory
// at every start (the server may run as another user, and needs its key private to it).
type ServerTLS struct {
	// CertFile and KeyFile are the server's certificate and key, in PEM. Required.
	CertFile, KeyFile string
	// ClientCAFile, when set, makes the server require a client certificate signed by one of
	// its CAs.
	ClientCAFile string
}

func (c *ServerTLS) validate(field string) error {
	if c == nil {
		return nil
	}
	if c.CertFile == "" || c.KeyFile == "" {
		return fmt.Errorf("%s.CertFile, %s.KeyFile: both are required", field, field)
	}
	return nil
}

// installedTLS are the paths of the copies the server reads.
type installedTLS struct {
	cert, key, clientCA string
}

// install copies the files into dir/tls, private to the user of cred (nil: this process's).
func (c *ServerTLS) install(dir string, cred *syscall.Credential) (installedTLS, error) {
	tlsDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return installedTLS{}, fmt.Errorf("create tls dir: %w", err)
	}
	out := installedTLS{cert: filepath.Join(tlsDir, "server.crt"), key: filepath.Join(tlsDir, "server.key")}
	files := map[string]string{c.CertFile: out.cert, c.KeyFile: out.key}
	if c.ClientCAFile != "" {
		out.clientCA = filepath.Join(tlsDir, "client-ca.crt")
		files[c.ClientCAFile] = out.clientCA
	}
	for from, to := range files {
		if err := copyPrivate(from, to, cred); err != nil {
			return installedTLS{}, err
		}
	}
	if cred != nil {
		if err := os.Chown(tlsDir, int(cred.Uid), int(cred.Gid)); err != nil {
			return installedTLS{}, fmt.Errorf("hand tls dir to the server's user: %w", err)
		}
	}
	return out, nil
}

func copyPrivate(from, to string, cred *syscall.Credential) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return fmt.Errorf("read tls file: %w", err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		return fmt.Errorf("copy tls file: %w", err)
	}
	// WriteFile keeps the mode of a file a previous start left.
	if err := os.Chmod(to, 0o600); err != nil {
		return fmt.Errorf("copy tls file: %w", err)
	}
	if cred != nil {
		if err := os.Chown(to, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand tls file to the server's user: %w", err)
		}
	}
	return nil
}
