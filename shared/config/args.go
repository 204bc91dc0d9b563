package config

import (
	"fmt"
	"os"

	"github.com/spf13/pflag"
)

// EnvPrefix is the prefix of vecron's environment variables.
const EnvPrefix = "VECRON_"

// FromArgs is what a function's main does to load its settings: it registers a flag per setting
// plus --config (a YAML or JSON file, also VECRON_CONFIG), parses args, and loads dst from
// defaults → file → environment → flags. On --help it prints the usage and returns
// pflag.ErrHelp.
func FromArgs(name string, args, environ []string, dst any, aliases map[string]string) error {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	file := fs.String("config", lookup(environ, EnvPrefix+"CONFIG"), "settings file (YAML or JSON)")
	BindFlags(fs, dst)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s takes no arguments, got %q", name, fs.Args())
	}
	return Load(dst, Options{File: *file, Environ: environ, Prefix: EnvPrefix, Aliases: aliases, Flags: fs})
}

func lookup(environ []string, key string) string {
	for _, kv := range environ {
		if len(kv) > len(key) && kv[len(key)] == '=' && kv[:len(key)] == key {
			return kv[len(key)+1:]
		}
	}
	return ""
}
