package audit

import "github.com/vecron/vecron/shared/secret"

// Config says where the audit keys are: inline or in a file (a mounted Kubernetes Secret),
// never in the database, which is what they protect.
type Config struct {
	Keys     string `koanf:"keys" usage:"HMAC keys of the audit chain as id:base64key, newest first (also VECRON_AUDIT__KEYS)"`
	KeysFile string `koanf:"keys_file" usage:"file holding the audit keys, one id:base64key per line, newest first"`
}

// Load returns the configured keys, or an error naming the setting when there are none or
// one is malformed.
func (c Config) Load() (*Keys, error) {
	raw, err := secret.ReadKeyList("audit.keys", c.Keys, c.KeysFile, KeySize)
	if err != nil {
		return nil, err
	}
	return NewKeys(raw)
}
