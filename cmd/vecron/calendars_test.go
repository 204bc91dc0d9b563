package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

const holidaysYAML = `# the bank's public holidays, for every team
name: vn-holidays
namespace: "*"
description: Vietnamese public holidays
excluded_dates:
  - {date: 2027-02-06, label: Tết}
  - {date: 09-02, label: Quốc khánh}
  - {date: 2027-04-30, label: Ngày Giải phóng}
  - {date: 01-01}
weekdays: [mon, tue, wed, thu, fri]
`

// viewerToken is a token of a user who may read everything and change nothing.
func viewerToken(t *testing.T, a *apiEnv) string {
	t.Helper()
	u := testfactory.User(t, a.st, testfactory.UserOpts{Role: rbac.RoleViewer})
	return testfactory.APIToken(t, a.st, u.ID, domain.AllNamespaces, nil)
}

// whenAndWho hides the instants and the user of a calendar's or a freeze's Created and Updated
// lines, which differ every run, keeping the table's alignment.
func whenAndWho(s string) string {
	return regexp.MustCompile(`(?m)^(Created|Updated|Lifted):(\s+)\S.*$`).ReplaceAllString(s, "$1:${2}<when> by <who>")
}

// TestCalendars takes calendars through list, get, create, edit and delete, with the errors a
// script branches on.
func TestCalendars(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	a.now = time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)

	out, stderr, code := a.run(holidaysYAML, "calendars", "create", "-f", "-")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "created calendar vn-holidays for every namespace: 4 excluded days, business days mon,tue,wed,thu,fri\n", out)
	file := filepath.Join(t.TempDir(), "close.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"name":"month-close","namespace":"billing","excluded_dates":[{"date":"2027-03-31","label":"quarter close"}]}`), 0o600))
	require.Equal(t, "created calendar month-close for namespace billing: 1 excluded days, business days every day\n",
		a.ok("calendars", "create", "-f", file))
	require.NoError(t, os.WriteFile(file, []byte(`{"name":"ops-window","namespace":"ops","excluded_dates":[]}`), 0o600))
	a.ok("calendars", "create", "-f", file)

	golden(t, "calendars-list", a.ok("calendars", "list"))
	golden(t, "calendars-get", whenAndWho(a.ok("calendars", "get", "vn-holidays")))
	// -n keeps the namespace's own calendars and those of every namespace.
	billing := a.ok("calendars", "list", "-n", "billing")
	require.Contains(t, billing, "\nmonth-close ")
	require.Contains(t, billing, "\nvn-holidays ")
	require.NotContains(t, billing, "ops-window")
	var shared rawPage
	require.NoError(t, json.Unmarshal([]byte(a.ok("calendars", "list", "-n", "*", "-o", "json")), &shared))
	require.Len(t, shared.Items, 1)
	out, stderr, code = a.run("", "calendars", "list", "-n", "billing", "--limit", "1")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, 2, strings.Count(out, "\n"), out)
	require.Equal(t, "showing the first 1; --limit shows more, --all every one\n", stderr)

	// -o json is the API's document; -o yaml is a file create and edit take.
	var got, want any
	require.NoError(t, json.Unmarshal([]byte(a.ok("calendars", "get", "vn-holidays", "-o", "json")), &got))
	require.NoError(t, json.Unmarshal(a.get("/api/v1/calendars/vn-holidays"), &want))
	require.Equal(t, want, got)
	var cal domain.Calendar
	require.NoError(t, json.Unmarshal([]byte(a.ok("calendars", "get", "vn-holidays", "-o", "json")), &cal))
	require.Equal(t, domain.AllNamespaces, cal.Namespace)
	require.Equal(t, []domain.CalendarDate{{Date: "2027-02-06", Label: "Tết"}, {Date: "09-02", Label: "Quốc khánh"},
		{Date: "2027-04-30", Label: "Ngày Giải phóng"}, {Date: "01-01"}}, cal.ExcludedDates)

	t.Run("Taken", func(t *testing.T) {
		_, stderr, code := a.run(holidaysYAML, "calendars", "create", "-f", "-")
		require.Equal(t, exitConflict, code, stderr)
		require.True(t, strings.HasPrefix(stderr, "vecron: Conflict (409):\n  name: "), stderr)
	})
	t.Run("Invalid", func(t *testing.T) {
		_, stderr, code := a.run("name: bad\nnamespace: ops\nexcluded_dates: [{date: 2027-02-30}]\nweekdays: [funday]\n", "calendars", "create", "-f", "-")
		require.Equal(t, exitInvalid, code, stderr)
		require.Contains(t, stderr, "vecron: Invalid input (400):\n")
		require.Contains(t, stderr, "\n  excluded_dates[0].date: \"2027-02-30\" is not a date")
		require.Contains(t, stderr, "\n  weekdays[0]: ")
	})
	t.Run("NotFound", func(t *testing.T) {
		_, stderr, code := a.run("", "calendars", "get", "no-such-calendar")
		require.Equal(t, exitNotFound, code, stderr)
		_, _, code = a.run("", "calendars", "delete", "no-such-calendar")
		require.Equal(t, exitNotFound, code)
	})
	t.Run("ViewerMayReadNotWrite", func(t *testing.T) {
		token := viewerToken(t, a)
		out, stderr, code := a.runAs(token, "", "calendars", "list")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, out, "vn-holidays")
		_, stderr, code = a.runAs(token, "name: mine\nnamespace: ops\n", "calendars", "create", "-f", "-")
		require.Equal(t, exitUnauthorized, code, stderr)
		require.Equal(t, "vecron: Forbidden (403): missing permission job:write\n", stderr)
		_, stderr, code = a.runAs(token, "", "calendars", "exclude", "vn-holidays", "2027-05-01")
		require.Equal(t, exitUnauthorized, code, stderr)
	})
	t.Run("UsageErrors", func(t *testing.T) {
		for _, args := range [][]string{{"calendars", "create"}, {"calendars", "get"}, {"calendars", "exclude", "vn-holidays"},
			{"calendars", "list", "-o", "xml"}, {"calendars", "list", "-n", "ops", "--limit", "0"}} {
			_, stderr, code := a.run("", args...)
			require.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		}
		_, stderr, code := a.run("- just\n- a list\n", "calendars", "create", "-f", "-")
		require.Equal(t, exitUsage, code)
		require.Equal(t, "vecron: line 1: a calendar is an object of fields such as name and excluded_dates\n", stderr)
	})

	// The editor adds a day; the calendar is replaced on the version it showed.
	a.vars["EDITOR"] = `sed -i 's/^description: .*/description: Ngày lễ Việt Nam/'`
	require.Equal(t, "edited calendar vn-holidays: version 2, 0 jobs re-planned\n", a.ok("calendars", "edit", "vn-holidays"))
	require.Contains(t, a.ok("calendars", "get", "vn-holidays"), "Description:    Ngày lễ Việt Nam\n")
	a.vars["EDITOR"] = "true"
	_, stderr, code = a.run("", "calendars", "edit", "vn-holidays")
	require.Equal(t, 0, code, stderr)
	require.Equal(t, "no change: it is left as it is\n", stderr)

	// A file read at version 2 cannot overwrite version 3, made since.
	y := a.ok("calendars", "get", "vn-holidays", "-o", "yaml")
	require.Contains(t, y, "\nversion: 2\n")
	a.ok("calendars", "exclude", "vn-holidays", "2027-05-01", "--label", "Quốc tế Lao động")
	_, stderr, code = a.run(y, "calendars", "edit", "vn-holidays", "-f", "-")
	require.Equal(t, exitConflict, code, stderr)
	require.Contains(t, stderr, "vecron: Precondition Failed (412): the calendar changed since it was read: it is at version 3 now")
	// The name and the namespace are not the edit's to change.
	_, stderr, code = a.run(strings.Replace(a.ok("calendars", "get", "vn-holidays", "-o", "yaml"), `namespace: '*'`, "namespace: ops", 1),
		"calendars", "edit", "vn-holidays", "-f", "-")
	require.Equal(t, exitInvalid, code, stderr)
	require.Contains(t, stderr, "\n  namespace: cannot be changed by an edit")

	// A calendar a job names cannot be deleted: the answer names the job.
	job := strings.Replace(jobYAML, "schedule:\n", "schedule:\n  calendars: [month-close]\n", 1)
	out, stderr, code = a.run(job, "jobs", "create", "-f", "-")
	require.Equal(t, 0, code, stderr)
	id := regexp.MustCompile(`\(([0-9a-f-]{36})\)`).FindStringSubmatch(out)[1]
	_, stderr, code = a.run("", "calendars", "delete", "month-close")
	require.Equal(t, exitConflict, code, stderr)
	require.Equal(t, `vecron: Conflict (409):
  name: calendar "month-close" is named by 1 job(s): billing/nightly (`+id+`); remove it from their schedules first
`, stderr)
	a.ok("jobs", "delete", id)
	require.Equal(t, "deleted calendar month-close\n", a.ok("calendars", "delete", "month-close"))
	_, _, code = a.run("", "calendars", "get", "month-close")
	require.Equal(t, exitNotFound, code)
}

// TestCalendarExcludeAndIncludeReplanJobs: a holiday added in one line moves the next run of a
// job that names the calendar off that day, and removing it moves it back.
func TestCalendarExcludeAndIncludeReplanJobs(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, false)
	_, stderr, code := a.run("name: ops-days\nnamespace: default\nexcluded_dates: []\n", "calendars", "create", "-f", "-")
	require.Equal(t, 0, code, stderr)
	out, stderr, code := a.run("name: daily\nschedule: {cron: '0 0 9 * * ?', calendars: [ops-days]}\ntimezone: UTC\nhttp: {url: 'http://127.0.0.1:9/'}\n",
		"jobs", "create", "-f", "-")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, out, "created job default/daily")
	nextRun := func() time.Time {
		var j domain.Job
		require.NoError(t, json.Unmarshal([]byte(a.ok("jobs", "get", "daily", "-o", "json")), &j))
		require.NotNil(t, j.NextRunAt)
		return j.NextRunAt.UTC()
	}
	first := nextRun()
	day := first.Format(time.DateOnly)

	out = a.ok("calendars", "exclude", "ops-days", day, "--label", "bank holiday", "-o", "json")
	var answer struct {
		Version       int64                 `json:"version"`
		ExcludedDates []domain.CalendarDate `json:"excluded_dates"`
		ReplannedJobs int                   `json:"replanned_jobs"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &answer))
	require.Equal(t, int64(2), answer.Version)
	require.Equal(t, []domain.CalendarDate{{Date: day, Label: "bank holiday"}}, answer.ExcludedDates)
	require.Equal(t, 1, answer.ReplannedJobs)
	require.Equal(t, first.AddDate(0, 0, 1), nextRun(), "the next run moved off the excluded day")

	// The same day again changes nothing, or only its label.
	require.Equal(t, day+" is already excluded from calendar ops-days: nothing to change\n", a.ok("calendars", "exclude", "ops-days", day))
	require.Equal(t, "relabelled "+day+" of calendar ops-days: version 3, 1 job re-planned\n",
		a.ok("calendars", "exclude", "ops-days", day, "--label", "Tết"))
	require.Contains(t, a.ok("calendars", "get", "ops-days"), "\nEXCLUDED DATE  LABEL\n"+day+"     Tết\n")

	require.Equal(t, "included "+day+" in calendar ops-days: version 4, 1 job re-planned\n", a.ok("calendars", "include", "ops-days", day))
	require.Equal(t, first, nextRun(), "the day is planned again")
	require.Equal(t, day+" is not an excluded day of calendar ops-days: nothing to change\n", a.ok("calendars", "include", "ops-days", day))

	// A yearly day covers the date: include names it rather than do nothing.
	a.ok("calendars", "exclude", "ops-days", day[5:], "--label", "anniversary")
	require.Equal(t, first.AddDate(0, 0, 1), nextRun())
	_, stderr, code = a.run("", "calendars", "include", "ops-days", day)
	require.Equal(t, exitUsage, code)
	require.Equal(t, "vecron: "+day+" is excluded every year as "+day[5:]+" (anniversary): include "+day[5:]+" to remove the yearly day\n", stderr)

	_, stderr, code = a.run("", "calendars", "exclude", "ops-days", "2027-02-30")
	require.Equal(t, exitInvalid, code, stderr)
	require.Contains(t, stderr, "\n  excluded_dates[1].date: \"2027-02-30\" is not a date")
	_, stderr, code = a.run("", "calendars", "exclude", "no-such-calendar", "2027-02-01")
	require.Equal(t, exitNotFound, code, stderr)
}

// FuzzParseCalendarDocument: any file given to calendars create or edit -f gives a JSON object
// without the fields the API does not take, or an error.
func FuzzParseCalendarDocument(f *testing.F) {
	for _, s := range []string{holidaysYAML, `{"name":"x","version":3,"created_at":"2026-01-01T00:00:00Z","excluded_dates":[]}`,
		"a: &x [1, 2]\nb: *x\n", "? [a]\n: b\n", "version: -1\n", "{}", "", "- 1\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := parseCalendarDocument(b)
		if err != nil {
			if exitCode(err) != exitUsage {
				t.Fatalf("%q: a bad document is a usage error, got %v", b, err)
			}
			return
		}
		var obj map[string]any
		if err := json.Unmarshal(doc.body, &obj); err != nil {
			t.Fatalf("%q gave %s, not a JSON object: %v", b, doc.body, err)
		}
		for k := range obj {
			if readOnlyCalendarField(k) {
				t.Fatalf("%q: %s is sent", b, k)
			}
		}
	})
}
