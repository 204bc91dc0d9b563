// Command execute-db is vecron's executor for sql jobs: it receives io.vecron.job.due CloudEvents
// (pulled from JetStream, or pushed over HTTP by Knative Eventing), runs each job's statements
// against its target database once per fire, and records the execution in PostgreSQL.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/pflag"
	"knative.dev/pkg/signals"

	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/gcdefault"
	"github.com/vecron/vecron/shared/telemetry"
)

func main() {
	gcdefault.Apply()
	s := dbfn.DefaultSettings()
	s.Executor.WorkerID, _ = os.Hostname()
	if err := config.FromArgs("execute-db", os.Args[1:], os.Environ(), &s, dbfn.Aliases()); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "execute-db:", err)
		os.Exit(2)
	}
	s.Environ = os.Environ()
	log, err := telemetry.NewLogger(os.Stderr, s.Log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "execute-db:", err)
		os.Exit(2)
	}
	if err := dbfn.Run(signals.NewContext(), clockwork.NewRealClock(), s, dialects(), log); err != nil {
		log.Error("execute-db stopped with an error", "error", err)
		os.Exit(1)
	}
}
