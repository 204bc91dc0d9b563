package config_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/config"
)

// FuzzLoadFile checks that no file content makes Load panic or leave dst half-written.
func FuzzLoadFile(f *testing.F) {
	f.Add([]byte("port: 1\ntick: {batch_size: 2, interval: 3s}\nhosts: [a, b]\n"), false)
	f.Add([]byte(`{"port": 1, "tick": {"batch_size": 2.0, "interval": "3s"}, "ratio": 1e3}`), true)
	f.Add([]byte("tick: [1, {a: b}]\nport: {x: 1}\n"), false)
	f.Add([]byte(`{"hosts": [null, 1], "timeout": 1e400}`), true)
	f.Fuzz(func(t *testing.T, content []byte, isJSON bool) {
		name := "vecron.yaml"
		if isJSON {
			name = "vecron.json"
		}
		path := filepath.Join(t.TempDir(), name)
		require.NoError(t, os.WriteFile(path, content, 0o600))
		s := defaults()
		if err := config.Load(&s, config.Options{File: path}); err != nil {
			assert.Equal(t, defaults(), s)
		}
	})
}

// FuzzLoadEnvSecret checks that a bad value for a secret-looking key never reaches the error.
func FuzzLoadEnvSecret(f *testing.F) {
	f.Add("hunter2")
	f.Add("1h")
	f.Add("postgres://u:p@h/db")
	f.Fuzz(func(t *testing.T, v string) {
		s := defaults()
		err := config.Load(&s, config.Options{Environ: []string{"VECRON_TOKEN_TTL=" + v}, Prefix: prefix})
		if err != nil {
			assert.Equal(t, "env VECRON_TOKEN_TTL: invalid duration (value hidden) (use a duration like 30s)", err.Error())
		}
	})
}
