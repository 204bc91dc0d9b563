package secret

import (
	"fmt"
	"os"
	"strings"
)

// Config says where the keys are: inline or in a file (a mounted Kubernetes Secret), never in
// the database.
type Config struct {
	Keys     string `koanf:"keys" usage:"encryption keys as id:base64key, newest first, comma-separated (also VECRON_SECRETS__KEYS)"`
	KeysFile string `koanf:"keys_file" usage:"file holding the encryption keys, one id:base64key per line, newest first"`
}

// Keyring reads the configured keys; none configured gives an empty keyring.
func (c Config) Keyring() (*Keyring, error) {
	spec := c.Keys
	if c.KeysFile != "" {
		b, err := os.ReadFile(c.KeysFile)
		if err != nil {
			return nil, fmt.Errorf("secrets.keys_file: %w", err)
		}
		spec = strings.Join([]string{spec, string(b)}, "\n")
	}
	return ParseKeys(spec)
}
