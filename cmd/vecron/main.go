// Command vecron is vecron's command-line tool. `vecron dev` runs the whole system locally.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "vecron",
		Short:         "vecron, the enterprise cron: distributed, on time, effectively once",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(devCommand())
	root.AddCommand(scheduleCommand())
	root.AddCommand(variablesCommand())
	root.AddCommand(loginCommand())
	root.AddCommand(logoutCommand())
	root.AddCommand(auditCommand())
	root.AddCommand(historyCommand())
	root.AddCommand(usersCommand())
	root.AddCommand(tokensCommand())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vecron:", err)
		os.Exit(exitCode(err))
	}
}
