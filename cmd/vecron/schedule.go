package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
)

// scheduleCommand is `vecron schedule`: check schedules offline, without a server.
func scheduleCommand() *cobra.Command {
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
	cmd.AddCommand(scheduleNextCommand(time.Now))
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
	exclude                    []string
	explain                    bool
}

// maxCount bounds --count.
const maxCount = 10_000

// scheduleNextCommand is `vecron schedule next`; now is the clock --after defaults to.
func scheduleNextCommand(now func() time.Time) *cobra.Command {
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
(--at). It is evaluated in --tz (default Asia/Ho_Chi_Minh).`,
		Example: `  vecron schedule next --cron "0 0 9 ? * MON-FRI" --count 5
  vecron schedule next --cron "0 30 2 * * ?" --tz America/New_York --after 2025-03-08T00:00:00Z --dst-gap skip
  vecron schedule next --every 8h --anchor 2025-09-01T00:00:00Z --exclude 2025-09-02 --explain`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScheduleNext(cmd.OutOrStdout(), f, now)
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
	for _, fire := range s.WithSeed(f.seed).Preview(after, f.count) {
		line := fire.At.Format(time.RFC3339Nano)
		if f.explain {
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
