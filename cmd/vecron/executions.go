package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// executionsCommand is `vecron executions`: the runs of jobs, read, cancelled and watched.
func executionsCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "executions", Short: "List, read, cancel and watch executions"}
	cmd.AddCommand(executionsListCommand(e), executionsGetCommand(e), executionsCancelCommand(e), executionsWatchCommand(e))
	return cmd
}

// parseInstant reads the --since or --until of flag: a duration back from now (90m, 36h, 7d),
// an RFC 3339 instant, or a date, which is its midnight in zone.
func parseInstant(flag, s string, now time.Time, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, usageError{fmt.Errorf("--%s: is empty", flag)}
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= 36500 {
			return now.AddDate(0, 0, -n).UTC(), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, zone); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, usageError{fmt.Errorf("--%s: %q is neither a duration back from now (90m, 36h, 7d), an RFC 3339 instant "+
		"(2026-12-01T09:00:00+07:00) nor a date (2026-12-01)", flag, s)}
}

// executionRow is an execution as a row of a table.
func executionRow(names *jobNames, cmd *cobra.Command, x domain.Execution, local *time.Location) []string {
	ctx := cmd.Context()
	result := x.Error
	if x.HTTPStatus != 0 && result == "" {
		result = "HTTP " + strconv.Itoa(x.HTTPStatus)
	}
	if result == "" {
		result = "-"
	}
	return []string{x.ID, names.label(ctx, x.JobID), string(x.Status), string(x.Trigger),
		clock(&x.ScheduledAt, names.zone(ctx, x.JobID, local), "-"), strconv.Itoa(x.Attempt), human(x.DurationMS), clip(result, 60)}
}

const executionHeader = "ID\tJOB\tSTATUS\tTRIGGER\tSCHEDULED\tATTEMPT\tDURATION\tRESULT"

func executionsListCommand(e env) *cobra.Command {
	var job, namespace, since, until string
	var statuses, triggers []string
	var lf *listFlags
	cmd := e.apiCommand("list", "List executions, newest first", cobra.NoArgs, func(cmd *cobra.Command, c *client, _ []string) error {
		q := url.Values{}
		now := e.now()
		for _, b := range []struct{ flag, value, param string }{{"since", since, "from"}, {"until", until, "to"}} {
			if b.value == "" {
				continue
			}
			t, err := parseInstant(b.flag, b.value, now, e.local)
			if err != nil {
				return err
			}
			q.Set(b.param, t.Format(time.RFC3339Nano))
		}
		if len(statuses) > 0 {
			q.Set("status", strings.Join(statuses, ","))
		}
		if len(triggers) > 0 {
			q.Set("trigger", strings.Join(triggers, ","))
		}
		switch {
		case job != "":
			id, err := c.jobID(cmd.Context(), job, namespace)
			if err != nil {
				return err
			}
			q.Set("job_id", id)
		case namespace != "":
			q.Set("namespace", namespace)
		}
		return lf.show(cmd, c, "/api/v1/executions", q, func(items []json.RawMessage) error {
			list, err := decodeItems[domain.Execution](items)
			if err != nil {
				return err
			}
			names := newJobNames(c)
			rows := make([][]string, len(list))
			for i, x := range list {
				rows[i] = executionRow(names, cmd, x, e.local)
			}
			table(cmd.OutOrStdout(), executionHeader, rows)
			return nil
		})
	})
	cmd.Flags().StringVar(&job, "job", "", "only the executions of this job (id or name)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only executions of jobs of this namespace (and of the job named by --job)")
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "only executions in these states: queued, running, succeeded, failed, timed_out, skipped, dead_lettered, cancelled")
	cmd.Flags().StringSliceVar(&triggers, "trigger", nil, "only executions started by: schedule, manual, webhook, event, retry, replay, backfill")
	cmd.Flags().StringVar(&since, "since", "", "only fires scheduled from then on: 90m, 36h or 7d ago, an RFC 3339 instant or a date")
	cmd.Flags().StringVar(&until, "until", "", "only fires scheduled before then (same forms as --since)")
	lf = addListFlags(cmd)
	return cmd
}

// executionFields writes one execution and its attempts for people.
func executionFields(w io.Writer, names *jobNames, cmd *cobra.Command, x domain.Execution, local *time.Location) {
	zone := names.zone(cmd.Context(), x.JobID, local)
	status := string(x.Status)
	if x.Forced {
		status += " (forced)"
	}
	if x.DeadLetter != nil {
		status += ", dead letter " + x.DeadLetter.State
		if x.DeadLetter.ReplayKey != "" {
			status += " as " + x.DeadLetter.ReplayKey
		}
	}
	code := ""
	if x.HTTPStatus != 0 {
		code = strconv.Itoa(x.HTTPStatus)
	}
	fields(w, [][2]string{
		{"ID", x.ID},
		{"Job", names.label(cmd.Context(), x.JobID) + " (version " + strconv.FormatInt(x.JobVersion, 10) + ")"},
		{"Status", status},
		{"Trigger", string(x.Trigger)},
		{"Idempotency key", x.IdempotencyKey},
		{"Scheduled", clock(&x.ScheduledAt, zone, "-")},
		{"Started", clock(x.StartedAt, zone, "")},
		{"Finished", clock(x.FinishedAt, zone, "")},
		{"Next attempt", clock(x.NextAttemptAt, zone, "")},
		{"Attempt", strconv.Itoa(x.Attempt)},
		{"Duration", human(x.DurationMS)},
		{"HTTP status", code},
		{"Error", x.Error},
		{"Response", clip(x.ResponseExcerpt, 200)},
		{"Worker", x.WorkerID},
	})
	if len(x.Attempts) == 0 {
		return
	}
	fmt.Fprintln(w)
	rows := make([][]string, len(x.Attempts))
	for i, a := range x.Attempts {
		code := "-"
		if a.HTTPStatus != 0 {
			code = strconv.Itoa(a.HTTPStatus)
		}
		rows[i] = []string{strconv.Itoa(a.Attempt), string(a.Status), clock(a.StartedAt, zone, "-"), clock(&a.FinishedAt, zone, "-"),
			human(a.DurationMS), code, clip(a.Error, 60)}
	}
	table(w, "ATTEMPT\tSTATUS\tSTARTED\tFINISHED\tDURATION\tHTTP\tERROR", rows)
}

// executionPath is the path of execution id; an id that cannot be one is refused here.
func executionPath(id string) (string, error) {
	if !domain.WellFormedID(id) {
		return "", usageError{fmt.Errorf("%q is not an execution id", id)}
	}
	return "/api/v1/executions/" + url.PathEscape(id), nil
}

func executionsGetCommand(e env) *cobra.Command {
	var format *string
	cmd := e.apiCommand("get ID", "Show an execution with every attempt", cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		path, err := executionPath(args[0])
		if err != nil {
			return err
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: path})
		if err != nil {
			return err
		}
		return showOne(cmd.OutOrStdout(), *format, resp.body, func(x domain.Execution) {
			executionFields(cmd.OutOrStdout(), newJobNames(c), cmd, x, e.local)
		})
	})
	format = outputFlag(cmd)
	return cmd
}

func executionsCancelCommand(e env) *cobra.Command {
	var reason string
	var format *string
	cmd := e.apiCommand("cancel ID", "Cancel a queued or running execution", cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		path, err := executionPath(args[0])
		if err != nil {
			return err
		}
		var body any
		if reason != "" {
			body = map[string]string{"reason": reason}
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: path + "/cancel", body: body})
		if err != nil {
			return err
		}
		return showOne(cmd.OutOrStdout(), *format, resp.body, func(x domain.Execution) {
			fmt.Fprintf(cmd.OutOrStdout(), "execution %s is %s\n", x.ID, x.Status)
		})
	})
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the record")
	format = outputFlag(cmd)
	return cmd
}
