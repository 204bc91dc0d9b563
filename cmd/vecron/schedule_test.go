package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runCLI runs `vecron <args>` in process as main does, with a fixed clock, and returns what it
// wrote and its exit status.
func runCLI(t *testing.T, now time.Time, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	root := &cobra.Command{Use: "vecron", SilenceUsage: true, SilenceErrors: true}
	dir := t.TempDir()
	e := env{getenv: func(string) string { return "" }, configDir: func() (string, error) { return dir, nil },
		local: time.UTC, now: func() time.Time { return now }}
	root.AddCommand(scheduleCommand(e)) // with a fixed clock
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(&errb, "vecron:", err)
		code = exitCode(err)
	}
	return out.String(), errb.String(), code
}

func TestScheduleNext(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 7, 3, 0, 0, 0, time.UTC) // a Friday, 10:00 in Ho Chi Minh City
	tests := []struct {
		name string
		args []string
		want []string // stdout lines
	}{
		{
			name: "WeekdaysInDefaultZone",
			args: []string{"--cron", "0 0 9 ? * MON-FRI", "--after", "2025-03-07T03:00:00Z", "--count", "3"},
			want: []string{"2025-03-10T02:00:00Z", "2025-03-11T02:00:00Z", "2025-03-12T02:00:00Z"},
		},
		{
			name: "AfterDefaultsToNow",
			args: []string{"--cron", "0 0 9 ? * MON-FRI", "--count", "1"},
			want: []string{"2025-03-10T02:00:00Z"},
		},
		{
			name: "DefaultCountIsTen",
			args: []string{"--cron", "@hourly", "--tz", "UTC", "--after", "2025-01-01T00:00:00Z"},
			want: []string{"2025-01-01T01:00:00Z", "2025-01-01T02:00:00Z", "2025-01-01T03:00:00Z", "2025-01-01T04:00:00Z",
				"2025-01-01T05:00:00Z", "2025-01-01T06:00:00Z", "2025-01-01T07:00:00Z", "2025-01-01T08:00:00Z",
				"2025-01-01T09:00:00Z", "2025-01-01T10:00:00Z"},
		},
		{
			name: "FewerWhenTheScheduleEnds",
			args: []string{"--cron", "0 0 0 1 1 ? 2030,2031", "--tz", "UTC", "--after", "2025-01-01T00:00:00Z"},
			want: []string{"2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"},
		},
		{
			name: "DSTGapSkip",
			args: []string{"--cron", "0 30 2 * * ?", "--tz", "America/New_York", "--after", "2025-03-08T12:00:00Z", "--count", "2", "--dst-gap", "skip"},
			want: []string{"2025-03-10T06:30:00Z", "2025-03-11T06:30:00Z"},
		},
		{
			name: "DSTOverlapBoth",
			args: []string{"--cron", "0 30 1 * * ?", "--tz", "America/New_York", "--after", "2025-11-01T12:00:00Z", "--count", "3", "--dst-overlap", "both"},
			want: []string{"2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z", "2025-11-03T06:30:00Z"},
		},
		{
			name: "FixedRateWithExcludedDate",
			args: []string{"--every", "8h", "--anchor", "2025-09-01T00:00:00Z", "--exclude", "2025-09-02", "--after", "2025-08-31T23:59:59Z", "--count", "4"},
			want: []string{"2025-09-01T00:00:00Z", "2025-09-01T08:00:00Z", "2025-09-01T16:00:00Z", "2025-09-03T00:00:00Z"},
		},
		{
			name: "FixedDelay",
			args: []string{"--kind", "fixed_delay", "--every", "90m", "--after", "2025-01-01T00:00:00Z", "--count", "2", "--end-at", "2025-01-01T02:00:00Z"},
			want: []string{"2025-01-01T01:30:00Z"},
		},
		{
			name: "Once",
			args: []string{"--at", "2025-06-01T12:00:00+07:00", "--after", "2025-01-01T00:00:00Z"},
			want: []string{"2025-06-01T05:00:00Z"},
		},
		{
			name: "Window",
			args: []string{"--cron", "@daily", "--tz", "UTC", "--start-at", "2025-01-10T00:00:00Z", "--end-at", "2025-01-11T00:00:00Z", "--after", "2025-01-01T00:00:00Z"},
			want: []string{"2025-01-10T00:00:00Z", "2025-01-11T00:00:00Z"},
		},
		{
			name: "JitterWithSeed",
			args: []string{"--cron", "0 0 * * * ?", "--tz", "UTC", "--jitter", "1m", "--seed", "job-a", "--after", "2025-01-01T00:30:00Z", "--count", "2"},
			want: []string{"2025-01-01T01:00:36.209Z", "2025-01-01T02:00:36.209Z"},
		},
		{
			name: "Explain",
			args: []string{"--cron", "0 30 2 * * ?", "--tz", "America/New_York", "--after", "2025-03-08T12:00:00Z", "--count", "2", "--explain"},
			want: []string{
				"2025-03-09T07:00:00Z\t2025-03-09 03:00:00 EDT\tdst_gap_shifted: 2025-03-09 02:30 does not exist in America/New_York; fired when the gap ended",
				"2025-03-10T06:30:00Z\t2025-03-10 02:30:00 EDT",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runCLI(t, now, append([]string{"schedule", "next"}, tt.args...)...)
			assert.Equal(t, 0, code, "stderr: %s", stderr)
			assert.Empty(t, stderr)
			assert.Equal(t, strings.Join(tt.want, "\n")+"\n", stdout)
		})
	}
}

func TestScheduleNextInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string // substring of stderr
	}{
		{name: "CronOutOfRange", args: []string{"--cron", "0 0 12 32 * ?"}, want: `vecron: --cron: day-of-month: "32" is out of range 1-31`},
		{name: "BothDayFields", args: []string{"--cron", "0 0 12 15 * MON"}, want: "use ? in one of them"},
		{name: "NeverFires", args: []string{"--cron", "0 0 0 31 2 ?"}, want: "--cron: never fires"},
		{name: "UnknownZone", args: []string{"--cron", "@daily", "--tz", "Mars/Base"}, want: `--tz: unknown time zone "Mars/Base"`},
		{name: "EveryFieldAtOnce", args: []string{"--cron", "0 0 25 * * ?", "--tz", "Local", "--dst-gap", "later", "--exclude", "2025-02-30"},
			want: "vecron: --tz: unknown time zone \"Local\": name an IANA zone such as \"Asia/Ho_Chi_Minh\"\n--cron: hour: \"25\" is out of range 0-23\n--dst-gap: \"later\" is not a policy: use \"shift_forward\" or \"skip\"\n--exclude [0]: \"2025-02-30\" is not a date"},
		{name: "BadAfter", args: []string{"--cron", "@daily", "--after", "yesterday"}, want: `--after: want an RFC 3339 instant such as 2025-01-02T15:04:05Z, got "yesterday"`},
		{name: "ZeroCount", args: []string{"--cron", "@daily", "--count", "0"}, want: "--count must be from 1 to 10000, got 0"},
		{name: "CountNotANumber", args: []string{"--cron", "@daily", "--count", "many"}, want: `invalid argument "many" for "--count"`},
		{name: "UnknownFlag", args: []string{"--cron", "@daily", "--bogus"}, want: "unknown flag: --bogus"},
		{name: "PositionalArgument", args: []string{"0 0 9 * * ?"}, want: `unexpected argument "0 0 9 * * ?"`},
		{name: "NoSchedule", args: []string{"--tz", "UTC"}, want: "no schedule: pass --cron, --every or --at"},
		{name: "FixedRateWithoutAnchor", args: []string{"--every", "1h"}, want: "--anchor: is required for fixed_rate"},
		{name: "KindConflict", args: []string{"--kind", "once", "--cron", "@daily"}, want: "--at: is required for once: the instant it fires at\n--cron: does not apply to kind \"once\""},
		{name: "JitterTooLarge", args: []string{"--cron", "@daily", "--jitter", "2h"}, want: "--jitter: must be at most 1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, code := runCLI(t, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), append([]string{"schedule", "next"}, tt.args...)...)
			assert.Equal(t, 2, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, tt.want)
		})
	}
}

func TestScheduleCommandRejectsArguments(t *testing.T) {
	t.Parallel()
	_, stderr, code := runCLI(t, time.Now(), "schedule", "nxt")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `vecron: unknown command "nxt" for "vecron schedule": use "vecron schedule next"`)
}

// TestScheduleNextWithCalendars: --calendars asks the API's preview, which skips the calendars'
// days and says why.
func TestScheduleNextWithCalendars(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	_, stderr, code := a.run(holidaysYAML, "calendars", "create", "-f", "-")
	require.Equal(t, 0, code, stderr)
	args := []string{"schedule", "next", "--cron", "0 0 9 * * ?", "--tz", "UTC", "--after", "2027-02-04T12:00:00Z", "--count", "3"}

	require.Equal(t, "2027-02-05T09:00:00Z\n2027-02-06T09:00:00Z\n2027-02-07T09:00:00Z\n", a.ok(args...), "offline: no calendar")
	require.Equal(t, "2027-02-05T09:00:00Z\n2027-02-08T09:00:00Z\n2027-02-09T09:00:00Z\n", a.ok(append(args, "--calendars", "vn-holidays")...),
		"Tết (a Saturday) and the Sunday are skipped")
	out := a.ok(append(args, "--calendars", "vn-holidays", "--explain")...)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, "2027-02-05T09:00:00Z\t2027-02-05 09:00:00 UTC", lines[0])
	require.True(t, strings.HasPrefix(lines[1], "2027-02-08T09:00:00Z\t2027-02-08 09:00:00 UTC\texcluded_date: "), lines[1])
	require.Contains(t, lines[1], "excluded by vn-holidays: Tết")

	_, stderr, code = a.run("", append(args, "--calendars", "vn-holidays,no-such-calendar")...)
	require.Equal(t, exitInvalid, code, stderr)
	require.Contains(t, stderr, "vecron: Invalid input (400):\n  --calendars [1]: ")
	_, stderr, code = a.run("", append(args, "--calendars", "vn-holidays", "--count", "1001")...)
	require.Equal(t, exitUsage, code, stderr)
	require.Contains(t, stderr, "--count must be from 1 to 1000 with --calendars")
	_, stderr, code = a.run("", "schedule", "next", "--cron", "0 0 25 * * ?", "--calendars", "vn-holidays")
	require.Equal(t, exitUsage, code, "the flags are checked before the API is called")
	require.Contains(t, stderr, "--cron: hour: \"25\" is out of range 0-23")
}
