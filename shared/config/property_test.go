package config_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/config"
)

type propSection struct {
	Wait time.Duration `koanf:"wait"`
	Name string        `koanf:"name"`
}

type propSettings struct {
	Count int         `koanf:"count"`
	On    bool        `koanf:"on"`
	Sec   propSection `koanf:"sec"`
}

// propLayer is one layer above the defaults, lowest precedence first.
type propLayer int

const (
	layerFile propLayer = iota
	layerAlias
	layerEnv
	layerFlag
	layerCount
)

// propKey is one setting of propSettings with its value in each layer.
type propKey struct {
	key, alias, env, flag string
	get                   func(*propSettings) any
	set                   func(*propSettings, string) // from the text form
}

func propKeys() []propKey {
	return []propKey{
		{
			key: "count", alias: "COUNT", env: "VECRON_COUNT", flag: "count",
			get: func(s *propSettings) any { return s.Count },
		},
		{
			key: "on", alias: "ON", env: "VECRON_ON", flag: "on",
			get: func(s *propSettings) any { return s.On },
		},
		{
			key: "sec.wait", alias: "WAIT", env: "VECRON_SEC__WAIT", flag: "sec.wait",
			get: func(s *propSettings) any { return s.Sec.Wait },
		},
		{
			key: "sec.name", alias: "NAME", env: "VECRON_SEC__NAME", flag: "sec.name",
			get: func(s *propSettings) any { return s.Sec.Name },
		},
	}
}

// drawValue draws a value for key and returns it with its text form.
func drawValue(t *rapid.T, key, label string) (any, string) {
	switch key {
	case "count":
		n := rapid.Int().Draw(t, label)
		return n, strconv.Itoa(n)
	case "on":
		b := rapid.Bool().Draw(t, label)
		return b, strconv.FormatBool(b)
	case "sec.wait":
		d := time.Duration(rapid.Int64().Draw(t, label))
		return d, d.String()
	default:
		s := rapid.String().Draw(t, label)
		return s, s
	}
}

// TestLoadPrecedenceProperty checks that, whatever subset of layers sets each setting, the
// highest layer that set it wins, and a setting no layer set keeps its default.
func TestLoadPrecedenceProperty(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := 0
	rapid.Check(t, func(t *rapid.T) {
		n++
		var def propSettings
		def.Count = rapid.Int().Draw(t, "default count")
		def.On = rapid.Bool().Draw(t, "default on")
		def.Sec.Wait = time.Duration(rapid.Int64().Draw(t, "default wait"))
		def.Sec.Name = rapid.String().Draw(t, "default name")
		useJSON := rapid.Bool().Draw(t, "json")

		s := def
		fs := pflag.NewFlagSet("prop", pflag.ContinueOnError)
		config.BindFlags(fs, &s)
		file := map[string]any{}
		aliases := map[string]string{}
		var environ, args []string
		want := map[string]any{}

		for _, k := range propKeys() {
			aliases[k.alias] = k.key
			want[k.key] = k.get(&def)
			for l := range layerCount {
				if !rapid.Bool().Draw(t, fmt.Sprintf("%s set in layer %d", k.key, l)) {
					continue
				}
				v, text := drawValue(t, k.key, fmt.Sprintf("%s in layer %d", k.key, l))
				switch l {
				case layerFile:
					if k.key == "sec.wait" {
						v = text // durations are written as strings in a file
					}
					sec, name, nested := cutSection(k.key)
					if nested {
						m, _ := file[sec].(map[string]any)
						if m == nil {
							m = map[string]any{}
							file[sec] = m
						}
						m[name] = v
					} else {
						file[k.key] = v
					}
				case layerAlias:
					environ = append(environ, k.alias+"="+text)
				case layerEnv:
					environ = append(environ, k.env+"="+text)
				case layerFlag:
					args = append(args, "--"+k.flag+"="+text)
				}
				if (l == layerAlias || l == layerEnv) && text == "" {
					continue // an empty variable counts as unset
				}
				want[k.key] = parse(t, k.key, text)
			}
		}

		opts := config.Options{Environ: environ, Prefix: "VECRON_", Aliases: aliases, Flags: fs}
		if len(file) > 0 {
			opts.File = writePropFile(t, filepath.Join(dir, fmt.Sprintf("p%d", n)), file, useJSON)
		}
		require.NoError(t, fs.Parse(args))
		require.NoError(t, config.Load(&s, opts))
		for _, k := range propKeys() {
			require.Equal(t, want[k.key], k.get(&s), "key %s", k.key)
		}
	})
}

// parse returns the Go value of key written as text.
func parse(t *rapid.T, key, text string) any {
	switch key {
	case "count":
		n, err := strconv.Atoi(text)
		require.NoError(t, err)
		return n
	case "on":
		b, err := strconv.ParseBool(text)
		require.NoError(t, err)
		return b
	case "sec.wait":
		d, err := time.ParseDuration(text)
		require.NoError(t, err)
		return d
	}
	return text
}

func cutSection(key string) (string, string, bool) {
	for i := range len(key) {
		if key[i] == '.' {
			return key[:i], key[i+1:], true
		}
	}
	return "", key, false
}

// writePropFile writes m as YAML or JSON to base plus the extension and returns the path.
func writePropFile(t *rapid.T, base string, m map[string]any, useJSON bool) string {
	var (
		b   []byte
		err error
	)
	path := base + ".yaml"
	if useJSON {
		path = base + ".json"
		b, err = json.Marshal(m)
	} else {
		b, err = yaml.Marshal(m)
	}
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}
