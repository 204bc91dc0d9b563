// Package httpfn wires the execute-http function: settings, connections, the executor runtime
// with the HTTP runner, and its transports. The execute-http binary and `vecron dev` both run it.
package httpfn

import (
	"context"
	"log/slog"

	"github.com/jonboulle/clockwork"

	"github.com/vecron/vecron/functions/internal/worker"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/httpjob"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
)

// Kind is the kind of jobs this function runs: it names the durable consumer the function pulls
// (event.Names.DueConsumer) and the subject it reads.
const Kind = domain.KindHTTP

// Transports.
const (
	TransportPull = worker.TransportPull
	TransportPush = worker.TransportPush
)

// Settings configure the execute-http function: the executor's, and the runner's section.
type Settings struct {
	worker.Settings `koanf:",squash"`
	HTTP            httpjob.Config `koanf:"http"`
}

// DefaultSettings returns the settings used when nothing is configured.
func DefaultSettings() Settings {
	return Settings{Settings: worker.DefaultSettings(), HTTP: httpjob.DefaultConfig()}
}

// Aliases maps the well-known unprefixed environment variables to settings keys.
func Aliases() map[string]string { return worker.Aliases() }

// Run runs the executor on clock until ctx ends, then lets in-flight executions finish and returns.
// It serves its metrics on admin.addr.
func Run(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger) error {
	return RunIn(ctx, clock, s, log, nil)
}

// RunIn is Run with the executor's metrics registered into reg, which its caller serves: the
// executor then serves no admin listener (vecron dev runs every function under one registry). A
// nil reg is Run.
func RunIn(ctx context.Context, clock clockwork.Clock, s Settings, log *slog.Logger, reg *metric.Registry) error {
	policy, err := egress.New(s.Egress)
	if err != nil {
		return err
	}
	var runner *httpjob.Runner
	defer func() {
		if runner != nil {
			runner.Close()
		}
	}()
	return worker.RunWith(ctx, clock, Kind, "execute-http", s.Settings, func(_ context.Context, _ *store.Store, _ *metric.Registry, tracing *telemetry.Tracing) (executor.Runner, error) {
		if tracing.Enabled() { // off, a request costs no span at all
			s.HTTP.TracerProvider, s.HTTP.Propagate = tracing.Provider(), tracing.PropagateToTargets()
		}
		runner = httpjob.New(clock, s.HTTP, policy)
		return runner, nil
	}, log, reg)
}
