// Package provenance reads and writes deploy/crds/SOURCES: where each vendored schema file came
// from (module, version, path) and its sha256, and the KEDA scaler metadata keys read from the
// same module's source. It is apart from package crds so that the sync program, which writes
// SOURCES, builds when SOURCES does not exist yet.
package provenance

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// FileName is the name of the provenance file beside the schemas.
const FileName = "SOURCES"

// HandWritten marks a file in SOURCES that no module publishes: it was written here from the
// documented fields of its kind, and is named as such wherever it is used.
const HandWritten = "hand-written"

// Sources is the provenance of the files in this directory, as SOURCES records it: where each
// vendored file came from and its sha256, and the scaler metadata keys read from KEDA's source.
type Sources struct {
	Modules []Module
	Files   []File
	Scalers []Scaler
}

// Module is one module the files were taken from, with the hash go.sum would hold for it.
type Module struct {
	Path, Version, Sum string
}

// File is one schema file of this directory.
type File struct {
	Name    string // base name in deploy/crds
	Module  string // module path; empty for a hand-written file
	Version string
	Path    string // path inside the module
	SHA256  string // lowercase hex of the file's bytes
}

// IsHandWritten reports whether no module publishes f.
func (f File) IsHandWritten() bool { return f.Module == "" }

// Scaler is one KEDA scaler whose trigger metadata keys were read from its Go source.
type Scaler struct {
	Type    string // trigger type, e.g. nats-jetstream
	Module  string
	Version string
	Path    string // the Go file inside the module
	Struct  string // the metadata struct whose keda tags name the keys
	SHA256  string // of the Go file
	Params  []Param
}

// Param is one field of a scaler's metadata struct, from its `keda:"…"` tag.
type Param struct {
	Names      []string // every key that sets it (KEDA's name=a;b)
	Order      []string // where KEDA looks: triggerMetadata, authParams, resolvedEnv
	Optional   bool
	Default    string
	HasDefault bool
	Deprecated string // non-empty: setting the key is an error with this message
}

// The three places KEDA reads a parameter from (scalersconfig.ParsingOrder).
const (
	OrderTriggerMetadata = "triggerMetadata"
	OrderAuthParams      = "authParams"
	OrderResolvedEnv     = "resolvedEnv"
)

// Required reports whether KEDA refuses a trigger that gives p nowhere.
func (p Param) Required() bool {
	return !p.Optional && !p.HasDefault && p.Deprecated == ""
}

// sourcesHeader explains the format to whoever opens the file; it is written and skipped as is.
const sourcesHeader = `# Provenance of the files beside this one. Written by ` + "`go generate ./crds`" + ` in deploy/
# (deploy/crds/sync): change the table in sync/main.go and run it again, never edit this file.
# The tests check every file here against its sha256 and read no network.
#
# module <path> <version> <go.sum hash of the module>
# file <name> <module> <version> <path in the module> sha256:<hex>
# file <name> hand-written sha256:<hex>
# scaler <trigger type> <module> <version> <Go file in the module> <struct> sha256:<hex of the Go file>
# param <trigger type> <key>[;<key>…] order=<where>[;<where>…] [optional] [default="…"] [deprecated="…"]
`

var (
	hexSHA256 = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	token     = regexp.MustCompile(`^[^\s"]+$`)
)

// Format returns s as the text of SOURCES. It is the inverse of Parse.
func (s *Sources) Format() []byte {
	var b bytes.Buffer
	b.WriteString(sourcesHeader)
	b.WriteByte('\n')
	for _, m := range s.Modules {
		fmt.Fprintf(&b, "module %s %s %s\n", m.Path, m.Version, m.Sum)
	}
	b.WriteByte('\n')
	for _, f := range s.Files {
		if f.IsHandWritten() {
			fmt.Fprintf(&b, "file %s %s sha256:%s\n", f.Name, HandWritten, f.SHA256)
			continue
		}
		fmt.Fprintf(&b, "file %s %s %s %s sha256:%s\n", f.Name, f.Module, f.Version, f.Path, f.SHA256)
	}
	for _, sc := range s.Scalers {
		b.WriteByte('\n')
		fmt.Fprintf(&b, "scaler %s %s %s %s %s sha256:%s\n", sc.Type, sc.Module, sc.Version, sc.Path, sc.Struct, sc.SHA256)
		for _, p := range sc.Params {
			fmt.Fprintf(&b, "param %s %s order=%s", sc.Type, strings.Join(p.Names, ";"), strings.Join(p.Order, ";"))
			if p.Optional {
				b.WriteString(" optional")
			}
			if p.HasDefault {
				fmt.Fprintf(&b, " default=%s", strconv.Quote(p.Default))
			}
			if p.Deprecated != "" {
				fmt.Fprintf(&b, " deprecated=%s", strconv.Quote(p.Deprecated))
			}
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Parse reads the text of SOURCES. It returns an error naming the line that does not
// parse, a file or scaler listed twice, or a param of a scaler not declared before it.
func Parse(data []byte) (*Sources, error) {
	s := &Sources{}
	files := map[string]bool{}
	scalers := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f, err := fields(line)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", FileName, n, err)
		}
		if err := s.parseLine(f, files, scalers); err != nil {
			return nil, fmt.Errorf("%s line %d: %w", FileName, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", FileName, err)
	}
	return s, nil
}

func (s *Sources) parseLine(f []string, files map[string]bool, scalers map[string]int) error {
	switch f[0] {
	case "module":
		if len(f) != 4 {
			return fmt.Errorf("module: want path, version and sum, got %d fields", len(f)-1)
		}
		s.Modules = append(s.Modules, Module{Path: f[1], Version: f[2], Sum: f[3]})
	case "file":
		var file File
		switch {
		case len(f) == 4 && f[2] == HandWritten:
			file = File{Name: f[1], SHA256: f[3]}
		case len(f) == 6:
			file = File{Name: f[1], Module: f[2], Version: f[3], Path: f[4], SHA256: f[5]}
		default:
			return fmt.Errorf("file: want name, module, version, path and sha256 (or name, %s, sha256)", HandWritten)
		}
		if !hexSHA256.MatchString(file.SHA256) {
			return fmt.Errorf("file %s: sha256 %q is not sha256:<64 lowercase hex>", file.Name, file.SHA256)
		}
		file.SHA256 = strings.TrimPrefix(file.SHA256, "sha256:")
		if files[file.Name] {
			return fmt.Errorf("file %s listed twice", file.Name)
		}
		files[file.Name] = true
		s.Files = append(s.Files, file)
	case "scaler":
		if len(f) != 7 {
			return fmt.Errorf("scaler: want type, module, version, path, struct and sha256, got %d fields", len(f)-1)
		}
		if !hexSHA256.MatchString(f[6]) {
			return fmt.Errorf("scaler %s: sha256 %q is not sha256:<64 lowercase hex>", f[1], f[6])
		}
		if _, dup := scalers[f[1]]; dup {
			return fmt.Errorf("scaler %s listed twice", f[1])
		}
		scalers[f[1]] = len(s.Scalers)
		s.Scalers = append(s.Scalers, Scaler{Type: f[1], Module: f[2], Version: f[3], Path: f[4], Struct: f[5],
			SHA256: strings.TrimPrefix(f[6], "sha256:")})
	case "param":
		if len(f) < 4 {
			return fmt.Errorf("param: want a scaler, keys and order=")
		}
		i, ok := scalers[f[1]]
		if !ok {
			return fmt.Errorf("param: scaler %s is not declared above", f[1])
		}
		p, err := parseParam(f[2:])
		if err != nil {
			return fmt.Errorf("param %s %s: %w", f[1], f[2], err)
		}
		s.Scalers[i].Params = append(s.Scalers[i].Params, p)
	default:
		return fmt.Errorf("unknown record %q (want module, file, scaler or param)", f[0])
	}
	return nil
}

func parseParam(f []string) (Param, error) {
	p := Param{Names: strings.Split(f[0], ";")}
	for _, opt := range f[1:] {
		key, val, _ := strings.Cut(opt, "=")
		switch key {
		case "order":
			p.Order = strings.Split(val, ";")
			for _, o := range p.Order {
				if !slices.Contains([]string{OrderTriggerMetadata, OrderAuthParams, OrderResolvedEnv}, o) {
					return p, fmt.Errorf("order %q: want %s, %s or %s", o, OrderTriggerMetadata, OrderAuthParams, OrderResolvedEnv)
				}
			}
		case "optional":
			p.Optional = true
		case "default", "deprecated":
			v, err := strconv.Unquote(val)
			if err != nil {
				return p, fmt.Errorf("%s: want a quoted string: %w", key, err)
			}
			if key == "default" {
				p.Default, p.HasDefault = v, true
			} else {
				p.Deprecated = v
			}
		default:
			return p, fmt.Errorf("unknown option %q", opt)
		}
	}
	if len(p.Order) == 0 {
		return p, fmt.Errorf("no order=")
	}
	return p, nil
}

// fields splits a line at spaces, keeping a quoted value (key="a b") in one field.
func fields(line string) ([]string, error) {
	var out []string
	for line != "" {
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		if eq := strings.Index(line[:end], `="`); eq >= 0 {
			q, err := strconv.QuotedPrefix(line[eq+1:])
			if err != nil {
				return nil, fmt.Errorf("unterminated quoted value in %q", line[:end])
			}
			end = eq + 1 + len(q)
			if end < len(line) && line[end] != ' ' && line[end] != '\t' {
				return nil, fmt.Errorf("text after a quoted value in %q", line)
			}
		} else if !token.MatchString(line[:end]) {
			return nil, fmt.Errorf("stray quote in %q", line[:end])
		}
		out = append(out, line[:end])
		line = strings.TrimLeft(line[end:], " \t")
	}
	return out, nil
}

// SHA256 is the lowercase hex sha256 of data, as SOURCES records it.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
