package image_test

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/deploy/image"
	"github.com/vecron/vecron/functions/contract"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// sizeBar is the most an image may weigh compressed (docs/deploy.md §2); seedBar is the issue's
// first bar, logged beside it.
const (
	sizeBar = 25_000_000
	seedBar = 50_000_000
)

// listedFiles returns the regular files an image holds, from the design record's table
// (docs/deploy.md §2): nothing else may be in it.
func listedFiles(binary string) []string {
	return []string{binary, "/etc/ssl/certs/ca-certificates.crt", "/etc/passwd", "/etc/group"}
}

// TestImages builds every function's image as make images does and checks each from its
// archive alone: the size, the user, the entrypoint, the files (no shell, nothing unlisted),
// the labels; then runs the binary extracted from the layer against the test PostgreSQL, NATS
// and Redis until its probes answer, and stops it with SIGTERM.
func TestImages(t *testing.T) {
	t.Parallel()
	specs, err := image.Specs()
	require.NoError(t, err)
	rel, err := image.ReleaseOf(t.Context(), root)
	require.NoError(t, err)
	out := t.TempDir()
	results, err := image.Build(t.Context(), specs, image.Options{Root: root, Out: out, Release: rel})
	require.NoError(t, err)
	fns := contract.Functions("")
	require.Len(t, results, len(fns))
	hostCA, err := os.ReadFile(image.CAFile)
	require.NoError(t, err)
	for i, f := range fns {
		r := results[i]
		require.Equal(t, filepath.Join(out, f.Image+".tar"), r.Archive)
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			img := openArchive(t, r.Archive, rel)
			size, binSize := checkSize(t, img)
			t.Logf("%s: binary %d bytes, image %d bytes compressed (%.1f %% of the binary; bar %d, the issue's first bar %d)",
				f.Image, binSize, size, 100*float64(size)/float64(binSize), sizeBar, seedBar)
			require.LessOrEqual(t, size, int64(sizeBar), "%s weighs %d bytes compressed", f.Image, size)
			require.Equal(t, r.Images[0].Size, size, "Build reports what the archive holds")

			cf, err := img.ConfigFile()
			require.NoError(t, err)
			binary := checkConfig(t, f, cf, rel)
			rootfs := t.TempDir()
			checkLayer(t, img, binary, cf, hostCA, rootfs)
			runFromImage(t, f, rootfs, binary, cf)
		})
	}
}

// openArchive untars archive and returns the one image of its OCI layout, checking the layout
// names it by the release's version.
func openArchive(t *testing.T, archive string, rel image.Release) v1.Image {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Open(archive)
	require.NoError(t, err)
	defer f.Close()
	untar(t, f, dir, false)
	idx, err := layout.ImageIndexFromPath(dir)
	require.NoError(t, err, "the archive is an OCI image layout")
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	require.Len(t, m.Manifests, 1, "one image per archive for one platform")
	d := m.Manifests[0]
	require.Equal(t, types.OCIManifestSchema1, d.MediaType)
	require.Equal(t, rel.Version, d.Annotations["org.opencontainers.image.ref.name"])
	require.Equal(t, &v1.Platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}, d.Platform)
	img, err := idx.Image(d.Digest)
	require.NoError(t, err)
	return img
}

// checkSize returns what the image weighs in a registry (its blobs and manifest, as the layout
// stores them) and the size of its binary.
func checkSize(t *testing.T, img v1.Image) (size, binary int64) {
	t.Helper()
	raw, err := img.RawManifest()
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	require.Len(t, m.Layers, 1, "one layer")
	require.Equal(t, types.OCILayer, m.Layers[0].MediaType, "a gzipped OCI layer")
	size = int64(len(raw)) + m.Config.Size + m.Layers[0].Size
	layers, err := img.Layers()
	require.NoError(t, err)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if strings.HasPrefix(h.Name, strings.TrimPrefix(image.BinDir, "/")+"/") {
			binary = h.Size
		}
	}
	return size, binary
}

// checkConfig checks the image's config and returns its entrypoint's binary.
func checkConfig(t *testing.T, f contract.Function, cf *v1.ConfigFile, rel image.Release) string {
	t.Helper()
	require.Equal(t, runtime.GOOS, cf.OS)
	require.Equal(t, runtime.GOARCH, cf.Architecture)
	uid, gid, ok := strings.Cut(cf.Config.User, ":")
	require.True(t, ok, "user %q is uid:gid", cf.Config.User)
	for _, id := range []string{uid, gid} {
		n, err := strconv.Atoi(id)
		require.NoError(t, err, "user %q is numeric, so runAsNonRoot can check it", cf.Config.User)
		require.NotZero(t, n, "user %q is not root", cf.Config.User)
	}
	binary := path.Join("/usr/local/bin", f.Name)
	require.Equal(t, []string{binary}, cf.Config.Entrypoint)
	require.Empty(t, cf.Config.Cmd)
	require.Equal(t, []string{"SSL_CERT_DIR=/etc/ssl/certs:/etc/vecron/ca"}, cf.Config.Env)
	var ports []string
	for _, p := range f.Ports {
		if p.Name == "http" || p.Name == "metrics" {
			ports = append(ports, strconv.Itoa(p.Default)+"/tcp")
		}
	}
	var exposed []string
	for p := range cf.Config.ExposedPorts {
		exposed = append(exposed, p)
	}
	require.ElementsMatch(t, ports, exposed)
	labels := cf.Config.Labels
	for _, k := range []string{"title", "description", "source", "version", "revision", "created", "licenses", "vendor"} {
		require.NotEmpty(t, labels["org.opencontainers.image."+k], "label %s", k)
	}
	require.Equal(t, f.Image, labels["org.opencontainers.image.title"])
	require.Equal(t, rel.Revision, labels["org.opencontainers.image.revision"], "the revision is the commit")
	require.Equal(t, rel.Version, labels["org.opencontainers.image.version"])
	require.Equal(t, rel.Created.Format(time.RFC3339), labels["org.opencontainers.image.created"], "created is the commit's time")
	require.True(t, cf.Created.Equal(rel.Created), "the config is dated at the commit")
	return binary
}

// checkLayer checks the layer's entries — the listed files and their directories, nothing
// else — and extracts it into rootfs.
func checkLayer(t *testing.T, img v1.Image, binary string, cf *v1.ConfigFile, hostCA []byte, rootfs string) {
	t.Helper()
	layers, err := img.Layers()
	require.NoError(t, err)
	rc, err := layers[0].Uncompressed()
	require.NoError(t, err)
	defer rc.Close()
	files := untar(t, rc, rootfs, true)
	want := listedFiles(binary)
	var got []string
	for name := range files {
		got = append(got, name)
	}
	require.ElementsMatch(t, want, got, "the image holds these files and no other")
	for _, sh := range []string{"/bin/sh", "/bin/bash", "/bin/busybox", "/usr/bin/sh"} {
		require.NotContains(t, files, sh, "no shell")
	}
	require.Equal(t, int64(0o555), files[binary].Mode, "the binary is read-only and executable")
	for _, name := range want[1:] {
		require.Zero(t, files[name].Mode&0o222, "%s is read-only", name)
	}
	ca, err := os.ReadFile(filepath.Join(rootfs, image.CAFile))
	require.NoError(t, err)
	require.Equal(t, hostCA, ca, "the CA bundle is the build machine's")
	passwd, err := os.ReadFile(filepath.Join(rootfs, "etc/passwd"))
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(string(passwd), "\n"), "one user")
	require.True(t, strings.HasPrefix(string(passwd), "nonroot:x:"+cf.Config.User+":"), "the user of the config is nonroot: %q", passwd)

	// Static: no program interpreter, no shared library.
	e, err := elf.Open(filepath.Join(rootfs, binary))
	require.NoError(t, err)
	defer e.Close()
	for _, p := range e.Progs {
		require.NotEqual(t, elf.PT_INTERP, p.Type, "%s is static", binary)
	}
	libs, err := e.ImportedLibraries()
	require.NoError(t, err)
	require.Empty(t, libs, "%s links no shared library", binary)
}

// untar extracts r into dir and returns its regular files by absolute path. With strict, every
// directory must hold a file and every entry be a directory or a regular file owned by root.
func untar(t *testing.T, r io.Reader, dir string, strict bool) map[string]*tar.Header {
	t.Helper()
	files := map[string]*tar.Header{}
	var dirs []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		name := path.Clean("/" + h.Name)
		require.Equal(t, strings.TrimSuffix(h.Name, "/"), strings.TrimPrefix(name, "/"), "entry %q is a clean relative path", h.Name)
		if strict {
			require.Zero(t, h.Uid, "%s is owned by root", name)
			require.Zero(t, h.Gid, "%s is owned by root", name)
		}
		target := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			dirs = append(dirs, name)
			require.NoError(t, os.MkdirAll(target, 0o755))
		case tar.TypeReg:
			require.NoError(t, os.MkdirAll(filepath.Dir(target), 0o755))
			f, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(h.Mode).Perm())
			require.NoError(t, err, "%s appears once", name)
			_, err = io.Copy(f, tr)
			require.NoError(t, errors.Join(err, f.Close()))
			files[name] = h
		default:
			require.False(t, strict, "%s is a %q entry: only directories and regular files", name, h.Typeflag)
		}
	}
	if strict {
		for _, d := range dirs {
			holds := false
			for f := range files {
				holds = holds || strings.HasPrefix(f, d+"/")
			}
			require.True(t, holds, "directory %s holds a file", d)
		}
	}
	return files
}

// runFromImage runs the entrypoint's binary from the extracted rootfs, configured as a platform
// would (PORT) through the environment names of the contract, waits until the live probe and
// then the ready probe answer 200 and the metrics answer on the admin port, then stops it with
// SIGTERM and requires exit 0.
func runFromImage(t *testing.T, f contract.Function, rootfs, binary string, cf *v1.ConfigFile) {
	t.Helper()
	redisURL, redisPrefix := testenv.RedisURL(t)
	_, _, names := testenv.NATS(t)
	values := map[string]string{ // what each key the contract requires is set to
		"database.url": testenv.PostgresURL(t),
		"nats.url":     testenv.NATSURL(t),
		"redis.url":    redisURL,
	}
	port, admin := testenv.FreePort(t), testenv.FreePort(t)
	env := append(slices.Clone(cf.Config.Env), "SSL_CERT_FILE="+filepath.Join(rootfs, image.CAFile))
	set := func(key, value string) {
		t.Helper()
		i := slices.IndexFunc(f.Settings, func(s config.Setting) bool { return s.Key == key })
		require.GreaterOrEqual(t, i, 0, "%s has a setting %s", f.Name, key)
		env = append(env, f.Settings[i].Env[0]+"="+value)
	}
	for _, key := range f.Required {
		v, ok := values[key]
		require.True(t, ok, "the contract requires %s of %s: give it a value here", key, f.Name)
		set(key, v)
	}
	set("nats.prefix", names.Prefix)
	set("redis.prefix", redisPrefix)
	set("log.format", "text")
	// The platform's variable, as Knative Serving sets it.
	require.Contains(t, f.Platform, "PORT")
	env = append(env, "PORT="+strconv.Itoa(port))
	for _, p := range f.Ports {
		if p.Name == "metrics" {
			set(p.Setting, "127.0.0.1:"+strconv.Itoa(admin))
		}
	}
	if f.PushPath != "" { // an executor: due events come over HTTP, as on Knative
		for _, c := range f.Consumers {
			set(c.Setting, "push")
		}
	}
	if has(f, "host") {
		set("host", "127.0.0.1")
	}
	if has(f, "auth.signing_keys") {
		set("auth.signing_keys", testfactory.SigningKey(t))
	}
	if has(f, "audit.keys") {
		set("audit.keys", testfactory.AuditKey(t))
	}

	var out syncBuffer
	cmd := exec.Command(filepath.Join(rootfs, binary))
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, rootfs, &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", f.Name, out.String())
		}
	})

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for _, p := range []string{f.Probes.Live, f.Probes.Ready} {
		testenv.AwaitWithin(t, 60*time.Second, f.Name+" to answer "+p, func() (string, bool) {
			select {
			case <-done:
				t.Fatalf("%s exited before %s answered: %v\n%s", f.Name, p, cmd.ProcessState, out.String())
			default:
			}
			code, err := get(base + p)
			return fmt.Sprint(code, err), code == http.StatusOK
		})
	}
	code, err := get("http://127.0.0.1:" + strconv.Itoa(admin) + f.Metrics)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, code, "%s serves %s on its admin port", f.Name, f.Metrics)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-done:
	case <-time.After(testenv.Timeout(45 * time.Second)):
		t.Fatalf("%s did not exit after SIGTERM", f.Name)
	}
	require.Equal(t, 0, cmd.ProcessState.ExitCode(), "%s exits 0 on SIGTERM", f.Name)
}

func has(f contract.Function, key string) bool {
	return slices.ContainsFunc(f.Settings, func(s config.Setting) bool { return s.Key == key })
}

// get fetches url on a connection of its own and returns the status code.
func get(url string) (int, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// syncBuffer is a process's output, written by its copying goroutines and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
