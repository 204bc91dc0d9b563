// Command tick is vecron's scheduler clock: it claims due jobs from PostgreSQL and publishes them
// as io.vecron.job.due CloudEvents to NATS JetStream.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/pflag"
	"knative.dev/pkg/signals"

	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/gcdefault"
	"github.com/vecron/vecron/shared/telemetry"
)

func main() {
	gcdefault.Apply()
	s := tickfn.DefaultSettings()
	s.Tick.Instance, _ = os.Hostname()
	if err := config.FromArgs("tick", os.Args[1:], os.Environ(), &s, tickfn.Aliases()); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "tick:", err)
		os.Exit(2)
	}
	s.Environ = os.Environ()
	log, err := telemetry.NewLogger(os.Stderr, s.Log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tick:", err)
		os.Exit(2)
	}
	if err := tickfn.Run(signals.NewContext(), clockwork.NewRealClock(), s, log); err != nil {
		log.Error("tick stopped with an error", "error", err)
		os.Exit(1)
	}
}
