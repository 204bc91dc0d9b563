package identity

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/auth"
)

// Whatever a password file holds, FirstAdmin returns its content without one final line break
// when that is a password users may have, and otherwise fails with one of a few fixed
// messages naming the setting, which therefore cannot quote the password.
func TestFirstAdminReadsThePasswordFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fixed := map[string]bool{
		"auth.bootstrap_password_file: the file is empty":                           true,
		"auth.bootstrap_password_file: the password must be at least 12 characters": true,
		"auth.bootstrap_password_file: the password must be at most 256 bytes":      true,
	}
	rapid.Check(t, func(t *rapid.T) {
		password := rapid.OneOf(rapid.String(), rapid.StringN(10, 14, 300), rapid.StringN(250, 260, 1100)).
			Filter(func(s string) bool { return !strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, "\r") }).Draw(t, "password")
		ending := rapid.SampledFrom([]string{"", "\n", "\r\n"}).Draw(t, "ending")
		f, err := os.CreateTemp(dir, "password")
		require.NoError(t, err)
		_, err = f.WriteString(password + ending)
		require.NoError(t, err)
		require.NoError(t, f.Close())

		cfg := DefaultConfig()
		cfg.BootstrapAdmin, cfg.BootstrapPasswordFile = "admin", f.Name()
		got, err := cfg.FirstAdmin()
		if password != "" && auth.ValidatePassword(password) == nil {
			require.NoError(t, err)
			require.Equal(t, password, got.password)
			require.Equal(t, "admin", got.String())
			return
		}
		require.Error(t, err)
		require.True(t, fixed[err.Error()], "not one of the fixed messages: %q", err.Error())
	})
}

// Nothing is read, and nothing is wrong, while both settings are empty.
func TestFirstAdminOffByDefault(t *testing.T) {
	t.Parallel()
	got, err := DefaultConfig().FirstAdmin()
	require.NoError(t, err)
	require.Nil(t, got)
	cfg := DefaultConfig()
	cfg.BootstrapAdmin, cfg.BootstrapPasswordFile = "admin", filepath.Join(t.TempDir(), "absent")
	_, err = cfg.FirstAdmin()
	require.ErrorContains(t, err, "auth.bootstrap_password_file: ")
}

// Printed any way, a FirstAdmin shows its username and not its password.
func TestFirstAdminPrintsNoPassword(t *testing.T) {
	t.Parallel()
	f := &FirstAdmin{Username: "admin", password: "secret-Jq72nVx4"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		require.NotContains(t, fmt.Sprintf(format, f), f.password, format)
		require.NotContains(t, fmt.Sprintf(format, *f), f.password, format)
	}
}
