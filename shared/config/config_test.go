package config_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/config"
)

type tickSettings struct {
	BatchSize int           `koanf:"batch_size" usage:"jobs claimed per tick"`
	Interval  time.Duration `koanf:"interval" usage:"time between ticks"`
}

type testSettings struct {
	Port        int           `koanf:"port" usage:"HTTP listen port"`
	DatabaseURL string        `koanf:"database_url" usage:"PostgreSQL connection URL"`
	Debug       bool          `koanf:"debug"`
	Ratio       float64       `koanf:"ratio"`
	MaxBytes    int64         `koanf:"max_bytes"`
	Timeout     time.Duration `koanf:"timeout"`
	Hosts       []string      `koanf:"hosts"`
	TokenTTL    time.Duration `koanf:"token_ttl"`
	Tick        tickSettings  `koanf:"tick"`
	Ignored     string        `koanf:"-"`
	internal    string
}

func defaults() testSettings {
	return testSettings{
		Port:     8080,
		Timeout:  30 * time.Second,
		Hosts:    []string{"a", "b", "c"},
		TokenTTL: time.Hour,
		Tick:     tickSettings{BatchSize: 100, Interval: time.Second},
		Ignored:  "kept",
		internal: "kept",
	}
}

const prefix = "VECRON_"

func aliases() map[string]string {
	return map[string]string{"PORT": "port", "DATABASE_URL": "database_url"}
}

// writeFile writes content to a file named name in a fresh directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// parsedFlags returns a flag set with the settings of s bound and args parsed.
func parsedFlags(t *testing.T, s any, args ...string) *pflag.FlagSet {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.BindFlags(fs, s)
	require.NoError(t, fs.Parse(args))
	return fs
}

func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // YAML; "" for no file
		environ []string
		args    []string
		want    int
	}{
		{name: "DefaultOnly", want: 8080},
		{name: "File", file: "port: 1", want: 1},
		{name: "AliasOverFile", file: "port: 1", environ: []string{"PORT=2"}, want: 2},
		{name: "PrefixedOverAlias", file: "port: 1", environ: []string{"VECRON_PORT=3", "PORT=2"}, want: 3},
		{name: "PrefixedOverAliasInAnyOrder", environ: []string{"PORT=2", "VECRON_PORT=3"}, want: 3},
		{name: "FlagOverAll", file: "port: 1", environ: []string{"PORT=2", "VECRON_PORT=3"}, args: []string{"--port=4"}, want: 4},
		{name: "FlagOverDefault", args: []string{"--port", "4"}, want: 4},
		{name: "UnsetFlagKeepsEnv", environ: []string{"VECRON_PORT=3"}, args: []string{"--debug"}, want: 3},
		{name: "FlagSetToDefaultStillWins", environ: []string{"VECRON_PORT=3"}, args: []string{"--port=8080"}, want: 8080},
		{name: "EmptyVariableIsUnset", file: "port: 1", environ: []string{"VECRON_PORT=", "PORT="}, want: 1},
		{name: "NullInFileIsUnset", file: "port: null", want: 8080},
		{name: "OtherPrefixIgnored", environ: []string{"OTHER_PORT=9", "vecron_PORT=9"}, want: 8080},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := defaults()
			opts := config.Options{
				Environ: tt.environ,
				Prefix:  prefix,
				Aliases: aliases(),
				Flags:   parsedFlags(t, &s, tt.args...),
			}
			if tt.file != "" {
				opts.File = writeFile(t, "vecron.yaml", tt.file)
			}
			require.NoError(t, config.Load(&s, opts))
			assert.Equal(t, tt.want, s.Port)
			assert.Equal(t, "kept", s.Ignored)
			assert.Equal(t, "kept", s.internal)
		})
	}
}

func TestLoadNestedSections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
	}{
		{name: "YAML", file: "vecron.yaml", content: "tick:\n  batch_size: 7\n  interval: 5s\n"},
		{name: "YML", file: "vecron.yml", content: "tick: {batch_size: 7, interval: 5s}"},
		{name: "JSON", file: "vecron.json", content: `{"tick": {"batch_size": 7, "interval": "5s"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := defaults()
			require.NoError(t, config.Load(&s, config.Options{File: writeFile(t, tt.file, tt.content)}))
			assert.Equal(t, tickSettings{BatchSize: 7, Interval: 5 * time.Second}, s.Tick)
		})
	}

	t.Run("EachLayerSetsOneKey", func(t *testing.T) {
		t.Parallel()
		s := defaults()
		err := config.Load(&s, config.Options{
			File:    writeFile(t, "vecron.yaml", "tick: {batch_size: 7}"),
			Environ: []string{"VECRON_TICK__INTERVAL=2m"},
			Prefix:  prefix,
			Flags:   parsedFlags(t, &s, "--tick.batch-size=9"),
		})
		require.NoError(t, err)
		assert.Equal(t, tickSettings{BatchSize: 9, Interval: 2 * time.Minute}, s.Tick)
	})
}

func TestLoadDurations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // name=content
		environ []string
		args    []string
		want    time.Duration
	}{
		{name: "YAML", file: "vecron.yaml=timeout: 1.5s", want: 1500 * time.Millisecond},
		{name: "YAMLQuoted", file: `vecron.yaml=timeout: "1h30m"`, want: 90 * time.Minute},
		{name: "YAMLZero", file: "vecron.yaml=timeout: 0", want: 0},
		{name: "JSON", file: `vecron.json={"timeout": "250ms"}`, want: 250 * time.Millisecond},
		{name: "Env", environ: []string{"VECRON_TIMEOUT=2m"}, want: 2 * time.Minute},
		{name: "EnvSpaces", environ: []string{"VECRON_TIMEOUT= 3s "}, want: 3 * time.Second},
		{name: "EnvNegative", environ: []string{"VECRON_TIMEOUT=-1s"}, want: -time.Second},
		{name: "Flag", args: []string{"--timeout=3h"}, want: 3 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := defaults()
			opts := config.Options{Environ: tt.environ, Prefix: prefix, Flags: parsedFlags(t, &s, tt.args...)}
			if tt.file != "" {
				name, content, _ := strings.Cut(tt.file, "=")
				opts.File = writeFile(t, name, content)
			}
			require.NoError(t, config.Load(&s, opts))
			assert.Equal(t, tt.want, s.Timeout)
		})
	}
}

func TestLoadStringList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // YAML
		environ []string
		args    []string
		want    []string
	}{
		{name: "Default", want: []string{"a", "b", "c"}},
		{name: "FileList", file: "hosts: [x, y]", want: []string{"x", "y"}},
		{name: "FileEmptyList", file: "hosts: []", want: []string{}},
		{name: "FileString", file: "hosts: x,y", want: []string{"x", "y"}},
		{name: "Env", environ: []string{"VECRON_HOSTS=x, y,,z "}, want: []string{"x", "y", "z"}},
		{name: "EnvShorterThanDefault", environ: []string{"VECRON_HOSTS=x"}, want: []string{"x"}},
		{name: "Flag", args: []string{"--hosts=x,y"}, want: []string{"x", "y"}},
		{name: "FlagRepeated", args: []string{"--hosts=x", "--hosts=y"}, want: []string{"x", "y"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := defaults()
			def := s.Hosts
			opts := config.Options{Environ: tt.environ, Prefix: prefix, Flags: parsedFlags(t, &s, tt.args...)}
			if tt.file != "" {
				opts.File = writeFile(t, "vecron.yaml", tt.file)
			}
			require.NoError(t, config.Load(&s, opts))
			assert.Equal(t, tt.want, s.Hosts)
			assert.Equal(t, []string{"a", "b", "c"}, def, "the default's backing array must not be overwritten")
		})
	}
}

func TestLoadOtherTypes(t *testing.T) {
	t.Parallel()
	s := defaults()
	err := config.Load(&s, config.Options{
		File:    writeFile(t, "vecron.json", `{"ratio": 1, "max_bytes": 9007199254740993, "database_url": "postgres://db"}`),
		Environ: []string{"VECRON_DEBUG=true"},
		Prefix:  prefix,
	})
	require.NoError(t, err)
	assert.InDelta(t, 1.0, s.Ratio, 0)
	assert.Equal(t, int64(9007199254740993), s.MaxBytes, "JSON integers must not go through float64")
	assert.Equal(t, "postgres://db", s.DatabaseURL)
	assert.True(t, s.Debug)
}

func TestLoadIgnoresUnknownKeys(t *testing.T) {
	t.Parallel()
	s := defaults()
	err := config.Load(&s, config.Options{
		File: writeFile(t, "vecron.yaml", "other: 1\nexecutor: {workers: abc}\ntick: {batch_size: 5, unknown: x}\n"),
		Environ: []string{
			"VECRON_OTHER__THING=x",
			"VECRON_TICK=5",                // a section, not a setting
			"VECRON_TICK__BATCH_SIZE__X=1", // below a setting
			"VECRON_=1",
			"VECRON_TICK__BATCH_SIZE=6",
		},
		Prefix: prefix,
	})
	require.NoError(t, err)
	assert.Equal(t, 6, s.Tick.BatchSize)
}

func TestLoadNeverReadsProcessEnvironment(t *testing.T) {
	t.Parallel()
	if os.Getenv("PATH") == "" {
		t.Skip("needs PATH in the process environment")
	}
	s := defaults()
	// env.Provider falls back to os.Environ when given no environment; Load must not.
	require.NoError(t, config.Load(&s, config.Options{Aliases: map[string]string{"PATH": "database_url"}}))
	assert.Empty(t, s.DatabaseURL)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // name=content
		environ []string
		flags   func(fs *pflag.FlagSet) // registers flags by hand; args follow
		args    []string
		want    string // substring of the error; "{file}" stands for the file's path
	}{
		{name: "EnvInt", environ: []string{"VECRON_TICK__BATCH_SIZE=abc"}, want: `env VECRON_TICK__BATCH_SIZE: invalid int "abc"`},
		{name: "AliasInt", environ: []string{"PORT=http"}, want: `env PORT: invalid int "http"`},
		{name: "EnvIntRange", environ: []string{"VECRON_MAX_BYTES=99999999999999999999"}, want: `env VECRON_MAX_BYTES: invalid int64 "99999999999999999999" (out of range)`},
		{name: "EnvBool", environ: []string{"VECRON_DEBUG=yes"}, want: `env VECRON_DEBUG: invalid bool "yes" (use true or false)`},
		{name: "EnvFloat", environ: []string{"VECRON_RATIO=NaN"}, want: `env VECRON_RATIO: invalid float64 "NaN"`},
		{name: "EnvDurationNoUnit", environ: []string{"VECRON_TIMEOUT=30"}, want: `env VECRON_TIMEOUT: invalid duration "30" (use a duration like 30s)`},
		{name: "FileInt", file: "vecron.yaml=tick: {batch_size: abc}", want: `file {file}: tick.batch_size: invalid int "abc"`},
		{name: "FileIntFromBool", file: "vecron.yaml=port: true", want: `file {file}: port: want int, got a bool`},
		{name: "FileIntFraction", file: `vecron.json={"port": 1.5}`, want: `file {file}: port: want int, got the number 1.5`},
		{name: "FileBareDuration", file: "vecron.yaml=timeout: 30", want: `file {file}: timeout: want a duration like 30s, got the number 30`},
		{name: "FileJSONBareDuration", file: `vecron.json={"tick": {"interval": 5}}`, want: `file {file}: tick.interval: want a duration like 30s, got the number 5`},
		{name: "FileStringFromNumber", file: "vecron.yaml=database_url: 5", want: `file {file}: database_url: want a string, got the number 5 (quote it)`},
		{name: "FileListItem", file: "vecron.yaml=hosts: [a, 1]", want: `file {file}: hosts: item 1: want a string, got the number 1 (quote it)`},
		{name: "FileSectionScalar", file: "vecron.yaml=tick: 5", want: `file {file}: tick: want a section of settings, got a number`},
		{name: "FileSettingMapping", file: "vecron.yaml=port: {a: 1, b: 2}", want: `file {file}: port: want int, got a mapping`},
		{name: "FileSettingList", file: "vecron.yaml=port: [1]", want: `file {file}: port: want int, got a list`},
		{name: "FileMissing", file: "missing.yaml=", want: `file {file}: no such file or directory`},
		{name: "FileExtension", file: "vecron.toml=port = 1", want: `file {file}: unsupported extension ".toml" (want .yaml, .yml or .json)`},
		{name: "FileYAMLSyntax", file: "vecron.yaml=port: [1", want: `file {file}: yaml:`},
		{name: "FileJSONSyntax", file: `vecron.json={"port": }`, want: `file {file}: invalid character`},
		{name: "FileJSONTrailing", file: `vecron.json={"port": 1} {}`, want: `file {file}: unexpected data after the top-level object`},
		{name: "FileJSONArray", file: `vecron.json=[1]`, want: `file {file}: want an object of settings at the top level`},
		{name: "FileYAMLScalar", file: `vecron.yaml=hunter2`, want: `file {file}: want a mapping of settings at the top level`},
		{
			name:  "FlagRegisteredByHand",
			flags: func(fs *pflag.FlagSet) { fs.String("port", "", "") },
			args:  []string{"--port=abc"},
			want:  `flag --port: invalid int "abc"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := defaults()
			opts := config.Options{Environ: tt.environ, Prefix: prefix, Aliases: aliases()}
			if tt.flags != nil {
				opts.Flags = pflag.NewFlagSet("test", pflag.ContinueOnError)
				tt.flags(opts.Flags)
				require.NoError(t, opts.Flags.Parse(tt.args))
			}
			want := tt.want
			if tt.file != "" {
				name, content, _ := strings.Cut(tt.file, "=")
				opts.File = writeFile(t, name, content)
				if name == "missing.yaml" {
					require.NoError(t, os.Remove(opts.File))
				}
				want = strings.ReplaceAll(want, "{file}", opts.File)
			}
			err := config.Load(&s, opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), want)
			assert.Equal(t, defaults(), s, "dst must be unchanged on error")
		})
	}

	t.Run("MissingFileIsNotExist", func(t *testing.T) {
		t.Parallel()
		s := defaults()
		err := config.Load(&s, config.Options{File: filepath.Join(t.TempDir(), "nope.yaml")})
		require.ErrorIs(t, err, fs.ErrNotExist)
	})

	t.Run("AllBadValuesReported", func(t *testing.T) {
		t.Parallel()
		s := defaults()
		path := writeFile(t, "vecron.yaml", "port: x\ndebug: maybe\n")
		err := config.Load(&s, config.Options{
			File:    path,
			Environ: []string{"VECRON_TICK__INTERVAL=soon"},
			Prefix:  prefix,
		})
		require.Error(t, err)
		assert.Equal(t, strings.Join([]string{
			`file ` + path + `: debug: invalid bool "maybe" (use true or false)`,
			`file ` + path + `: port: invalid int "x"`,
			`env VECRON_TICK__INTERVAL: invalid duration "soon" (use a duration like 30s)`,
		}, "\n"), err.Error())
	})
}

func TestLoadHidesSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		file    string // YAML
		environ []string
		want    string
	}{
		{
			name:    "SecretLookingKey",
			environ: []string{"VECRON_TOKEN_TTL=hunter2"},
			want:    `env VECRON_TOKEN_TTL: invalid duration (value hidden) (use a duration like 30s)`,
		},
		{
			name: "SecretLookingKeyNumber",
			file: "token_ttl: 12345",
			want: `token_ttl: want a duration like 30s, got a number`,
		},
		{
			name:    "URLPassword",
			environ: []string{"PORT=postgres://vecron:hunter2@db:5432/vecron"},
			want:    `env PORT: invalid int "postgres://vecron:xxxxx@db:5432/vecron"`,
		},
		{
			name:    "UnparsableURL",
			environ: []string{"PORT=postgres://vecron:hunter2@db:port/vecron"},
			want:    `env PORT: invalid int (value hidden)`,
		},
		{
			name:    "KeyValueConnectionString",
			environ: []string{"PORT=host=db password=hunter2"},
			want:    `env PORT: invalid int (value hidden)`,
		},
		{
			name: "YAMLTopLevelString",
			file: "hunter2",
			want: `want a mapping of settings at the top level`,
		},
		{
			name:    "LongValueTruncated",
			environ: []string{"VECRON_PORT=" + strings.Repeat("a", 100) + "hunter2"},
			want:    `env VECRON_PORT: invalid int "` + strings.Repeat("a", 40) + `…"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := defaults()
			opts := config.Options{Environ: tt.environ, Prefix: prefix, Aliases: aliases()}
			if tt.file != "" {
				opts.File = writeFile(t, "vecron.yaml", tt.file)
			}
			err := config.Load(&s, opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "hunter2")
			assert.NotContains(t, err.Error(), "12345")
		})
	}
}

func TestLoadRejectsInvalidSettingsStruct(t *testing.T) {
	t.Parallel()
	type inner struct {
		Untagged int
	}
	type embedded struct {
		N int `koanf:"n"`
	}
	tests := []struct {
		name string
		dst  any
		opts config.Options
		want string
	}{
		{name: "NotPointer", dst: testSettings{}, want: "want a non-nil pointer to a struct, got config_test.testSettings"},
		{name: "NilPointer", dst: (*testSettings)(nil), want: "want a non-nil pointer to a struct"},
		{name: "PointerToInt", dst: new(int), want: "want a non-nil pointer to a struct, got *int"},
		{name: "Untagged", dst: &struct{ Port int }{}, want: "field .Port: no koanf tag"},
		{name: "UntaggedInSection", dst: &struct {
			In inner `koanf:"in"`
		}{}, want: "field .In.Untagged: no koanf tag"},
		{name: "NotSnakeCase", dst: &struct {
			Port int `koanf:"listenPort"`
		}{}, want: `field .Port: tag koanf:"listenPort" is not a snake_case name`},
		{name: "DoubleUnderscore", dst: &struct {
			Port int `koanf:"listen__port"`
		}{}, want: "is not a snake_case name"},
		{name: "Dotted", dst: &struct {
			Port int `koanf:"listen.port"`
		}{}, want: "is not a snake_case name"},
		{name: "TagOptions", dst: &struct {
			Port int `koanf:"port,omitempty"`
		}{}, want: "is not a snake_case name"},
		{name: "Duplicate", dst: &struct {
			A int `koanf:"port"`
			B int `koanf:"port"`
		}{}, want: `field .B: duplicate key "port"`},
		{name: "Unsupported", dst: &struct {
			M map[string]int `koanf:"m"`
		}{}, want: "field .M: unsupported type map[string]int"},
		{name: "Uint", dst: &struct {
			N uint `koanf:"n"`
		}{}, want: "field .N: unsupported type uint"},
		{name: "PointerField", dst: &struct {
			P *int `koanf:"p"`
		}{}, want: "field .P: unsupported type *int"},
		{name: "Embedded", dst: &struct {
			embedded `koanf:"e"`
		}{}, want: "embedded fields are not supported"},
		{name: "UnknownAlias", dst: &testSettings{}, opts: config.Options{Aliases: map[string]string{"DB": "database.url"}}, want: `alias DB: no setting "database.url"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := config.Load(tt.dst, tt.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestBindFlagsPanicsOnInvalidSettingsStruct(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	assert.PanicsWithValue(t, "config: settings struct: field .Port: no koanf tag", func() {
		config.BindFlags(fs, &struct{ Port int }{})
	})
	assert.Panics(t, func() { config.Describe(42, config.Options{}) })
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	s := defaults()
	s.DatabaseURL = "postgres://vecron:hunter2@db/vecron"
	got := config.Describe(&s, config.Options{Prefix: prefix, Aliases: map[string]string{"PORT": "port", "HTTP_PORT": "port"}})
	keys := make([]string, 0, len(got))
	for _, st := range got {
		keys = append(keys, st.Key)
	}
	assert.Equal(t, []string{
		"port", "database_url", "debug", "ratio", "max_bytes", "timeout", "hosts", "token_ttl",
		"tick.batch_size", "tick.interval",
	}, keys)
	assert.Equal(t, config.Setting{
		Key:     "port",
		Env:     []string{"VECRON_PORT", "HTTP_PORT", "PORT"},
		Flag:    "--port",
		Type:    "int",
		Default: "8080",
		Usage:   "HTTP listen port",
	}, got[0])
	assert.Equal(t, config.Setting{
		Key:     "tick.interval",
		Env:     []string{"VECRON_TICK__INTERVAL"},
		Flag:    "--tick.interval",
		Type:    "duration",
		Default: "1s",
		Usage:   "time between ticks",
	}, got[9])
	assert.Equal(t, "postgres://vecron:xxxxx@db/vecron", got[1].Default)
	assert.Equal(t, "a,b,c", got[6].Default)
	assert.Equal(t, "[]string", got[6].Type)
	assert.Equal(t, "(value hidden)", got[7].Default, "token_ttl looks secret")
	assert.Empty(t, config.Describe(&s, config.Options{})[0].Env, "no prefix, no aliases")
}

func TestBindFlagsDescribeRoundTrip(t *testing.T) {
	t.Parallel()
	s := defaults()
	s.Ratio = 0.25
	s.Debug = true
	s.MaxBytes = 1 << 40
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	config.BindFlags(fs, &s)
	settings := config.Describe(&s, config.Options{Prefix: prefix})

	var args, environ []string
	for _, st := range settings {
		name := strings.TrimPrefix(st.Flag, "--")
		f := fs.Lookup(name)
		require.NotNil(t, f, "flag %s", st.Flag)
		assert.Equal(t, st.Usage, f.Usage, "flag %s", st.Flag)
		if st.Key == "token_ttl" {
			assert.Equal(t, "(value hidden)", f.DefValue, "a secret's default stays out of --help")
			continue
		}
		if st.Type != "[]string" { // pflag shows a list as [a,b,c]
			assert.Equal(t, st.Default, f.DefValue, "flag %s", st.Flag)
		}
		args = append(args, st.Flag+"="+st.Default)
		environ = append(environ, st.Env[0]+"="+st.Default)
	}
	require.NoError(t, fs.Parse(args))

	// Each Default, given back as a flag or a variable, reproduces the value it came from.
	fromFlags := testSettings{}
	require.NoError(t, config.Load(&fromFlags, config.Options{Flags: fs}))
	fromEnv := testSettings{}
	require.NoError(t, config.Load(&fromEnv, config.Options{Environ: environ, Prefix: prefix}))
	want := s
	want.TokenTTL, want.Ignored, want.internal = 0, "", ""
	assert.Equal(t, want, fromFlags)
	assert.Equal(t, want, fromEnv)
}

// Common is a settings section shared by several functions' settings, embedded with squash.
type Common struct {
	Port     int `koanf:"port" usage:"port"`
	Database struct {
		URL string `koanf:"url" usage:"database URL"`
	} `koanf:"database"`
}

func TestSquashedEmbeddedSettingsAreTheEmbeddersOwn(t *testing.T) {
	t.Parallel()
	type fnSettings struct {
		Common `koanf:",squash"`
		Batch  int `koanf:"batch" usage:"batch size"`
	}
	s := fnSettings{Common: Common{Port: 8080}, Batch: 10}
	require.NoError(t, config.FromArgs("fn", []string{"--batch=20"}, []string{"VECRON_DATABASE__URL=postgres://db/x", "PORT=9090"},
		&s, map[string]string{"PORT": "port"}))
	require.Equal(t, fnSettings{Common: Common{Port: 9090, Database: struct {
		URL string `koanf:"url" usage:"database URL"`
	}{URL: "postgres://db/x"}}, Batch: 20}, s)
	var keys []string
	for _, st := range config.Describe(&s, config.Options{}) {
		keys = append(keys, st.Key)
	}
	require.Equal(t, []string{"port", "database.url", "batch"}, keys)

	dup := struct {
		Common `koanf:",squash"`
		Port   int `koanf:"port"`
	}{}
	require.ErrorContains(t, config.Load(&dup, config.Options{}), `duplicate key "port"`)
}
