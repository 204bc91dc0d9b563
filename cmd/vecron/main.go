// Command vecron is vecron's command-line tool. `vecron dev` runs the whole system locally; the
// other commands call a vecron API (--server, VECRON_SERVER) as the user `vecron login` signed
// in (or VECRON_TOKEN), or read the system database directly (audit, history, secrets rotate).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := rootCommand(processEnv())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "vecron:", err)
		os.Exit(exitCode(err))
	}
}

// rootCommand is `vecron` with every command, reading its surroundings from e.
func rootCommand(e env) *cobra.Command {
	root := &cobra.Command{
		Use:           "vecron",
		Short:         "vecron, the enterprise cron: distributed, on time, effectively once",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(devCommand())
	root.AddCommand(executorCommand())
	root.AddCommand(scheduleCommand(e))
	root.AddCommand(calendarsCommand(e))
	root.AddCommand(freezesCommand(e))
	root.AddCommand(variablesCommand(e))
	root.AddCommand(secretsCommand())
	root.AddCommand(loginCommand(e))
	root.AddCommand(logoutCommand(e))
	root.AddCommand(auditCommand(e))
	root.AddCommand(historyCommand())
	root.AddCommand(usersCommand(e))
	root.AddCommand(tokensCommand(e))
	root.AddCommand(jobsCommand(e))
	root.AddCommand(executionsCommand(e))
	root.AddCommand(deadLettersCommand(e))
	root.AddCommand(changesCommand(e))
	root.AddCommand(namespacesCommand(e))
	root.AddCommand(exitCodesTopic())
	return root
}

// exitCodesTopic is `vecron help exit-codes`.
func exitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "The exit statuses a script can branch on",
		Long: `vecron ends with one of these statuses; errors are written to standard error as the API's
problem says them (its title, detail and each offending field), never as a Go error chain.

  0  done
  1  any other error
  2  usage: an unknown flag, a missing argument, a value the command cannot read
  3  not found: no such job, execution, dead letter, variable, calendar, freeze or change (404)
  4  conflict: a name taken, an edit of a version changed since it was read, a dead letter
     already resolved, a run of a forbid job while one runs (409, 412, 428)
  5  not signed in, the session ended, or not allowed (401, 403)
  6  invalid input: the API refused a field (400, 422)
  7  the API cannot be reached, or failed or is busy (5xx, 429)`,
	}
}
