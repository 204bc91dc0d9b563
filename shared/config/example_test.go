package config_test

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/vecron/vecron/shared/config"
)

// Example shows how a function's main reads its settings: defaults, then flags bound to them,
// then Load with the process environment.
func Example() {
	type TickConfig struct {
		BatchSize int           `koanf:"batch_size" usage:"jobs claimed per tick"`
		Interval  time.Duration `koanf:"interval" usage:"time between ticks"`
	}
	type Settings struct {
		Port        int        `koanf:"port" usage:"HTTP listen port"`
		DatabaseURL string     `koanf:"database_url" usage:"PostgreSQL connection URL"`
		Tick        TickConfig `koanf:"tick"`
	}

	// Defaults come first; main would call something like tickfn.DefaultSettings().
	s := Settings{Port: 8080, Tick: TickConfig{BatchSize: 100, Interval: time.Second}}

	fs := pflag.NewFlagSet("tick", pflag.ContinueOnError)
	configFile := fs.String("config", "", "YAML or JSON settings file")
	config.BindFlags(fs, &s)
	if err := fs.Parse([]string{"--tick.interval=5s"}); err != nil { // os.Args[1:]
		fmt.Println(err)
		return
	}

	err := config.Load(&s, config.Options{
		File:    *configFile,
		Environ: []string{"PORT=9090", "VECRON_TICK__BATCH_SIZE=500"}, // os.Environ()
		Prefix:  "VECRON_",
		Aliases: map[string]string{"PORT": "port", "DATABASE_URL": "database_url"},
		Flags:   fs,
	})
	if err != nil {
		fmt.Println("load settings:", err)
		return
	}
	fmt.Println(s.Port, s.Tick.BatchSize, s.Tick.Interval)
	// Output: 9090 500 5s
}

// ExampleDescribe prints the configuration table of a README.
func ExampleDescribe() {
	type Settings struct {
		Port    int           `koanf:"port" usage:"HTTP listen port"`
		Timeout time.Duration `koanf:"timeout" usage:"request timeout"`
	}
	s := Settings{Port: 8080, Timeout: 30 * time.Second}
	opts := config.Options{Prefix: "VECRON_", Aliases: map[string]string{"PORT": "port"}}
	for _, st := range config.Describe(&s, opts) {
		fmt.Printf("| %s | %v | %s | %s | %s | %s |\n", st.Key, st.Env, st.Flag, st.Type, st.Default, st.Usage)
	}
	// Output:
	// | port | [VECRON_PORT PORT] | --port | int | 8080 | HTTP listen port |
	// | timeout | [VECRON_TIMEOUT] | --timeout | duration | 30s | request timeout |
}
