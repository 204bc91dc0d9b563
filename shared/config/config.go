// Package config loads a function's settings struct from layered sources: the struct's own
// values (the defaults), an optional YAML or JSON file, the environment, and command-line flags,
// each later layer overriding the earlier ones.
//
// A settings struct names its keys with `koanf:"snake_case"` tags; a nested struct is a section, so
//
//	type Settings struct {
//		Port int         `koanf:"port" usage:"HTTP listen port"`
//		Tick tick.Config `koanf:"tick"`
//	}
//
// has the keys "port" and "tick.batch_size" (when tick.Config has a `koanf:"batch_size"` field).
// The key "tick.batch_size" is read from
//
//	tick: {batch_size: 500}          the file (YAML or JSON)
//	VECRON_TICK__BATCH_SIZE=500      the environment (Options.Prefix, upper case, "__" between sections)
//	--tick.batch-size=500            a flag registered by BindFlags
//
// Settings may be of kind string, bool, int, int64 or float64, or of type time.Duration
// (written "1.5s", "250ms") or []string (a list in the file, comma-separated in the environment
// and in flags).
//
// The package never reads the process environment itself: main passes os.Environ() in
// Options.Environ. Error messages name the layer and the key, and never quote values of
// secret-looking keys or URL passwords.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
	yamlv3 "go.yaml.in/yaml/v3"
)

// Options says where Load reads settings from. The zero Options reads nothing, so Load leaves the
// defaults as they are.
type Options struct {
	// File is the path of an optional YAML (.yaml, .yml) or JSON (.json) file; "" reads no file.
	// A named file that does not exist is an error.
	File string
	// Environ is the process environment as os.Environ returns it, passed in by main.
	Environ []string
	// Prefix selects the environment variables that set keys, e.g. "VECRON_":
	// VECRON_TICK__BATCH_SIZE sets "tick.batch_size". Variables with the prefix that name no
	// setting are ignored, since several functions share one environment. "" disables the
	// prefixed variables (Aliases still apply).
	Prefix string
	// Aliases maps well-known unprefixed variables to keys, e.g. {"DATABASE_URL": "database.url"}.
	// A prefixed variable for the same key wins over its alias. Every key must name a setting.
	Aliases map[string]string
	// Flags is the parsed flag set on which BindFlags registered the settings; only flags the
	// user set override the other layers. Nil reads no flags.
	Flags *pflag.FlagSet
}

// Load fills dst, a pointer to a settings struct already holding its defaults, from the file,
// the environment and the flags named in opts, in that order, each overriding the one before.
// An empty environment variable counts as unset, and so does a null value in the file.
//
// Load reports every bad value at once; each error names the layer and the key, e.g.
// `env VECRON_TICK__BATCH_SIZE: invalid int "abc"` or `file vecron.yaml: tick.interval: invalid
// duration 30 (use a duration like 30s)`. It also fails if dst is not a pointer to a struct whose
// exported fields all have a supported type and a snake_case koanf tag, or if an alias names no
// setting. On error dst is unchanged.
func Load(dst any, opts Options) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("settings struct: want a non-nil pointer to a struct, got %T", dst)
	}
	set, err := newSchema(rv.Elem())
	if err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(opts.Aliases)) {
		if key := opts.Aliases[name]; set.leaves[key] == nil {
			return fmt.Errorf("alias %s: no setting %q", name, key)
		}
	}

	// Each layer is read and checked on its own, so an error can name where the value came from;
	// only values already converted to their Go types reach the merged configuration.
	merged := koanf.New(".")
	defaults := make(map[string]any, len(set.list))
	for _, st := range set.list {
		defaults[st.key] = set.current(st).Interface()
	}
	if err := merged.Load(confmap.Provider(defaults, "."), nil); err != nil {
		return fmt.Errorf("defaults: %w", err)
	}
	var errs []error
	for _, l := range layers(set, opts) {
		vals, err := l.read(set)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := merged.Load(confmap.Provider(vals, "."), nil); err != nil {
			return fmt.Errorf("merge %s: %w", l.name, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	// Decode into a copy so that dst is untouched on error. ZeroFields makes mapstructure build
	// new slices instead of overwriting the backing array of the default's slice in place.
	out := reflect.New(rv.Elem().Type())
	out.Elem().Set(rv.Elem())
	err = merged.UnmarshalWithConf("", out.Interface(), koanf.UnmarshalConf{
		DecoderConfig: &mapstructure.DecoderConfig{TagName: tagName, ZeroFields: true},
	})
	if err != nil {
		return fmt.Errorf("decode settings: %w", err)
	}
	rv.Elem().Set(out.Elem())
	return nil
}

// layer is one source of settings.
type layer struct {
	name   string // "file vecron.yaml", "env", "flag"
	ko     func() (*koanf.Koanf, error)
	source func(key string) string // where key came from, for errors
}

// read loads the layer and converts the values of known keys to their Go types. Keys that name
// no setting are dropped.
func (l layer) read(set *schema) (map[string]any, error) {
	ko, err := l.ko()
	if err != nil {
		return nil, err
	}
	raw := ko.All()
	vals := make(map[string]any, len(raw))
	var errs []error
	bad := func(key string, err error) { errs = append(errs, fmt.Errorf("%s: %w", l.source(key), err)) }
	reported := map[string]bool{}
	for _, key := range ko.Keys() { // sorted, so errors come in a stable order
		v := raw[key]
		if v == nil {
			continue // null in a file: not set
		}
		if s, ok := set.leaves[key]; ok {
			if v, err := s.convert(v); err != nil {
				bad(key, err)
			} else {
				vals[key] = v
			}
			continue
		}
		if set.sections[key] {
			if m, ok := v.(map[string]any); !ok || len(m) > 0 {
				bad(key, fmt.Errorf("want a section of settings, got %s", typeOf(v)))
			}
			continue
		}
		// "tick.batch_size.x" means the file has a mapping where tick.batch_size wants a value.
		if parent, ok := set.leafAbove(key); ok && !reported[parent] {
			reported[parent] = true
			bad(parent, fmt.Errorf("want %s, got a mapping", set.leaves[parent].kind))
		}
	}
	return vals, errors.Join(errs...)
}

// layers lists the sources named by opts, lowest precedence first.
func layers(set *schema, opts Options) []layer {
	var ls []layer
	if opts.File != "" {
		name := "file " + opts.File
		ls = append(ls, layer{
			name:   name,
			ko:     func() (*koanf.Koanf, error) { return loadFile(opts.File) },
			source: func(key string) string { return name + ": " + key },
		})
	}
	environ := func() []string { return opts.Environ } // never nil: env.Provider falls back to os.Environ
	if len(opts.Aliases) > 0 {
		vars := map[string]string{}
		ls = append(ls, layer{
			name: "env aliases",
			ko: func() (*koanf.Koanf, error) {
				ko := koanf.New(".")
				err := ko.Load(env.Provider(".", env.Opt{
					EnvironFunc: environ,
					TransformFunc: func(name, v string) (string, any) {
						key, ok := opts.Aliases[name]
						if !ok || v == "" {
							return "", nil
						}
						vars[key] = name
						return key, v
					},
				}), nil)
				return ko, err
			},
			source: func(key string) string { return "env " + vars[key] },
		})
	}
	if opts.Prefix != "" {
		vars := map[string]string{}
		ls = append(ls, layer{
			name: "env",
			ko: func() (*koanf.Koanf, error) {
				ko := koanf.New(".")
				err := ko.Load(env.Provider(".", env.Opt{
					Prefix:      opts.Prefix,
					EnvironFunc: environ,
					TransformFunc: func(name, v string) (string, any) {
						key := envKey(opts.Prefix, name)
						// Only exact settings: an unrelated VECRON_TICK next to VECRON_TICK__X
						// would otherwise collide when the provider unflattens the keys.
						if _, ok := set.leaves[key]; !ok || v == "" {
							return "", nil
						}
						vars[key] = name
						return key, v
					},
				}), nil)
				return ko, err
			},
			source: func(key string) string { return "env " + vars[key] },
		})
	}
	if opts.Flags != nil {
		fs := opts.Flags
		ls = append(ls, layer{
			name: "flag",
			ko: func() (*koanf.Koanf, error) {
				ko := koanf.New(".")
				// A nil koanf makes posflag skip every flag the user did not set.
				err := ko.Load(posflag.ProviderWithFlag(fs, ".", nil, func(f *pflag.Flag) (string, any) {
					key := flagKey(f.Name)
					if _, ok := set.leaves[key]; !ok {
						return "", nil
					}
					return key, posflag.FlagVal(fs, f)
				}), nil)
				return ko, err
			},
			source: func(key string) string { return "flag --" + flagName(key) },
		})
	}
	return ls
}

// loadFile parses the YAML or JSON file at path.
func loadFile(path string) (*koanf.Koanf, error) {
	name := "file " + path
	var parser koanf.Parser
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".yaml", ".yml":
		parser = yaml.Parser()
	case ".json":
		parser = jsonParser{}
	default:
		return nil, fmt.Errorf("%s: unsupported extension %q (want .yaml, .yml or .json)", name, ext)
	}
	ko := koanf.New(".")
	err := ko.Load(file.Provider(path), parser)
	var (
		pathErr *fs.PathError
		typeErr *yamlv3.TypeError
	)
	switch {
	case err == nil:
		return ko, nil
	case errors.As(err, &pathErr):
		return nil, fmt.Errorf("%s: %w", name, pathErr.Err)
	case errors.As(err, &typeErr):
		// The YAML type error quotes the offending text, which may be a secret.
		return nil, fmt.Errorf("%s: want a mapping of settings at the top level", name)
	default:
		return nil, fmt.Errorf("%s: %w", name, err)
	}
}

// envKey maps a prefixed variable name to a key: VECRON_TICK__BATCH_SIZE → tick.batch_size.
func envKey(prefix, name string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(name, prefix)), "__", ".")
}

// envName maps a key to its prefixed variable name: tick.batch_size → VECRON_TICK__BATCH_SIZE.
func envName(prefix, key string) string {
	return prefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

// flagName maps a key to its flag name: tick.batch_size → tick.batch-size.
func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }

// flagKey maps a flag name to its key: tick.batch-size → tick.batch_size.
func flagKey(name string) string { return strings.ReplaceAll(name, "-", "_") }
