package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
)

type calendarOut struct {
	domain.Calendar
	ReplannedJobs int `json:"replanned_jobs"`
}

func (c *client) createCalendar(body string) (*calendarOut, string) {
	c.t.Helper()
	code, h, b := c.do(http.MethodPost, "/api/v1/calendars", body)
	require.Equal(c.t, http.StatusCreated, code, string(b))
	var out calendarOut
	require.NoError(c.t, json.Unmarshal(b, &out))
	require.Equal(c.t, "/api/v1/calendars/"+out.Name, h.Get("Location"))
	return &out, h.Get("ETag")
}

func uniqueName(prefix string) string { return prefix + "-" + strings.ToLower(uuid.NewString()[:8]) }

func jobWithCalendars(name, ns, cron string, calendars ...string) string {
	list, _ := json.Marshal(calendars)
	return fmt.Sprintf(`{"name":%q,"namespace":%q,"schedule":{"cron":%q,"calendars":%s},"http":{"url":"https://example.test/run"}}`, name, ns, cron, list)
}

// TestCalendarHostileCallers: a calendar of another namespace is 404 to those who cannot see
// it, a missing permission is 403 naming it, a calendar for every namespace needs job:write for
// all of them, bad input is 400 naming each field, and a job cannot name a calendar that does
// not exist or that belongs to another namespace.
func TestCalendarHostileCallers(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	name := uniqueName("bank")
	c.createCalendar(`{"name":"` + name + `","namespace":"team-a","weekdays":["mon","tue","wed","thu","fri"]}`)
	shared := uniqueName("vn-holidays")
	c.createCalendar(`{"name":"` + shared + `","namespace":"*","excluded_dates":[{"date":"09-02","label":"Quốc khánh"}]}`)
	path := "/api/v1/calendars/" + name

	stranger := c.as(rbac.RoleEditor, "team-b")
	stranger.problem(http.MethodGet, path, "", http.StatusNotFound)
	stranger.problem(http.MethodPut, path, `{"weekdays":["sat"]}`, http.StatusNotFound, "If-Match", "*")
	stranger.problem(http.MethodDelete, path, "", http.StatusNotFound)
	code, _, b := stranger.do(http.MethodGet, "/api/v1/calendars", "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(b), name, "another namespace's calendar is not listed")
	require.Contains(t, string(b), shared, "a calendar of every namespace is listed to all")
	code, _, _ = stranger.do(http.MethodGet, "/api/v1/calendars/"+shared, "")
	require.Equal(t, http.StatusOK, code)

	viewer := c.as(rbac.RoleViewer, "team-a")
	code, _, _ = viewer.do(http.MethodGet, path, "")
	require.Equal(t, http.StatusOK, code)
	p := viewer.problem(http.MethodPut, path, `{"weekdays":["sat"]}`, http.StatusForbidden, "If-Match", "*")
	require.Contains(t, p.Detail, "missing permission job:write")
	viewer.problem(http.MethodDelete, path, "", http.StatusForbidden)
	viewer.problem(http.MethodPost, "/api/v1/calendars", `{"name":"x-`+name+`","namespace":"team-a"}`, http.StatusForbidden)

	editor := c.as(rbac.RoleEditor, "team-a")
	p = editor.problem(http.MethodPost, "/api/v1/calendars", `{"name":"all-`+name+`","namespace":"*"}`, http.StatusForbidden)
	require.Contains(t, p.Detail, "missing permission job:write for all namespaces")
	p = editor.problem(http.MethodPut, "/api/v1/calendars/"+shared, `{"weekdays":["mon"]}`, http.StatusForbidden, "If-Match", "*")
	require.Contains(t, p.Detail, "for all namespaces")
	editor.problem(http.MethodPost, "/api/v1/calendars", `{"name":"b-`+name+`","namespace":"team-b"}`, http.StatusForbidden)

	p = editor.problem(http.MethodPost, "/api/v1/calendars",
		`{"name":"Bad Name","namespace":"team-a","excluded_dates":[{"date":"2026-02-30"},{"date":"12-25","label":"`+strings.Repeat("x", 101)+`"}],"weekdays":["fun"],"colour":"red"}`,
		http.StatusBadRequest)
	require.Equal(t, []string{"colour"}, fields(p), "an unknown field is named first, as for jobs")
	p = editor.problem(http.MethodPost, "/api/v1/calendars",
		`{"name":"Bad Name","namespace":"team-a","excluded_dates":[{"date":"2026-02-30"},{"date":"12-25","label":"`+strings.Repeat("x", 101)+`"}],"weekdays":["fun"]}`,
		http.StatusBadRequest)
	require.ElementsMatch(t, []string{"name", "excluded_dates[0].date", "excluded_dates[1].label", "weekdays[0]"}, fields(p))
	p = editor.problem(http.MethodPost, "/api/v1/calendars", `{"name":"`+name+`","namespace":"team-a"}`, http.StatusConflict)
	require.Equal(t, []string{"name"}, fields(p))

	// A job names only calendars of its namespace or of every namespace.
	p = c.as(rbac.RoleEditor, "team-b").problem(http.MethodPost, "/api/v1/jobs", jobWithCalendars("j", "team-b", "0 0 8 * * ?", shared, name), http.StatusBadRequest)
	require.Equal(t, []string{"schedule.calendars[1]"}, fields(p))
	require.NotContains(t, p.Detail, "team-a", "the answer does not tell where the calendar is")
	p = editor.problem(http.MethodPost, "/api/v1/jobs", jobWithCalendars("j", "team-a", "0 0 8 * * ?", "no-such-calendar"), http.StatusBadRequest)
	require.Equal(t, []string{"schedule.calendars[0]"}, fields(p))
	p = editor.problem(http.MethodPost, "/api/v1/jobs", jobWithCalendars("j", "team-a", "0 0 8 ? * SAT", name), http.StatusBadRequest)
	require.Equal(t, []string{"schedule.calendars"}, fields(p), "Saturdays only, on business days Monday to Friday: never fires")
	p = editor.problem(http.MethodPost, "/api/v1/jobs", jobWithCalendars("j", "team-a", "0 0 8 * * ?", "Not_A_Name"), http.StatusBadRequest)
	require.Equal(t, []string{"schedule.calendars[0]"}, fields(p))
}

// TestCalendarEditReplansItsJobs: excluding the day a job was next due moves its next run to
// the next day the calendar allows, in the transaction of the edit, without a new version of
// the job; the edit is conditional and audited, and a calendar that jobs name cannot be deleted.
func TestCalendarEditReplansItsJobs(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	name := uniqueName("vn-holidays")
	cal, tag := c.createCalendar(`{"name":"` + name + `","namespace":"*","description":"public holidays"}`)
	require.Equal(t, `"1"`, tag)
	require.EqualValues(t, 1, cal.Version)

	j, _ := c.createJob(jobWithCalendars("settlement", "default", "0 0 8 * * ?", name))
	other, _ := c.createJob(jobWithCalendars("other", "default", "0 0 8 * * ?"))
	loc, err := time.LoadLocation(domain.DefaultTimezone)
	require.NoError(t, err)
	day := j.NextRunAt.In(loc)
	require.Equal(t, *other.NextRunAt, *j.NextRunAt, "a calendar that excludes nothing changes nothing")

	path := "/api/v1/calendars/" + name
	edit := `{"excluded_dates":[{"date":"` + day.Format(time.DateOnly) + `","label":"Tết"}]}`
	c.problem(http.MethodPut, path, edit, http.StatusPreconditionRequired)
	c.problem(http.MethodPut, path, edit, http.StatusPreconditionFailed, "If-Match", `"7"`)
	code, h, b := c.do(http.MethodPut, path, edit, "If-Match", tag)
	require.Equal(t, http.StatusOK, code, string(b))
	require.Equal(t, `"2"`, h.Get("ETag"))
	var out calendarOut
	require.NoError(t, json.Unmarshal(b, &out))
	require.Equal(t, 1, out.ReplannedJobs)
	require.Empty(t, out.Description, "a PUT replaces the whole definition")
	require.Equal(t, "*", out.Namespace)

	code, _, b = c.do(http.MethodGet, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusOK, code)
	var got domain.Job
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, day.AddDate(0, 0, 1), got.NextRunAt.In(loc), "the excluded day is skipped")
	require.Equal(t, j.Version, got.Version, "a calendar edit is not an edit of the job")
	code, _, b = c.do(http.MethodGet, "/api/v1/jobs/"+other.ID, "")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, *other.NextRunAt, *got.NextRunAt, "a job that does not name the calendar stays")

	rows, err := c.st.ListAudit(t.Context(), store.AuditFilter{Limit: 100})
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(rows, func(r *audit.Record) bool { return r.Action == "calendar.update" && r.ObjectID == name }))

	// Allowing the day again plans it again.
	code, _, b = c.do(http.MethodPut, path, `{"description":"none yet"}`, "If-Match", `"2"`)
	require.Equal(t, http.StatusOK, code, string(b))
	code, _, b = c.do(http.MethodGet, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, *j.NextRunAt, *got.NextRunAt)

	// An edit that would leave a job no fire at all is refused, naming it.
	monday, _ := c.createJob(jobWithCalendars("monday report", "default", "0 0 8 ? * MON", name))
	p := c.problem(http.MethodPut, path, `{"weekdays":["sat","sun"]}`, http.StatusConflict, "If-Match", "*")
	require.Equal(t, []string{"weekdays"}, fields(p))
	require.Contains(t, p.Detail, "default/monday report ("+monday.ID+")")
	code, _, _ = c.do(http.MethodDelete, "/api/v1/jobs/"+monday.ID, "")
	require.Equal(t, http.StatusNoContent, code)
	p = c.problem(http.MethodPut, path, `{"namespace":"team-a"}`, http.StatusBadRequest, "If-Match", "*")
	require.Equal(t, []string{"namespace"}, fields(p))

	p = c.problem(http.MethodDelete, path, "", http.StatusConflict)
	require.Equal(t, []string{"name"}, fields(p))
	require.Contains(t, p.Detail, "default/settlement ("+j.ID+")")
	code, _, b = c.do(http.MethodPatch, "/api/v1/jobs/"+j.ID, `{"schedule":{"calendars":null}}`, "If-Match", "*")
	require.Equal(t, http.StatusOK, code, string(b))
	c.problem(http.MethodDelete, path, "", http.StatusPreconditionFailed, "If-Match", `"1"`)
	code, _, _ = c.do(http.MethodDelete, path, "")
	require.Equal(t, http.StatusNoContent, code)
	c.problem(http.MethodGet, path, "", http.StatusNotFound)
}

// TestSchedulePreviewHonoursCalendars: a preview skips the days of the calendars it names and
// says why, with their labels.
func TestSchedulePreviewHonoursCalendars(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	name := uniqueName("vn")
	c.createCalendar(`{"name":"` + name + `","namespace":"*","weekdays":["mon","tue","wed","thu","fri"],"excluded_dates":[{"date":"2026-02-16","label":"Tết"}]}`)
	body := `{"schedule":{"cron":"0 0 8 * * ?","calendars":["` + name + `"]},"after":"2026-02-13T02:00:00Z","count":1}`
	code, _, b := c.do(http.MethodPost, "/api/v1/schedules/preview", body)
	require.Equal(t, http.StatusOK, code, string(b))
	require.Contains(t, string(b), `"at":"2026-02-17T01:00:00Z"`)
	require.Contains(t, string(b), "no fire on 2026-02-14: a Saturday, not a business day of its calendars")
	require.Contains(t, string(b), "no fire on 2026-02-16: excluded by "+name+": Tết")

	p := c.problem(http.MethodPost, "/api/v1/schedules/preview", `{"schedule":{"cron":"0 0 8 * * ?","calendars":["missing-one"]}}`, http.StatusBadRequest)
	require.Equal(t, []string{"schedule.calendars[0]"}, fields(p))
}
