// Package crds validates manifests of the custom resources vecron's deployment uses — KEDA's
// ScaledObject and TriggerAuthentication, prometheus-operator's PodMonitor, ServiceMonitor and
// PrometheusRule, eventing-natss's NatsJetStreamChannel — against the schemas their projects
// publish, without compiling their Go types (KEDA's take minutes to build, prometheus-operator's
// need a newer Kubernetes than Knative's).
//
// The CRD files are copied into this directory by `go generate ./crds` (the sync program), which
// records where each came from and its sha256 in SOURCES; Load refuses a file that does not
// match. NatsJetStreamChannel's schema is hand-written (the module proxy does not serve
// eventing-natss) and SOURCES says so. KEDA's CRD types a trigger's metadata as a free map of
// strings, so the keys each covered scaler reads — taken from the keda tags of its metadata
// struct at sync time — are checked as well.
package crds

//go:generate go run ./sync -out .

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/vecron/vecron/deploy/crds/provenance"
)

//go:embed SOURCES *.yaml
var embedded embed.FS

// ErrUnknownKind is returned (wrapped) for a manifest whose apiVersion and kind have no schema
// here: a kind not covered, or a version its CRD does not serve.
var ErrUnknownKind = errors.New("no schema for this apiVersion and kind")

// Set is the compiled schemas of a directory of CRD files, by apiVersion and kind. It is safe
// for concurrent use.
type Set struct {
	schemas map[typeKey]*jsonschema.Schema
	served  map[string][]string          // kind → its served apiVersions, for error messages
	scalers map[string]provenance.Scaler // KEDA trigger type → its metadata keys
	sources *provenance.Sources
}

type typeKey struct{ apiVersion, kind string }

// Load compiles the files embedded in this package. It returns an error when a file does not
// match its sha256 in SOURCES, a file is missing from either side, or a schema does not convert.
func Load() (*Set, error) {
	return LoadFS(embedded)
}

// LoadFS is Load for the files of fsys (SOURCES and the *.yaml CRD files at its root).
func LoadFS(fsys fs.FS) (*Set, error) {
	raw, err := fs.ReadFile(fsys, provenance.FileName)
	if err != nil {
		return nil, fmt.Errorf("load crds: %w", err)
	}
	src, err := provenance.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("load crds: %w", err)
	}
	if err := Verify(fsys, src); err != nil {
		return nil, fmt.Errorf("load crds: %w", err)
	}
	s := &Set{
		schemas: map[typeKey]*jsonschema.Schema{},
		served:  map[string][]string{},
		scalers: map[string]provenance.Scaler{},
		sources: src,
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for _, f := range src.Files {
		data, err := fs.ReadFile(fsys, f.Name)
		if err != nil {
			return nil, fmt.Errorf("load crds: %w", err)
		}
		crd, err := ParseCRD(data)
		if err != nil {
			return nil, fmt.Errorf("load crds: %s: %w", f.Name, err)
		}
		for _, v := range crd.Versions {
			if !v.Served {
				continue
			}
			loc := "file:///" + f.Name + "/" + v.Name
			if err := c.AddResource(loc, v.Schema); err != nil {
				return nil, fmt.Errorf("load crds: %s %s: %w", f.Name, v.Name, err)
			}
			sch, err := c.Compile(loc)
			if err != nil {
				return nil, fmt.Errorf("load crds: %s %s: %w", f.Name, v.Name, err)
			}
			key := typeKey{crd.Group + "/" + v.Name, crd.Kind}
			if _, dup := s.schemas[key]; dup {
				return nil, fmt.Errorf("load crds: %s %s defined twice", key.apiVersion, key.kind)
			}
			s.schemas[key] = sch
			s.served[crd.Kind] = append(s.served[crd.Kind], key.apiVersion)
		}
	}
	for _, sc := range src.Scalers {
		s.scalers[sc.Type] = sc
	}
	return s, nil
}

// Verify checks that the *.yaml files at the root of fsys are exactly those src lists, each with
// its sha256. It returns an error naming every file that differs.
func Verify(fsys fs.FS, src *provenance.Sources) error {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return err
	}
	var errs []error
	listed := map[string]bool{}
	for _, f := range src.Files {
		listed[f.Name] = true
		data, err := fs.ReadFile(fsys, f.Name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: listed in %s but not readable: %w", f.Name, provenance.FileName, err))
			continue
		}
		if got := provenance.SHA256(data); got != f.SHA256 {
			errs = append(errs, fmt.Errorf("%s: sha256 %s, %s says %s (run go generate ./crds, never edit a copied file)",
				f.Name, got, provenance.FileName, f.SHA256))
		}
	}
	for _, n := range names {
		if !listed[n] {
			errs = append(errs, fmt.Errorf("%s: not listed in %s", n, provenance.FileName))
		}
	}
	return errors.Join(errs...)
}

// Sources returns the provenance the set was loaded with.
func (s *Set) Sources() *provenance.Sources { return s.sources }

// Has reports whether s holds a schema for apiVersion and kind.
func (s *Set) Has(apiVersion, kind string) bool {
	_, ok := s.schemas[typeKey{apiVersion, kind}]
	return ok
}

// Kinds returns "apiVersion kind" for every schema in s, sorted.
func (s *Set) Kinds() []string {
	out := make([]string, 0, len(s.schemas))
	for k := range s.schemas {
		out = append(out, k.apiVersion+" "+k.kind)
	}
	slices.Sort(out)
	return out
}

// FieldError is one place where a manifest departs from its schema.
type FieldError struct {
	Path   string // e.g. spec.triggers[0].metadata.lagthreshold
	Reason string
}

// InvalidError lists every FieldError of one manifest.
type InvalidError struct {
	APIVersion, Kind, Name string
	Fields                 []FieldError
}

func (e *InvalidError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %q (%s) is invalid:", e.Kind, e.Name, e.APIVersion)
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "\n  %s: %s", f.Path, f.Reason)
	}
	return b.String()
}

// Validate checks a decoded manifest (as from YAML or JSON) against the schema of its
// apiVersion and kind, and a KEDA trigger's metadata against the keys its scaler reads. It
// returns an error wrapping ErrUnknownKind when s has no such schema, an *InvalidError naming
// every offending path, or an error when the manifest cannot be read as JSON.
func (s *Set) Validate(manifest map[string]any) error {
	apiVersion, _ := manifest["apiVersion"].(string)
	kindName, _ := manifest["kind"].(string)
	if apiVersion == "" || kindName == "" {
		return fmt.Errorf("validate manifest: apiVersion and kind must be non-empty strings")
	}
	sch, ok := s.schemas[typeKey{apiVersion, kindName}]
	if !ok {
		if served := s.served[kindName]; len(served) > 0 {
			return fmt.Errorf("%s %s: %w (served: %s)", apiVersion, kindName, ErrUnknownKind, strings.Join(served, ", "))
		}
		return fmt.Errorf("%s %s: %w", apiVersion, kindName, ErrUnknownKind)
	}
	// A round trip through JSON gives the validator the types it knows (json.Number, []any,
	// map[string]any) whatever decoded the manifest.
	raw, err := json.Marshal(manifest)
	if err != nil {
		return fmt.Errorf("validate %s: %w", kindName, err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("validate %s: %w", kindName, err)
	}
	md, _ := manifest["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	invalid := &InvalidError{APIVersion: apiVersion, Kind: kindName, Name: name}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("validate %s %q: %w", kindName, name, err)
		}
		invalid.Fields = fieldErrors(ve, inst, message.NewPrinter(language.English))
	}
	if strings.HasPrefix(apiVersion, "keda.sh/") && kindName == "ScaledObject" {
		invalid.Fields = append(invalid.Fields, s.checkTriggers(inst)...)
	}
	if len(invalid.Fields) == 0 {
		return nil
	}
	slices.SortFunc(invalid.Fields, func(a, b FieldError) int {
		return strings.Compare(a.Path+"\x00"+a.Reason, b.Path+"\x00"+b.Reason)
	})
	invalid.Fields = slices.Compact(invalid.Fields)
	return invalid
}

// fieldErrors flattens the validator's tree into one FieldError per leaf, with the unknown or
// missing field's name in the path rather than in the reason.
func fieldErrors(ve *jsonschema.ValidationError, inst any, p *message.Printer) []FieldError {
	if len(ve.Causes) > 0 {
		var out []FieldError
		for _, c := range ve.Causes {
			out = append(out, fieldErrors(c, inst, p)...)
		}
		return out
	}
	at := fieldPath(inst, ve.InstanceLocation)
	switch k := ve.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		out := make([]FieldError, 0, len(k.Properties))
		for _, prop := range k.Properties {
			out = append(out, FieldError{Path: join(at, prop), Reason: "unknown field"})
		}
		return out
	case *kind.Required:
		out := make([]FieldError, 0, len(k.Missing))
		for _, m := range k.Missing {
			out = append(out, FieldError{Path: join(at, m), Reason: "required field missing"})
		}
		return out
	}
	return []FieldError{{Path: cmp.Or(at, "(root)"), Reason: ve.ErrorKind.LocalizedString(p)}}
}

// fieldPath writes a JSON pointer's tokens as kubectl explains fields: spec.triggers[0].type,
// metadata.labels["app.kubernetes.io/name"]. The instance tells an index from a key.
func fieldPath(inst any, tokens []string) string {
	var b strings.Builder
	cur := inst
	for _, t := range tokens {
		switch c := cur.(type) {
		case []any:
			b.WriteString("[" + t + "]")
			if i, err := strconv.Atoi(t); err == nil && i >= 0 && i < len(c) {
				cur = c[i]
			} else {
				cur = nil
			}
		case map[string]any:
			b.WriteString(key(b.Len() == 0, t))
			cur = c[t]
		default:
			b.WriteString(key(b.Len() == 0, t))
			cur = nil
		}
	}
	return b.String()
}

func join(at, field string) string { return at + key(at == "", field) }

func key(first bool, k string) string {
	plain := k != "" && strings.IndexFunc(k, func(r rune) bool {
		return !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0
	switch {
	case !plain:
		return "[" + strconv.Quote(k) + "]"
	case first:
		return k
	default:
		return "." + k
	}
}
