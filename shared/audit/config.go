package audit

import (
	"time"

	"github.com/vecron/vecron/shared/secret"
)

// Config says where the audit keys are: inline or in a file (a mounted Kubernetes Secret),
// never in the database, which is what they protect. It also says where the api forwards the
// log, if anywhere (package auditsink validates and applies those settings).
type Config struct {
	Keys     string `koanf:"keys" usage:"HMAC keys of the audit chain as id:base64key, newest first (also VECRON_AUDIT__KEYS)"`
	KeysFile string `koanf:"keys_file" usage:"file holding the audit keys, one id:base64key per line, newest first"`
	// Sink, when set, is where the api delivers every row, as a CloudEvent, at least once.
	Sink string `koanf:"sink" usage:"http(s) URL of a SIEM that receives every audit row as an io.vecron.audit.recorded CloudEvent; empty forwards nothing"`
	// ForwardInterval is how often the api looks for rows to forward once it has caught up.
	ForwardInterval time.Duration `koanf:"forward_interval" usage:"how often the api looks for new audit rows to forward to audit.sink"`
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
