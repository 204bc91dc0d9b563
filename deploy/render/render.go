// Package render renders the vecron Helm chart with the helm binary, built from the Go module
// proxy at a pinned version, so the checks read what `helm template` gives an operator and the
// deploy module never links helm's packages (they would lift the Kubernetes modules under the
// Knative types, docs/deploy.md §10).
package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const (
	// HelmVersion is the helm release the checks render with.
	HelmVersion = "v4.3.2"
	// HelmPackage is the main package go install builds helm from.
	HelmPackage = "helm.sh/helm/v4/cmd/helm"
)

// Helm runs one helm binary with a home of its own, so rendering reads no user's helm
// configuration, repositories or plugins.
type Helm struct {
	// Path is the helm binary.
	Path string
	// Home holds helm's cache, config and data directories.
	Home string
}

// CacheDir returns the directory the helm binary of HelmVersion is kept in between runs: under
// the user's cache directory, or the system's temporary directory when there is none.
func CacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "vecron", "helm-"+HelmVersion)
}

// Install returns the helm binary of HelmVersion in dir, building it there with `go install`
// when dir does not hold it yet, and how long the build took (0 when it was there). Concurrent
// installs into one dir are safe: each builds into a directory of its own and renames the
// binary into place. It returns an error with go's output when the build fails.
func Install(ctx context.Context, dir, home string) (*Helm, time.Duration, error) {
	h := &Helm{Path: filepath.Join(dir, "helm"), Home: home}
	if _, err := os.Stat(h.Path); err == nil {
		return h, 0, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, 0, fmt.Errorf("install helm: %w", err)
	}
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return nil, 0, fmt.Errorf("install helm: %w", err)
	}
	defer os.RemoveAll(gobin)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "install", HelmPackage+"@"+HelmVersion)
	// Outside any module, so helm builds in its own module graph; GOFLAGS=-mod=… of a caller
	// would not apply to it anyway.
	cmd.Dir = gobin
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOWORK=off", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("install helm: go install %s@%s: %w\n%s", HelmPackage, HelmVersion, err, out)
	}
	took := time.Since(start)
	if err := os.Rename(filepath.Join(gobin, "helm"), h.Path); err != nil {
		return nil, 0, fmt.Errorf("install helm: %w", err)
	}
	return h, took, nil
}

// Template returns the manifests `helm template` renders from the chart at chart for a
// release named release in namespace, with the values files given. It returns an error with
// helm's message when helm refuses the values (values.schema.json) or a template fails.
func (h *Helm) Template(ctx context.Context, chart, release, namespace string, values ...string) ([]byte, error) {
	args := []string{"template", release, chart, "--namespace", namespace}
	for _, v := range values {
		args = append(args, "--values", v)
	}
	out, err := h.run(ctx, args...)
	if err != nil {
		names := make([]string, len(values))
		for i, v := range values {
			names[i] = filepath.Base(v)
		}
		return nil, fmt.Errorf("helm template with %s: %w", strings.Join(names, ", "), err)
	}
	return out, nil
}

// Notes returns the NOTES.txt `helm install --dry-run=client` prints for a release named
// release in namespace, with the values files given (client-side: lookup finds nothing). It
// returns an error with helm's message when helm refuses the values or a template fails.
func (h *Helm) Notes(ctx context.Context, chart, release, namespace string, values ...string) (string, error) {
	args := []string{"install", release, chart, "--namespace", namespace, "--dry-run=client"}
	for _, v := range values {
		args = append(args, "--values", v)
	}
	out, err := h.run(ctx, args...)
	if err != nil {
		return "", fmt.Errorf("helm install --dry-run=client: %w", err)
	}
	_, notes, ok := strings.Cut(string(out), "\nNOTES:\n")
	if !ok {
		return "", fmt.Errorf("helm install --dry-run=client: no NOTES in its output")
	}
	return notes, nil
}

// Lint runs `helm lint --strict` on the chart with the values files given; a warning fails it.
// It returns an error with helm's report when it fails.
func (h *Helm) Lint(ctx context.Context, chart string, values ...string) error {
	args := []string{"lint", "--strict", chart}
	for _, v := range values {
		args = append(args, "--values", v)
	}
	if _, err := h.run(ctx, args...); err != nil {
		return fmt.Errorf("helm lint: %w", err)
	}
	return nil
}

// Package packages the chart at chart into dir with `helm package` and returns the archive's
// path. It returns an error with helm's message when helm refuses the chart.
func (h *Helm) Package(ctx context.Context, chart, dir string) (string, error) {
	out, err := h.run(ctx, "package", chart, "--destination", dir)
	if err != nil {
		return "", fmt.Errorf("helm package: %w", err)
	}
	// "Successfully packaged chart and saved it to: <path>"
	_, path, ok := strings.Cut(strings.TrimSpace(string(out)), ": ")
	if !ok {
		return "", fmt.Errorf("helm package: no archive named in %q", out)
	}
	return path, nil
}

func (h *Helm) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, h.Path, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(h.Home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(h.Home, "config"),
		"HELM_DATA_HOME="+filepath.Join(h.Home, "data"),
		// Rendering talks to no cluster; an operator's kubeconfig must not change what it gives.
		"KUBECONFIG="+filepath.Join(h.Home, "no-kubeconfig"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil, fmt.Errorf("%w\n%s%s", err, stderr.Bytes(), stdout.Bytes())
		}
		return nil, err
	}
	return stdout.Bytes(), nil
}

// Manifest is one YAML document of a render.
type Manifest struct {
	// Source is the template it came from, as helm's "# Source:" comment names it.
	Source string
	// Body is the document, comments included.
	Body []byte
}

// Split cuts a render into its documents at each "---" line, dropping the documents that
// hold only comments or whitespace (a template whose condition is off).
func Split(render []byte) []Manifest {
	var out []Manifest
	var doc []string
	flush := func() {
		var m Manifest
		empty := true
		for _, line := range doc {
			t := strings.TrimSpace(line)
			if src, ok := strings.CutPrefix(t, "# Source: "); ok && m.Source == "" {
				m.Source = src
			}
			if t != "" && !strings.HasPrefix(t, "#") {
				empty = false
			}
		}
		if !empty {
			m.Body = []byte(strings.Join(doc, "\n") + "\n")
			out = append(out, m)
		}
		doc = doc[:0]
	}
	for line := range strings.SplitSeq(string(render), "\n") {
		if line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t") {
			flush()
			continue
		}
		doc = append(doc, line)
	}
	flush()
	return out
}
