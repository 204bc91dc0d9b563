// Package eventschema reads the JSON Schemas of the lifecycle events (docs/events/<type>.schema.json,
// draft 2020-12) and validates events against them, so that tests hold what is sent to what is
// documented. Only tests link it.
package eventschema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// suffix ends the name of every schema file; the type is what comes before it.
const suffix = ".schema.json"

// Set is the compiled schemas of one directory, by event type.
type Set struct {
	schemas map[string]*jsonschema.Schema
}

// Load compiles every <type>.schema.json in dir. Formats (date-time) are asserted, not only
// annotated. It returns an error naming the file that does not read or compile.
func Load(dir string) (*Set, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*"+suffix))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	s := &Set{schemas: map[string]*jsonschema.Schema{}}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		loc := "file:///" + filepath.Base(f)
		if err := c.AddResource(loc, doc); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		sch, err := c.Compile(loc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		s.schemas[strings.TrimSuffix(filepath.Base(f), suffix)] = sch
	}
	return s, nil
}

// Types returns the types that have a schema, sorted.
func (s *Set) Types() []string {
	out := make([]string, 0, len(s.schemas))
	for t := range s.schemas {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// Validate checks ev, in the CloudEvents JSON format, against the schema of its type. It returns
// an error when there is none, or saying where ev departs from it.
func (s *Set) Validate(ev cloudevents.Event) error {
	sch, ok := s.schemas[ev.Type()]
	if !ok {
		return fmt.Errorf("event %s: no schema for type %q", ev.ID(), ev.Type())
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID(), err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.ID(), err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("event %s (%s): %w", ev.ID(), ev.Type(), err)
	}
	return nil
}
