package main

import (
	"encoding/json"
	"errors"
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

// freezesCommand is `vecron freezes`: windows in which the scheduled fires of a namespace, or of
// every namespace, are held.
func freezesCommand(e env) *cobra.Command {
	cmd := &cobra.Command{Use: "freezes", Short: "Freeze the schedules of a namespace for a change window, list and lift freezes",
		Long: `While a freeze holds, every scheduled fire of the namespace's jobs (of every namespace with
--all) is recorded as skipped, with the freeze's reason; jobs stay enabled and their next runs
keep advancing, so nothing has to be resumed when it ends or is lifted. Runs started by hand
need --force (docs/calendars-and-freezes.md).`}
	cmd.AddCommand(freezesListCommand(e), freezesGetCommand(e), freezesCreateCommand(e), freezesLiftCommand(e))
	return cmd
}

// freezeState is where a freeze stands at now: planned, active, lifted or ended.
func freezeState(f domain.Freeze, now time.Time) string {
	switch {
	case f.LiftedAt != nil:
		return "lifted"
	case !now.Before(f.EndsAt):
		return "ended"
	case f.Active || !now.Before(f.StartsAt):
		return "active"
	}
	return "planned"
}

func freezesListCommand(e env) *cobra.Command {
	var namespace string
	var ended bool
	var lf *listFlags
	cmd := e.apiCommand("list", "List the freezes not over yet (--ended: every one), newest first", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			q := url.Values{}
			if ended {
				q.Set("ended", "true")
			}
			return lf.showNamespaced(cmd, c, "/api/v1/freezes", q, namespace, func(items []json.RawMessage) error {
				list, err := decodeItems[domain.Freeze](items)
				if err != nil {
					return err
				}
				rows := make([][]string, len(list))
				for i, f := range list {
					ends := f.EndsAt
					if f.LiftedAt != nil && f.LiftedAt.Before(ends) {
						ends = *f.LiftedAt
					}
					rows[i] = []string{f.ID, f.Namespace, freezeState(f, e.now()), clock(&f.StartsAt, e.local, "-"),
						clock(&ends, e.local, "-"), clip(f.Reason, 50)}
				}
				table(cmd.OutOrStdout(), "ID\tNAMESPACE\tSTATE\tFROM\tUNTIL\tREASON", rows)
				return nil
			})
		})
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only the freezes that hold this namespace: its own and those of every namespace (* for those alone)")
	cmd.Flags().BoolVar(&ended, "ended", false, "also the freezes that ended or were lifted")
	lf = addListFlags(cmd)
	return cmd
}

// freezeFields writes one freeze for people.
func freezeFields(w io.Writer, f domain.Freeze, now time.Time, local *time.Location) {
	ns := f.Namespace
	if ns == domain.AllNamespaces {
		ns = "* (every namespace)"
	}
	by := func(t *time.Time, who string) string {
		s := clock(t, local, "")
		if s != "" && who != "" {
			s += " by " + who
		}
		return s
	}
	fields(w, [][2]string{
		{"ID", f.ID},
		{"Namespace", ns},
		{"Reason", f.Reason},
		{"State", freezeState(f, now)},
		{"From", clock(&f.StartsAt, local, "-")},
		{"Until", clock(&f.EndsAt, local, "-")},
		{"Lifted", by(f.LiftedAt, f.LiftedBy)},
		{"Created", by(&f.CreatedAt, f.CreatedBy)},
	})
}

func freezesGetCommand(e env) *cobra.Command {
	var format *string
	cmd := e.apiCommand("get ID", "Show a freeze", cobra.ExactArgs(1), func(cmd *cobra.Command, c *client, args []string) error {
		if err := checkFormat(*format); err != nil {
			return err
		}
		resp, err := c.do(cmd.Context(), request{method: http.MethodGet, path: "/api/v1/freezes/" + url.PathEscape(args[0])})
		if err != nil {
			return err
		}
		return showOne(cmd.OutOrStdout(), *format, resp.body, func(f domain.Freeze) { freezeFields(cmd.OutOrStdout(), f, e.now(), e.local) })
	})
	format = outputFlag(cmd)
	return cmd
}

func freezesCreateCommand(e env) *cobra.Command {
	var namespace, reason, from, until, span string
	var all bool
	var format *string
	cmd := e.apiCommand("create -n NAMESPACE|--all --reason TEXT --until TIME|--for DURATION",
		"Freeze the scheduled fires of a namespace, or of every namespace, for a while", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			body, err := freezeBody(namespace, all, reason, from, until, span, e.now(), e.local)
			if err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodPost, path: "/api/v1/freezes", body: body})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(f domain.Freeze) {
				fmt.Fprintf(cmd.OutOrStdout(), "froze %s from %s until %s: freeze %s; lift it early with vecron freezes lift %s\n",
					namespaceLabel(f.Namespace), clock(&f.StartsAt, e.local, "now"), clock(&f.EndsAt, e.local, "?"), f.ID, f.ID)
			})
		})
	cmd.Long = `Holds every scheduled fire of the namespace's jobs (-n), or of every namespace's (--all), from
--from (default now) until --until, or for --for: each is recorded as a skipped execution
naming the reason. Jobs are not paused, so nothing has to be resumed afterwards. A freeze lasts
at most 90 days and may start up to a year ahead.

Times are RFC 3339 instants (2026-12-31T17:00:00Z), or dates and times in the local zone
(2026-12-31, 2026-12-31 17:00). Durations are Go durations or days: 90m, 4h, 2d.`
	cmd.Example = `  vecron freezes create -n payments --reason "core banking upgrade" --for 4h
  vecron freezes create --all --reason "year-end close" --from "2026-12-31 17:00" --until "2027-01-01 06:00"`
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "namespace to freeze")
	cmd.Flags().BoolVar(&all, "all", false, "freeze every namespace")
	cmd.Flags().StringVar(&reason, "reason", "", "why the jobs must not run; shown on every fire it holds")
	cmd.Flags().StringVar(&from, "from", "", "when the freeze starts (default now)")
	cmd.Flags().StringVar(&until, "until", "", "when the freeze ends")
	cmd.Flags().StringVar(&span, "for", "", "how long the freeze lasts, from --from or now: 90m, 4h, 2d")
	format = outputFlag(cmd)
	return cmd
}

// freezeBody is the request that creates the freeze the flags describe, now in zone local.
func freezeBody(namespace string, all bool, reason, from, until, span string, now time.Time, local *time.Location) (map[string]any, error) {
	switch {
	case all && namespace != "":
		return nil, usageError{errors.New("-n and --all: freeze one namespace, or every one, not both")}
	case all:
		namespace = domain.AllNamespaces
	case namespace == "":
		return nil, usageError{errors.New("-n: name the namespace to freeze, or pass --all for every namespace")}
	}
	if (until == "") == (span == "") {
		return nil, usageError{errors.New("--until or --for: say when the freeze ends, with one of them")}
	}
	body := map[string]any{"namespace": namespace, "reason": reason}
	start := now
	if from != "" {
		t, err := parseWhen("from", from, local)
		if err != nil {
			return nil, err
		}
		start = t
		body["starts_at"] = t.Format(time.RFC3339Nano)
	}
	var end time.Time
	if until != "" {
		t, err := parseWhen("until", until, local)
		if err != nil {
			return nil, err
		}
		end = t
	} else {
		d, err := parseSpan("for", span)
		if err != nil {
			return nil, err
		}
		end = start.Add(d)
	}
	body["ends_at"] = end.UTC().Format(time.RFC3339Nano)
	return body, nil
}

// maxSpanDays bounds a span in days, far beyond any freeze the API takes, so that the sum
// cannot overflow.
const maxSpanDays = 3660

// parseSpan reads a positive duration of flag: a Go duration (90m, 4h) or whole days (2d).
func parseSpan(flag, s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= maxSpanDays {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	return 0, usageError{fmt.Errorf("--%s: %q is not a duration such as 90m, 4h or 2d", flag, s)}
}

// parseWhen reads an instant of flag: RFC 3339, or a date or a date and time in zone local. It
// returns it in UTC.
func parseWhen(flag, s string, local *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	// A time written without a zone is read in the local one.
	for _, layout := range []string{time.DateOnly, "2006-01-02 15:04", "2006-01-02T15:04", time.DateTime, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, local); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usageError{fmt.Errorf("--%s: %q is neither an RFC 3339 instant (2026-12-31T17:00:00Z) nor a local date "+
		"or time (2026-12-31, 2026-12-31 17:00)", flag, s)}
}

func freezesLiftCommand(e env) *cobra.Command {
	var format *string
	cmd := e.apiCommand("lift ID", "End a freeze now; it stays on record (list --ended)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, c *client, args []string) error {
			if err := checkFormat(*format); err != nil {
				return err
			}
			resp, err := c.do(cmd.Context(), request{method: http.MethodDelete, path: "/api/v1/freezes/" + url.PathEscape(args[0])})
			if err != nil {
				return err
			}
			return showOne(cmd.OutOrStdout(), *format, resp.body, func(f domain.Freeze) {
				fmt.Fprintf(cmd.OutOrStdout(), "lifted freeze %s of %s: its jobs fire again from the next claim\n", f.ID, namespaceLabel(f.Namespace))
			})
		})
	format = outputFlag(cmd)
	return cmd
}
