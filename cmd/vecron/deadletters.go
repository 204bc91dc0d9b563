package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// deadLettersCommand is `vecron dead-letters`: executions that ran out of attempts, waiting for
// a person to replay or discard them.
func deadLettersCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "dead-letters", Short: "List, replay and discard executions that ran out of attempts"}
	cmd.AddCommand(deadLettersListCommand(e), deadLetterActionCommand(e, true), deadLetterActionCommand(e, false))
	return cmd
}

func deadLettersListCommand(e env) *cobra.Command {
	var job, namespace, state string
	var lf *listFlags
	cmd := e.apiCommand("list", "List dead letters, most recent first", cobra.NoArgs, func(cmd *cobra.Command, c *client, _ []string) error {
		q := url.Values{}
		if state != "" {
			q.Set("state", state)
		}
		if job != "" {
			id, err := c.jobID(cmd.Context(), job, namespace)
			if err != nil {
				return err
			}
			q.Set("job_id", id)
		}
		return lf.show(cmd, c, "/api/v1/dead-letters", q, func(items []json.RawMessage) error {
			list, err := decodeItems[domain.Execution](items)
			if err != nil {
				return err
			}
			names := newJobNames(c)
			rows := make([][]string, len(list))
			for i, x := range list {
				st := "-"
				if x.DeadLetter != nil {
					st = x.DeadLetter.State
				}
				rows[i] = []string{x.ID, names.label(cmd.Context(), x.JobID), clock(x.FinishedAt, names.zone(cmd.Context(), x.JobID, e.local), "-"),
					strconv.Itoa(x.Attempt), st, clip(x.Error, 60)}
			}
			table(cmd.OutOrStdout(), "ID\tJOB\tDEAD SINCE\tATTEMPTS\tSTATE\tERROR", rows)
			return nil
		})
	})
	cmd.Flags().StringVar(&job, "job", "", "only the dead letters of this job (id or name)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace of the job named by --job")
	cmd.Flags().StringVar(&state, "state", "", "pending (the default), replayed, discarded or all")
	lf = addListFlags(cmd)
	return cmd
}

// deadLetterActionCommand is `vecron dead-letters replay`, or `discard`.
func deadLetterActionCommand(e env, replay bool) *cobra.Command {
	use, short, route := "replay ID", "Run a dead letter's job again for the same fire, as a new execution", "/replay"
	if !replay {
		use, short, route = "discard ID", "Mark a dead letter as dealt with, without running it again", "/discard"
	}
	var format *string
	cmd := e.apiCommand(use, short, cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		if !domain.WellFormedID(args[0]) {
			return usageError{fmt.Errorf("%q is not an execution id", args[0])}
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/dead-letters/" + url.PathEscape(args[0]) + route})
		if err != nil {
			return err
		}
		return showOne(cmd.OutOrStdout(), *format, resp.body, func(x domain.Execution) {
			if replay && x.DeadLetter != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "replaying dead letter %s: the new run's idempotency key is %s\n", x.ID, x.DeadLetter.ReplayKey)
				return
			}
			fmt.Fprintf(cmd.OutOrStdout(), "discarded dead letter %s\n", x.ID)
		})
	})
	format = outputFlag(cmd)
	return cmd
}
