// Command execute-http is vecron's executor for http jobs: it receives io.vecron.job.due
// CloudEvents (pulled from JetStream, or pushed over HTTP by Knative Eventing), sends each job's
// request once per fire, and records the execution in PostgreSQL.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/pflag"
	"knative.dev/pkg/signals"

	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/gcdefault"
	"github.com/vecron/vecron/shared/telemetry"
)

func main() {
	gcdefault.Apply()
	s := httpfn.DefaultSettings()
	s.Executor.WorkerID, _ = os.Hostname()
	if err := config.FromArgs("execute-http", os.Args[1:], os.Environ(), &s, httpfn.Aliases()); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "execute-http:", err)
		os.Exit(2)
	}
	s.Environ = os.Environ()
	log, err := telemetry.NewLogger(os.Stderr, s.Log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "execute-http:", err)
		os.Exit(2)
	}
	if err := httpfn.Run(signals.NewContext(), clockwork.NewRealClock(), s, log); err != nil {
		log.Error("execute-http stopped with an error", "error", err)
		os.Exit(1)
	}
}
