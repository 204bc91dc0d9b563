package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// scheduleCommand is `vecron schedule`: check schedules offline, without a server (with
// --calendars, through the API's preview, which reads them).
func scheduleCommand(e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Check schedules offline: list when a cron expression or interval fires",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for \"vecron schedule\": use \"vecron schedule next\"", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(scheduleNextCommand(e))
	return cmd
}

// scheduleNextFlags are the flags of `vecron schedule next`.
type scheduleNextFlags struct {
	kind, cron, tz             string
	every, jitter              time.Duration
	anchor, at, startAt, endAt string
	after                      string
	count                      int
	dstGap, dstOverlap, seed   string
	exclude, calendars         []string
	explain                    bool
	server                     string
}

// maxCount bounds --count.
const maxCount = 10_000

// scheduleNextCommand is `vecron schedule next`; e.now is the clock --after defaults to.
func scheduleNextCommand(e env) *cobra.Command {
	var f scheduleNextFlags
	cmd := &cobra.Command{
		Use:   "next",
		Short: "Print the next fire instants of a schedule, one RFC 3339 UTC timestamp per line",
		Long: `Prints the next fires of a schedule strictly after --after (default: now), one RFC 3339 UTC
timestamp per line: --count of them, fewer when the schedule ends. Invalid input exits with
status 2 and says why on stderr.

The schedule is a Quartz cron expression (--cron "0 15 10 ? * MON-FRI"), a 5-field Unix one or a
descriptor (@daily, @every 90s); a fixed rate (--every 15m with --anchor or --start-at); a fixed
delay (--kind fixed_delay --every 15m: each fire is every after the one before); or one instant
(--at). It is evaluated in --tz (default Asia/Ho_Chi_Minh).

With --calendars the schedule is sent to the API's preview (POST /api/v1/schedules/preview) as
the signed-in user, which skips the excluded days and keeps to the business days of those
calendars, as the job's own planning does; --explain then names the calendar and label of each
skipped day. The flags are checked here first (status 2); a calendar the API refuses, or that
leaves the schedule no fire, exits with status 6, and at most 1000 fires are listed.`,
		Example: `  vecron schedule next --cron "0 0 9 ? * MON-FRI" --count 5
  vecron schedule next --cron "0 30 2 * * ?" --tz America/New_York --after 2025-03-08T00:00:00Z --dst-gap skip
  vecron schedule next --every 8h --anchor 2025-09-01T00:00:00Z --exclude 2025-09-02 --explain
  vecron schedule next --cron "0 0 9 * * ?" --calendars vn-holidays --explain`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(f.calendars) > 0 {
				return previewScheduleNext(cmd, e, f)
			}
			return runScheduleNext(cmd.OutOrStdout(), f, e.now)
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	fl := cmd.Flags()
	fl.StringVar(&f.cron, "cron", "", "cron expression: Quartz (6 or 7 fields, seconds first), Unix (5 fields) or @descriptor")
	fl.StringVar(&f.kind, "kind", "", "schedule kind: cron, fixed_rate, fixed_delay or once (default: from the other flags)")
	fl.DurationVar(&f.every, "every", 0, "interval of a fixed_rate (default with --every) or fixed_delay schedule")
	fl.StringVar(&f.anchor, "anchor", "", "RFC 3339 instant a fixed_rate or @every schedule is aligned to")
	fl.StringVar(&f.at, "at", "", "RFC 3339 instant of a once schedule")
	fl.StringVar(&f.startAt, "start-at", "", "RFC 3339 instant: no fire before it")
	fl.StringVar(&f.endAt, "end-at", "", "RFC 3339 instant: no fire after it")
	fl.StringSliceVar(&f.exclude, "exclude", nil, "excluded local date YYYY-MM-DD (repeatable, or comma-separated)")
	fl.DurationVar(&f.jitter, "jitter", 0, "jitter bound (at most 1h); the offset comes from --seed")
	fl.StringVar(&f.seed, "seed", "", "job id the jitter offset is derived from")
	fl.StringVar(&f.tz, "tz", "", "IANA time zone (default "+domain.DefaultTimezone+")")
	fl.StringVar(&f.after, "after", "", "RFC 3339 instant to list fires after (default now)")
	fl.IntVar(&f.count, "count", 10, fmt.Sprintf("how many fires to print (1 to %d)", maxCount))
	fl.StringVar(&f.dstGap, "dst-gap", "", "local times a spring-forward skips: shift_forward (default) or skip")
	fl.StringVar(&f.dstOverlap, "dst-overlap", "", "local times a fall-back repeats: first (default), last or both")
	fl.BoolVar(&f.explain, "explain", false, "also print each fire's local time and what DST, excluded dates or jitter did to it")
	fl.StringSliceVar(&f.calendars, "calendars", nil, "shared calendars whose days apply too (comma-separated): asks the API, as the signed-in user")
	fl.StringVar(&f.server, "server", "", "URL of the vecron API, with --calendars (default: $VECRON_SERVER, else the server of vecron login, else "+serverDefault+")")
	return cmd
}

// noArgs rejects positional arguments as a usage error.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("unexpected argument %q: pass the schedule with flags, such as --cron \"0 0 9 * * ?\"", args[0])}
	}
	return nil
}

func runScheduleNext(out io.Writer, f scheduleNextFlags, now func() time.Time) error {
	in, after, err := f.schedule(now)
	if err != nil {
		return usageError{err}
	}
	if f.count < 1 || f.count > maxCount {
		return usageError{fmt.Errorf("--count must be from 1 to %d, got %d", maxCount, f.count)}
	}
	s, err := schedule.Parse(in, f.tz)
	if err != nil {
		return usageError{flagErrors(err)}
	}
	return printFires(out, s.WithSeed(f.seed).Preview(after, f.count), f.explain)
}

// printFires writes one fire a line: its UTC instant, with explain its local time and notes.
func printFires(out io.Writer, fires []schedule.Fire, explain bool) error {
	for _, fire := range fires {
		line := fire.At.Format(time.RFC3339Nano)
		if explain {
			notes := make([]string, len(fire.Notes))
			for i, n := range fire.Notes {
				notes[i] = n.Kind + ": " + n.Detail
			}
			line += "\t" + fire.Local.Format("2006-01-02 15:04:05.999 MST") + "\t" + strings.Join(notes, "; ")
			line = strings.TrimRight(line, "\t")
		}
		if _, err := fmt.Fprintln(out, line); err != nil {
			return err
		}
	}
	return nil
}

// previewCountMax is the most fires the API's preview lists.
const previewCountMax = 1000

// previewScheduleNext is `vecron schedule next --calendars`: the flags are checked here as
// offline, then the API previews the schedule with the calendars, as the signed-in user.
func previewScheduleNext(cmd *cobra.Command, e env, f scheduleNextFlags) error {
	in, after, err := f.schedule(e.now)
	if err != nil {
		return usageError{err}
	}
	if f.count < 1 || f.count > previewCountMax {
		return usageError{fmt.Errorf("--count must be from 1 to %d with --calendars, got %d", previewCountMax, f.count)}
	}
	if _, err := schedule.Parse(in, f.tz); err != nil {
		return usageError{flagErrors(err)}
	}
	in.Calendars = f.calendars
	srv := e.serverURL(f.server)
	token, err := e.bearerToken(cmd.Context(), srv)
	if err != nil {
		return err
	}
	var answer struct {
		Timezone string `json:"timezone"`
		Fires    []struct {
			At    time.Time       `json:"at"`
			Local string          `json:"local"`
			Notes []schedule.Note `json:"notes"`
		} `json:"fires"`
	}
	c := &client{server: srv, token: token}
	body := map[string]any{"schedule": in, "timezone": f.tz, "after": after, "count": f.count, "seed": f.seed}
	if err := c.call(cmd.Context(), http.MethodPost, "/api/v1/schedules/preview", body, &answer); err != nil {
		var p *apiError
		if errors.As(err, &p) {
			for i := range p.Fields { // say the flags, as offline
				p.Fields[i].Field = flagName(p.Fields[i].Field)
			}
		}
		return err
	}
	zone := zoneOf(answer.Timezone, time.UTC)
	fires := make([]schedule.Fire, len(answer.Fires))
	for i, x := range answer.Fires {
		fires[i] = schedule.Fire{At: x.At.UTC(), Local: x.At.In(zone), Notes: x.Notes}
	}
	return printFires(cmd.OutOrStdout(), fires, f.explain)
}

// schedule builds the domain schedule and the instant to list fires after from the flags.
func (f scheduleNextFlags) schedule(now func() time.Time) (domain.Schedule, time.Time, error) {
	var (
		in   domain.Schedule
		errs []error
	)
	instant := func(flag, v string) *time.Time {
		if v == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			errs = append(errs, fmt.Errorf("--%s: want an RFC 3339 instant such as 2025-01-02T15:04:05Z, got %q", flag, v))
			return nil
		}
		return &t
	}
	in.Cron, in.Every, in.Jitter = f.cron, domain.Duration(f.every), domain.Duration(f.jitter)
	in.Anchor, in.At = instant("anchor", f.anchor), instant("at", f.at)
	in.StartAt, in.EndAt = instant("start-at", f.startAt), instant("end-at", f.endAt)
	in.DSTGap, in.DSTOverlap, in.ExcludedDates = f.dstGap, f.dstOverlap, f.exclude
	in.Kind = domain.ScheduleKind(f.kind)
	if in.Kind == "" {
		switch {
		case f.cron != "":
			in.Kind = domain.ScheduleCron
		case f.at != "":
			in.Kind = domain.ScheduleOnce
		case f.every != 0:
			in.Kind = domain.ScheduleFixedRate
		default:
			errs = append(errs, errors.New("no schedule: pass --cron, --every or --at"))
		}
	}
	after := now()
	if t := instant("after", f.after); t != nil {
		after = *t
	}
	return in, after, errors.Join(errs...)
}

// flagName returns the flag of this command that sets a field a schedule's validation names.
func flagName(field string) string {
	switch field {
	case "timezone":
		return "--tz"
	case "schedule.start_at":
		return "--start-at"
	case "schedule.end_at":
		return "--end-at"
	case "schedule.dst_gap":
		return "--dst-gap"
	case "schedule.dst_overlap":
		return "--dst-overlap"
	}
	if strings.HasPrefix(field, "schedule.excluded_dates[") {
		return "--exclude " + strings.TrimPrefix(field, "schedule.excluded_dates")
	}
	if strings.HasPrefix(field, "schedule.calendars[") {
		return "--calendars " + strings.TrimPrefix(field, "schedule.calendars")
	}
	return "--" + strings.TrimPrefix(field, "schedule.")
}

// flagErrors rewrites a validation error in terms of flags, one problem per line.
func flagErrors(err error) error {
	var verr *domain.ValidationError
	if !errors.As(err, &verr) {
		return err
	}
	lines := make([]string, len(verr.Fields))
	for i, fe := range verr.Fields {
		lines[i] = flagName(fe.Field) + ": " + fe.Reason
	}
	return errors.New(strings.Join(lines, "\n"))
}
