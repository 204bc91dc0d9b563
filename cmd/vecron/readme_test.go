package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/config"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's settings tables from the code")

// TestReadmeConfigurationTablesMatchTheCode keeps the README's settings tables honest: each is
// rendered from the function's settings struct and must appear in the README verbatim
// (go test ./cmd/vecron -run TestReadme -update-readme rewrites them).
func TestReadmeConfigurationTablesMatchTheCode(t *testing.T) {
	const path = "../../README.md"
	readme, err := os.ReadFile(path)
	require.NoError(t, err)
	apiS, tickS, httpS, dbS := apifn.DefaultSettings(), tickfn.DefaultSettings(), httpfn.DefaultSettings(), dbfn.DefaultSettings()
	for _, fn := range []struct {
		name     string
		settings any
		aliases  map[string]string
	}{
		{"api", &apiS, apifn.Aliases()},
		{"tick", &tickS, tickfn.Aliases()},
		{"execute-http", &httpS, httpfn.Aliases()},
		{"execute-db", &dbS, dbfn.Aliases()},
	} {
		table := settingsTable(fn.name, config.Describe(fn.settings, config.Options{Prefix: config.EnvPrefix, Aliases: fn.aliases}))
		if *updateReadme {
			section := regexp.MustCompile(`(?s)#### ` + regexp.QuoteMeta(fn.name) + `\n\n.*?\n\n`)
			require.True(t, section.Match(readme), "README has no section #### %s", fn.name)
			readme = section.ReplaceAllLiteral(readme, []byte(table+"\n"))
			continue
		}
		require.True(t, strings.Contains(string(readme), table), "README section for %s is stale; run go test ./cmd/vecron -run TestReadme -update-readme", fn.name)
	}
	if *updateReadme {
		require.NoError(t, os.WriteFile(path, readme, 0o644))
	}
}

func settingsTable(name string, settings []config.Setting) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s\n\n| key | environment | flag | default | meaning |\n|---|---|---|---|---|\n", name)
	for _, s := range settings {
		def := ""
		if s.Default != "" {
			def = "`" + s.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | `%s` | %s | %s |\n", s.Key, strings.Join(s.Env, "`, `"), s.Flag, def, s.Usage)
	}
	return b.String()
}
