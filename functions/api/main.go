// Command api is vecron's stateless REST API over the jobs and their execution history.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/jonboulle/clockwork"
	"github.com/spf13/pflag"
	"knative.dev/pkg/signals"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/gcdefault"
	"github.com/vecron/vecron/shared/telemetry"
)

func main() {
	gcdefault.Apply()
	s := apifn.DefaultSettings()
	if err := config.FromArgs("api", os.Args[1:], os.Environ(), &s, apifn.Aliases()); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(2)
	}
	s.Environ = os.Environ()
	log, err := telemetry.NewLogger(os.Stderr, s.Log)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(2)
	}
	if err := apifn.Run(signals.NewContext(), clockwork.NewRealClock(), s, log, nil); err != nil {
		log.Error("api stopped with an error", "error", err)
		os.Exit(1)
	}
}
