// Package dbfn wires the execute-db function: the shared executor wiring (package worker) with
// the SQL runner. The execute-db binary and `vecron dev` both run it.
package dbfn

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/functions/internal/worker"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/sqljob"
)

// Transports.
const (
	TransportPull = worker.TransportPull
	TransportPush = worker.TransportPush
)

// Settings configure the execute-db function: the executor's, and the runner's section.
type Settings struct {
	worker.Settings `koanf:",squash"`
	SQL             sqljob.Config `koanf:"sql"`
}

// DefaultSettings returns the settings used when nothing is configured.
func DefaultSettings() Settings {
	return Settings{Settings: worker.DefaultSettings(), SQL: sqljob.DefaultConfig()}
}

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string { return worker.Aliases() }

// Run runs the jobs of the drivers of dialects on clock until ctx ends, then lets in-flight executions
// finish and returns. The caller chooses dialects, so only the builds that can afford the Oracle
// driver link it.
func Run(ctx context.Context, clock clockwork.Clock, s Settings, dialects []sqljob.Dialect, log *slog.Logger) error {
	runner, err := sqljob.New(clock, dialects, s.SQL)
	if err != nil {
		return fmt.Errorf("sql runner: %w", err)
	}
	// The pools to target databases close on the way out: a function scaling to zero leaves
	// no connections open.
	defer runner.Close()
	return worker.Run(ctx, clock, domain.KindSQL, "execute-db", s.Settings, runner, log)
}
