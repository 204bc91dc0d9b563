package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

func freezeBody(ns, reason string, endsIn time.Duration) string {
	return fmt.Sprintf(`{"namespace":%q,"reason":%q,"ends_at":%q}`, ns, reason, time.Now().Add(endsIn).UTC().Format(time.RFC3339))
}

func (c *client) createFreeze(body string) *domain.Freeze {
	c.t.Helper()
	code, h, b := c.do(http.MethodPost, "/api/v1/freezes", body)
	require.Equal(c.t, http.StatusCreated, code, string(b))
	var f domain.Freeze
	require.NoError(c.t, json.Unmarshal(b, &f))
	require.Equal(c.t, "/api/v1/freezes/"+f.ID, h.Get("Location"))
	return &f
}

// TestFreezeHostileCallers: a freeze of another namespace is 404 to those who cannot see it, a
// missing job:enable is 403, a freeze of every namespace needs job:enable for all of them, and
// bad input is 400 naming each field.
func TestFreezeHostileCallers(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	f := c.createFreeze(freezeBody("team-a", "core banking upgrade", time.Hour))
	path := "/api/v1/freezes/" + f.ID

	stranger := c.as(rbac.RoleOperator, "team-b")
	stranger.problem(http.MethodGet, path, "", http.StatusNotFound)
	stranger.problem(http.MethodDelete, path, "", http.StatusNotFound)
	code, _, b := stranger.do(http.MethodGet, "/api/v1/freezes", "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(b), f.ID)
	stranger.problem(http.MethodGet, "/api/v1/freezes/not-an-id", "", http.StatusNotFound)

	viewer := c.as(rbac.RoleViewer, "team-a")
	code, _, _ = viewer.do(http.MethodGet, path, "")
	require.Equal(t, http.StatusOK, code)
	p := viewer.problem(http.MethodDelete, path, "", http.StatusForbidden)
	require.Contains(t, p.Detail, "missing permission job:enable")
	viewer.problem(http.MethodPost, "/api/v1/freezes", freezeBody("team-a", "x", time.Hour), http.StatusForbidden)

	operator := c.as(rbac.RoleOperator, "team-a")
	p = operator.problem(http.MethodPost, "/api/v1/freezes", freezeBody("*", "everything", time.Hour), http.StatusForbidden)
	require.Contains(t, p.Detail, "missing permission job:enable for all namespaces")
	operator.problem(http.MethodPost, "/api/v1/freezes", freezeBody("team-b", "theirs", time.Hour), http.StatusForbidden)

	for _, tt := range []struct {
		name, body string
		fields     []string
	}{
		{"Empty", `{}`, []string{"namespace", "reason", "ends_at"}},
		{"Past", `{"namespace":"team-a","reason":"r","ends_at":"2020-01-01T00:00:00Z"}`, []string{"ends_at"}},
		{"TooLong", freezeBody("team-a", "r", 91*24*time.Hour), []string{"ends_at"}},
		{"StartsInThePast", fmt.Sprintf(`{"namespace":"team-a","reason":"r","starts_at":"2020-01-01T00:00:00Z","ends_at":%q}`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), []string{"starts_at"}},
		{"EndsBeforeItStarts", fmt.Sprintf(`{"namespace":"team-a","reason":"r","starts_at":%q,"ends_at":%q}`,
			time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), []string{"ends_at"}},
		{"ControlCharacters", fmt.Sprintf(`{"namespace":"team-a","reason":"a\u0007b","ends_at":%q}`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), []string{"reason"}},
		{"NotATime", `{"namespace":"team-a","reason":"r","ends_at":"tomorrow"}`, []string{"ends_at"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := operator.problem(http.MethodPost, "/api/v1/freezes", tt.body, http.StatusBadRequest)
			require.ElementsMatch(t, tt.fields, fields(p), p.Detail)
		})
	}
}

// TestFreezeRefusesRunNowUntilLifted: while a freeze holds a namespace, a run now of its jobs is
// 409 naming the freeze unless forced; a job of another namespace runs; lifting the freeze ends
// it at once and keeps it on record.
func TestFreezeRefusesRunNowUntilLifted(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	held, _ := c.createJob(jobBodyIn("settlement", "payments"))
	free, _ := c.createJob(jobBodyIn("report", "reports"))

	operator := c.as(rbac.RoleOperator, "payments")
	f := operator.createFreeze(freezeBody("payments", "year-end close", time.Hour))
	require.True(t, f.Active)
	require.Nil(t, f.LiftedAt)

	p := operator.problem(http.MethodPost, "/api/v1/jobs/"+held.ID+"/trigger", "", http.StatusConflict)
	require.Equal(t, []string{"force"}, fields(p))
	require.Contains(t, p.Detail, f.ID)
	require.Contains(t, p.Detail, "year-end close")
	out, _ := operator.runNow(held.ID, `{"force":true}`)
	require.True(t, out.Forced)
	c.runNow(free.ID, "")

	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+held.ID, "")
	require.Equal(t, http.StatusOK, code)
	var j domain.Job
	require.NoError(t, json.Unmarshal(b, &j))
	require.True(t, j.Enabled, "a freeze leaves the job's enabled flag alone")

	code, _, b = operator.do(http.MethodDelete, "/api/v1/freezes/"+f.ID, "")
	require.Equal(t, http.StatusOK, code, string(b))
	var lifted domain.Freeze
	require.NoError(t, json.Unmarshal(b, &lifted))
	require.NotNil(t, lifted.LiftedAt)
	require.False(t, lifted.Active)
	operator.runNow(held.ID, "")

	code, _, b = operator.do(http.MethodGet, "/api/v1/freezes", "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(b), f.ID, "a lifted freeze is not listed as open")
	code, _, b = operator.do(http.MethodGet, "/api/v1/freezes?ended=true", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(b), f.ID, "it stays on record")
	operator.problem(http.MethodGet, "/api/v1/freezes?ended=maybe", "", http.StatusBadRequest)

	// A freeze of every namespace holds them all.
	all := c.createFreeze(freezeBody("*", "data centre move", time.Hour))
	c.problem(http.MethodPost, "/api/v1/jobs/"+free.ID+"/trigger", "", http.StatusConflict)
	code, _, _ = operator.do(http.MethodGet, "/api/v1/freezes/"+all.ID, "")
	require.Equal(t, http.StatusOK, code, "a freeze of every namespace is read by all who read jobs")
	operator.problem(http.MethodDelete, "/api/v1/freezes/"+all.ID, "", http.StatusForbidden)
}

func jobBodyIn(name, ns string) string {
	return fmt.Sprintf(`{"name":%q,"namespace":%q,"schedule":{"cron":"0 0 8 * * ?"},"http":{"url":"https://example.test/run"}}`, name, ns)
}
