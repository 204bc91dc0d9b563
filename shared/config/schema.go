package config

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"time"
)

// tagName is the struct tag that names a setting's key.
const tagName = "koanf"

// schema is the list of settings of one settings struct.
type schema struct {
	root     reflect.Value       // the struct, to read current values
	list     []*setting          // in field order
	leaves   map[string]*setting // by key
	sections map[string]bool     // keys of nested structs
}

// setting is one leaf of a settings struct.
type setting struct {
	key   string // "tick.batch_size"
	field string // "Settings.Tick.BatchSize", for errors about the struct itself
	index []int  // for reflect.Value.FieldByIndex
	kind  kind
	usage string
}

// keyPart is one snake_case segment of a key. Leading, trailing or doubled underscores would make
// the environment variable name ambiguous, since "__" separates sections there.
var keyPart = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// squash is the tag of an embedded struct whose settings are the embedding struct's own, at the
// same level: `koanf:",squash"` (mapstructure's spelling, which decodes it).
const squash = ",squash"

// newSchema walks the struct v. It fails on an exported field with no koanf tag, a tag that is
// not snake_case, a duplicate key, an embedded field not tagged squash or an unsupported type.
func newSchema(v reflect.Value) (*schema, error) {
	s := &schema{root: v, leaves: map[string]*setting{}, sections: map[string]bool{}}
	if err := s.walk(v.Type(), v.Type().Name(), "", nil); err != nil {
		return nil, fmt.Errorf("settings struct: %w", err)
	}
	return s, nil
}

func (s *schema) walk(t reflect.Type, goPath, keyPath string, index []int) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, tagged := f.Tag.Lookup(tagName)
		field := goPath + "." + f.Name
		switch {
		case tag == "-":
			continue
		case f.Anonymous && tag == squash && f.IsExported() && f.Type.Kind() == reflect.Struct:
			if err := s.walk(f.Type, field, keyPath, append(index[:len(index):len(index)], i)); err != nil {
				return err
			}
			continue
		case f.Anonymous:
			// Even an unexported embedded struct promotes its exported fields.
			return fmt.Errorf("field %s: embedded fields are not supported unless an exported struct tagged %s:%q; name the field", field, tagName, squash)
		case !f.IsExported():
			continue
		case !tagged:
			return fmt.Errorf("field %s: no %s tag", field, tagName)
		case !keyPart.MatchString(tag):
			return fmt.Errorf("field %s: tag %s:%q is not a snake_case name", field, tagName, tag)
		}
		key := tag
		if keyPath != "" {
			key = keyPath + "." + tag
		}
		if _, dup := s.leaves[key]; dup || s.sections[key] {
			return fmt.Errorf("field %s: duplicate key %q", field, key)
		}
		idx := append(index[:len(index):len(index)], i)
		if k, ok := kindOf(f.Type); ok {
			st := &setting{key: key, field: field, index: idx, kind: k, usage: f.Tag.Get("usage")}
			s.list = append(s.list, st)
			s.leaves[key] = st
			continue
		}
		if f.Type.Kind() != reflect.Struct {
			return fmt.Errorf("field %s: unsupported type %s", field, f.Type)
		}
		s.sections[key] = true
		if err := s.walk(f.Type, field, key, idx); err != nil {
			return err
		}
	}
	return nil
}

// leafAbove returns the setting whose key is a proper prefix of key, if any.
func (s *schema) leafAbove(key string) (string, bool) {
	for i := range len(key) {
		if key[i] == '.' {
			if _, ok := s.leaves[key[:i]]; ok {
				return key[:i], true
			}
		}
	}
	return "", false
}

// current returns the value st holds in the struct.
func (s *schema) current(st *setting) reflect.Value { return s.root.FieldByIndex(st.index) }

// kind is the type of a setting.
type kind int

const (
	kindString kind = iota + 1
	kindBool
	kindInt
	kindInt64
	kindFloat64
	kindDuration
	kindStrings
)

// kindOf returns the kind of a field of type t, or false if t is not a supported leaf type.
func kindOf(t reflect.Type) (kind, bool) {
	if t == reflect.TypeFor[time.Duration]() {
		return kindDuration, true
	}
	switch t.Kind() {
	case reflect.String:
		return kindString, true
	case reflect.Bool:
		return kindBool, true
	case reflect.Int:
		return kindInt, true
	case reflect.Int64:
		return kindInt64, true
	case reflect.Float64:
		return kindFloat64, true
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return kindStrings, true
		}
	}
	return 0, false
}

// String names the kind as Describe reports it.
func (k kind) String() string {
	switch k {
	case kindString:
		return "string"
	case kindBool:
		return "bool"
	case kindInt:
		return "int"
	case kindInt64:
		return "int64"
	case kindFloat64:
		return "float64"
	case kindDuration:
		return "duration"
	case kindStrings:
		return "[]string"
	}
	return "kind(" + fmt.Sprint(int(k)) + ")"
}

// isSecret reports whether key looks like it holds a credential, whose value is never shown.
func isSecret(key string) bool {
	key = strings.ToLower(key)
	for _, w := range [...]string{"password", "secret", "token", "key", "credential"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}
