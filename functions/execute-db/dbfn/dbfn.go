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
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
)

// Kind is the kind of jobs this function runs: it names the durable consumer the function pulls
// (event.Names.DueConsumer) and the subject it reads.
const Kind = domain.KindSQL

// Transports.
const (
	TransportPull = worker.TransportPull
	TransportPush = worker.TransportPush
)

// Settings configure the execute-db function: the executor's, the runner's section, and where
// sql jobs may connect.
type Settings struct {
	worker.Settings `koanf:",squash"`
	SQL             sqljob.Config `koanf:"sql"`
}

// DefaultSettings returns the settings used when nothing is configured.
func DefaultSettings() Settings {
	s := Settings{Settings: worker.DefaultSettings(), SQL: sqljob.DefaultConfig()}
	// The queue package holds the default, so that the consumer the tick makes ahead for sql
	// jobs is the one this function's puller makes.
	s.Pull = queue.DefaultPullerConfigOf(Kind)
	return s
}

// DBConcurrencyDefault is execute-db's pull.concurrency when none is set.
const DBConcurrencyDefault = queue.SQLConcurrencyDefault

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string { return worker.Aliases() }

// Run runs the jobs of the drivers of dialects on clock until ctx ends, then lets in-flight executions
// finish and returns. The caller chooses dialects, so only the builds that can afford the Oracle
// driver link it.
//
// It serves its metrics on admin.addr.
func Run(ctx context.Context, clock clockwork.Clock, s Settings, dialects []sqljob.Dialect, log *slog.Logger) error {
	return RunIn(ctx, clock, s, dialects, log, nil)
}

// RunIn is Run with the executor's metrics registered into reg, which its caller serves: the
// executor then serves no admin listener (vecron dev runs every function under one registry). A
// nil reg is Run.
func RunIn(ctx context.Context, clock clockwork.Clock, s Settings, dialects []sqljob.Dialect, log *slog.Logger, reg *metric.Registry) error {
	policy, err := egress.New(s.Egress)
	if err != nil {
		return err
	}
	var runner *sqljob.Runner
	// The pools to target databases close on the way out: a function scaling to zero leaves
	// no connections open.
	defer func() {
		if runner != nil {
			runner.Close()
		}
	}()
	return worker.RunWith(ctx, clock, Kind, "execute-db", s.Settings, func(ctx context.Context, st *store.Store, reg *metric.Registry, tracing *telemetry.Tracing) (executor.Runner, error) {
		// Jobs are kept out of the system database by what its server reports, read once here.
		var system domain.DatabaseIdentity
		if !s.SQL.AllowSystemDatabase {
			if system, err = st.DatabaseIdentity(ctx); err != nil {
				return nil, fmt.Errorf("%w (sql jobs are refused the system database by its identity; grant EXECUTE on pg_control_system() or set sql.allow_system_database)", err)
			}
		}
		if tracing.Enabled() { // off, a statement costs no span at all
			s.SQL.TracerProvider = tracing.Provider()
		}
		if runner, err = sqljob.New(clock, dialects, policy, system, s.SQL); err != nil {
			return nil, fmt.Errorf("sql runner: %w", err)
		}
		if err := runner.RegisterMetrics(reg); err != nil {
			return nil, err
		}
		return runner, nil
	}, log, reg)
}
