package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVendoredAssets checks the embedded third-party files against the record
// scripts/update-dashboard-assets.sh wrote when it fetched them from the npm registry: a file
// changed by hand, or a record edited without fetching, fails here.
func TestVendoredAssets(t *testing.T) {
	t.Parallel()
	record, err := fs.ReadFile(files, "static/vendor/ASSETS")
	require.NoError(t, err)
	listed := map[string]bool{"ASSETS": true}
	for line := range strings.SplitSeq(strings.TrimSpace(string(record)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		require.Len(t, f, 5, "package version integrity file sha256: %q", line)
		pkg, version, integrity, name, want := f[0], f[1], f[2], f[3], f[4]
		require.NotEmpty(t, pkg)
		require.Regexp(t, `^\d+\.\d+\.\d+$`, version, "a pinned release of %s", pkg)
		require.True(t, strings.HasPrefix(integrity, "sha512-"), "the npm integrity of %s", pkg)
		b, err := fs.ReadFile(files, "static/vendor/"+name)
		require.NoError(t, err)
		sum := sha256.Sum256(b)
		require.Equal(t, want, hex.EncodeToString(sum[:]), "static/vendor/%s differs from what %s@%s ships", name, pkg, version)
		listed[name] = true
	}
	entries, err := fs.ReadDir(files, "static/vendor")
	require.NoError(t, err)
	for _, e := range entries {
		require.True(t, listed[e.Name()], "static/vendor/%s is not in ASSETS", e.Name())
	}
}
