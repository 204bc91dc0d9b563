package image_test

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/image"
	"github.com/vecron/vecron/functions/contract"
)

// root is the main module's directory: the Dockerfiles' build context, where go build runs.
const root = "../.."

// The table has one image per function of the contract, named, built and started as the
// contract says.
func TestSpecsFollowTheContract(t *testing.T) {
	t.Parallel()
	specs, err := image.Specs()
	require.NoError(t, err)
	fns := contract.Functions("")
	require.Len(t, specs, len(fns))
	for i, f := range fns {
		s := specs[i]
		require.Equal(t, f.Name, s.Function)
		require.Equal(t, f.Image, s.Image)
		require.Equal(t, f.Package, s.Package)
		require.Equal(t, f.Tags, s.Tags)
		require.Equal(t, path.Join(image.BinDir, f.Name), s.Binary)
		require.Equal(t, []string{s.Binary}, s.Entrypoint)
		require.Equal(t, s.Binary, s.Files[0].Path, "the binary is the first file")
		for _, tag := range f.Tags {
			require.Contains(t, s.BuildFlags, "-tags="+tag, "%s is built with its tags", f.Name)
		}
		var ports []int
		for _, p := range f.Ports {
			if p.Name == "http" || p.Name == "metrics" {
				ports = append(ports, p.Default)
			}
		}
		require.Equal(t, ports, s.Ports, "%s exposes its public and metrics ports", f.Name)
	}
}

// The builder builds the binaries make build builds: the table's flags are the Makefile's
// BUILDFLAGS.
func TestBuildFlagsAreMakeBuilds(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	require.NoError(t, err)
	var flags []string
	for l := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "BUILDFLAGS := "); ok {
			flags = shellWords(v)
		}
	}
	require.Equal(t, image.BuildFlags(), flags)
}

// Two builds of one commit are the same bytes: the image depends on the binary, the CA bundle
// and the release only.
func TestAssembleIsReproducible(t *testing.T) {
	t.Parallel()
	specs, err := image.Specs()
	require.NoError(t, err)
	rel := image.Release{Version: "v1.2.3", Revision: strings.Repeat("ab", 20), Created: time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC)}
	p := v1.Platform{OS: "linux", Architecture: "arm64"}
	bin, ca := bytes.Repeat([]byte("\x7fELF binary"), 1000), []byte("-----BEGIN CERTIFICATE-----\n")
	digest := func(s image.Spec, p v1.Platform, rel image.Release, bin []byte) v1.Hash {
		img, err := image.Assemble(s, p, rel, bin, ca)
		require.NoError(t, err)
		d, err := img.Digest()
		require.NoError(t, err)
		return d
	}
	first := digest(specs[0], p, rel, bin)
	require.Equal(t, first, digest(specs[0], p, rel, bin), "the same inputs give the same image")
	later := rel
	later.Created = rel.Created.Add(time.Second)
	require.NotEqual(t, first, digest(specs[0], p, later, bin), "the commit time is in the image")
	require.NotEqual(t, first, digest(specs[0], v1.Platform{OS: "linux", Architecture: "amd64"}, rel, bin), "the platform is in the image")
	require.NotEqual(t, first, digest(specs[0], p, rel, append(bin, 0)), "the binary is in the image")
}
