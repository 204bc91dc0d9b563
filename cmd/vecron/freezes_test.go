package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// clocks hides the instants of a table of freezes, which are relative to the real clock, keeping
// the table's alignment.
func clocks(s string) string {
	return regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC`).ReplaceAllString(s, "2026-01-01 00:00:00 UTC")
}

// TestFreezes: a freeze made for an hour shows in the list, and lifting it ends it and keeps it
// on record.
func TestFreezes(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)

	out, stderr, code := a.run("", "freezes", "create", "-n", "payments", "--reason", "core banking upgrade", "--for", "1h", "-o", "json")
	require.Equal(t, 0, code, stderr)
	var f domain.Freeze
	require.NoError(t, json.Unmarshal([]byte(out), &f))
	require.Equal(t, "payments", f.Namespace)
	require.True(t, f.Active)
	require.InDelta(t, time.Hour.Seconds(), f.EndsAt.Sub(f.StartsAt).Seconds(), 60, "--for 1h from now")

	later := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	out = a.ok("freezes", "create", "--all", "--reason", "year-end close", "--from", later, "--for", "2d")
	all := regexp.MustCompile(`^froze every namespace from .+ until .+: freeze ([0-9a-f-]{36}); lift it early with vecron freezes lift ([0-9a-f-]{36})\n$`).FindStringSubmatch(out)
	require.Len(t, all, 3, out)
	require.Equal(t, all[1], all[2])

	golden(t, "freezes-list", clocks(stable(a.ok("freezes", "list"), all[1], f.ID)))
	ops := a.ok("freezes", "list", "-n", "ops")
	require.Contains(t, ops, all[1], "a freeze of every namespace holds ops")
	require.NotContains(t, ops, f.ID)
	require.Contains(t, a.ok("freezes", "list", "-n", "payments"), f.ID)
	golden(t, "freezes-get", whenAndWho(clocks(stable(a.ok("freezes", "get", f.ID), f.ID))))
	var got, want any
	require.NoError(t, json.Unmarshal([]byte(a.ok("freezes", "get", f.ID, "-o", "json")), &got))
	require.NoError(t, json.Unmarshal(a.get("/api/v1/freezes/"+f.ID), &want))
	require.Equal(t, want, got)

	require.Equal(t, "lifted freeze "+f.ID+" of namespace payments: its jobs fire again from the next claim\n", a.ok("freezes", "lift", f.ID))
	require.NotContains(t, a.ok("freezes", "list"), f.ID, "a lifted freeze is over")
	ended := a.ok("freezes", "list", "--ended")
	require.Regexp(t, f.ID+`  payments   lifted `, ended)
	var lifted domain.Freeze
	require.NoError(t, json.Unmarshal([]byte(a.ok("freezes", "get", f.ID, "-o", "json")), &lifted))
	require.NotNil(t, lifted.LiftedAt)
	require.False(t, lifted.Active)

	t.Run("Invalid", func(t *testing.T) {
		_, stderr, code := a.run("", "freezes", "create", "-n", "payments", "--reason", " ", "--for", "91d")
		require.Equal(t, exitInvalid, code, stderr)
		require.Contains(t, stderr, "vecron: Invalid input (400):\n")
		require.Contains(t, stderr, "\n  reason: is required")
		require.Contains(t, stderr, "\n  ends_at: ")
	})
	t.Run("NotFound", func(t *testing.T) {
		_, stderr, code := a.run("", "freezes", "get", "01937a6e-0000-7000-8000-000000000000")
		require.Equal(t, exitNotFound, code, stderr)
		_, _, code = a.run("", "freezes", "lift", "01937a6e-0000-7000-8000-000000000000")
		require.Equal(t, exitNotFound, code)
	})
	t.Run("ViewerCannotFreeze", func(t *testing.T) {
		token := viewerToken(t, a)
		_, stderr, code := a.runAs(token, "", "freezes", "create", "-n", "payments", "--reason", "mine", "--for", "1h")
		require.Equal(t, exitUnauthorized, code, stderr)
		require.Equal(t, "vecron: Forbidden (403): missing permission job:enable\n", stderr)
		out, stderr, code := a.runAs(token, "", "freezes", "list")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, all[1])
	})
	t.Run("UsageErrors", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"--reason", "x", "--for", "1h"}, "-n: name the namespace to freeze, or pass --all"},
			{[]string{"-n", "a", "--all", "--reason", "x", "--for", "1h"}, "-n and --all"},
			{[]string{"-n", "a", "--reason", "x"}, "--until or --for"},
			{[]string{"-n", "a", "--reason", "x", "--for", "1h", "--until", "2030-01-01"}, "--until or --for"},
			{[]string{"-n", "a", "--reason", "x", "--for", "soon"}, `--for: "soon" is not a duration`},
			{[]string{"-n", "a", "--reason", "x", "--until", "tomorrow"}, `--until: "tomorrow" is neither`},
			{[]string{"-n", "a", "--reason", "x", "--for", "1h", "--from", "31/12/2026"}, `--from: "31/12/2026" is neither`},
		} {
			_, stderr, code := a.run("", append([]string{"freezes", "create"}, c.args...)...)
			require.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
			require.Contains(t, stderr, c.want)
		}
	})
}

func TestFreezeBodyReadsTimesInTheLocalZone(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 30, 3, 0, 0, 0, time.UTC)
	hcm := time.FixedZone("+07", 7*3600)
	body, err := freezeBody("", true, "year-end close", "2026-12-31 17:00", "2027-01-01", "", now, hcm)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"namespace": "*", "reason": "year-end close",
		"starts_at": "2026-12-31T10:00:00Z", "ends_at": "2026-12-31T17:00:00Z"}, body)
	body, err = freezeBody("payments", false, "upgrade", "", "", "90m", now, hcm)
	require.NoError(t, err)
	require.Equal(t, map[string]any{"namespace": "payments", "reason": "upgrade", "ends_at": "2026-12-30T04:30:00Z"}, body,
		"without --from the API starts it now; --for counts from the command's clock")
}

// FuzzParseFreezeTimes: --from, --until and --for never panic; what they accept is an instant in
// UTC (exactly the instant for RFC 3339) and a positive duration.
func FuzzParseFreezeTimes(f *testing.F) {
	for _, s := range []string{"1h", "90m", "2d", "0d", "-1h", "3661d", "99999999999d", "2026-12-31", "2026-12-31 17:00",
		"2026-12-31T17:00:00+07:00", "2026-12-31T17:00", " 2d ", "", "1e9h"} {
		f.Add(s)
	}
	zone := time.FixedZone("+07", 7*3600)
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseSpan("for", s); err == nil {
			if d <= 0 {
				t.Fatalf("%q: a span of %v", s, d)
			}
		} else if exitCode(err) != exitUsage {
			t.Fatalf("%q: a bad span is a usage error, got %v", s, err)
		}
		got, err := parseWhen("until", s, zone)
		if err != nil {
			if exitCode(err) != exitUsage {
				t.Fatalf("%q: a bad time is a usage error, got %v", s, err)
			}
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("%q: %v is not UTC", s, got)
		}
		if want, perr := time.Parse(time.RFC3339Nano, strings.TrimSpace(s)); perr == nil && !got.Equal(want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
	})
}
