package secret

// Config says where the keys are: inline or in a file (a mounted Kubernetes Secret), never in
// the database.
type Config struct {
	Keys     string `koanf:"keys" usage:"encryption keys as id:base64key, newest first, comma-separated (also VECRON_SECRETS__KEYS)"`
	KeysFile string `koanf:"keys_file" usage:"file holding the encryption keys, one id:base64key per line, newest first"`
}

// Keyring reads the configured keys; none configured gives an empty keyring.
func (c Config) Keyring() (*Keyring, error) {
	raw, err := ReadKeyList("secrets.keys", c.Keys, c.KeysFile, KeySize)
	if err != nil {
		return nil, err
	}
	return newKeyring(raw)
}
