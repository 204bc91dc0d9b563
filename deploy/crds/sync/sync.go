package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vecron/vecron/deploy/crds/provenance"
)

// download is what `go mod download -json` says of one module.
type download struct {
	Path, Version, Dir, Sum, Error string
}

// run copies every file of srcs into out, reads the scalers' keys and writes SOURCES. It
// refuses a *.yaml file in out that neither the table nor handWritten names, so SOURCES always
// covers the directory.
func run(ctx context.Context, out string, srcs []source, handWritten []string) error {
	var s provenance.Sources
	names := map[string]bool{}
	for _, src := range srcs {
		dl, err := modDownload(ctx, src.module, src.version)
		if err != nil {
			return err
		}
		s.Modules = append(s.Modules, provenance.Module{Path: dl.Path, Version: dl.Version, Sum: dl.Sum})
		for _, p := range src.files {
			data, err := os.ReadFile(filepath.Join(dl.Dir, filepath.FromSlash(p)))
			if err != nil {
				return fmt.Errorf("%s@%s: %w", src.module, src.version, err)
			}
			name := path.Base(p)
			if names[name] {
				return fmt.Errorf("%s: two sources copy a file of this name", name)
			}
			names[name] = true
			if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
				return err
			}
			s.Files = append(s.Files, provenance.File{Name: name, Module: src.module, Version: src.version, Path: p, SHA256: provenance.SHA256(data)})
			fmt.Printf("%s ← %s@%s %s\n", name, src.module, src.version, p)
		}
		for _, sc := range src.scalers {
			goSrc, err := os.ReadFile(filepath.Join(dl.Dir, filepath.FromSlash(sc.path)))
			if err != nil {
				return fmt.Errorf("%s@%s: %w", src.module, src.version, err)
			}
			params, err := scalerParams(goSrc, sc.structName)
			if err != nil {
				return fmt.Errorf("%s@%s %s: %w", src.module, src.version, sc.path, err)
			}
			s.Scalers = append(s.Scalers, provenance.Scaler{Type: sc.trigger, Module: src.module, Version: src.version,
				Path: sc.path, Struct: sc.structName, SHA256: provenance.SHA256(goSrc), Params: params})
			fmt.Printf("%s scaler: %d parameters from %s.%s\n", sc.trigger, len(params), sc.path, sc.structName)
		}
	}
	for _, name := range handWritten {
		data, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			return fmt.Errorf("hand-written schema: %w", err)
		}
		names[name] = true
		s.Files = append(s.Files, provenance.File{Name: name, SHA256: provenance.SHA256(data)})
		fmt.Printf("%s: %s\n", name, provenance.HandWritten)
	}
	present, err := filepath.Glob(filepath.Join(out, "*.yaml"))
	if err != nil {
		return err
	}
	for _, p := range present {
		if !names[filepath.Base(p)] {
			return fmt.Errorf("%s is neither copied nor listed as hand-written: remove it or add it to the table", p)
		}
	}
	slices.SortFunc(s.Files, func(a, b provenance.File) int { return strings.Compare(a.Name, b.Name) })
	return os.WriteFile(filepath.Join(out, provenance.FileName), s.Format(), 0o644)
}

// modDownload runs `go mod download -json module@version` in an empty directory, so no go.mod
// is read or changed, and returns where the module's files are.
func modDownload(ctx context.Context, module, version string) (*download, error) {
	dir, err := os.MkdirTemp("", "crds-sync-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GO111MODULE=on", "GOFLAGS=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, runErr := cmd.Output()
	var dl download
	if err := json.Unmarshal(raw, &dl); err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %v: %s", module, version, runErr, stderr.String())
	}
	if dl.Error != "" {
		return nil, fmt.Errorf("go mod download %s@%s: %s", module, version, dl.Error)
	}
	if runErr != nil || dl.Dir == "" {
		return nil, fmt.Errorf("go mod download %s@%s: %v: %s", module, version, runErr, stderr.String())
	}
	return &dl, nil
}
