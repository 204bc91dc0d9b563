package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// planOut is an apply's answer.
type planOut struct {
	DryRun bool `json:"dry_run"`
	Plan   []struct {
		Namespace string             `json:"namespace"`
		Name      string             `json:"name"`
		Action    string             `json:"action"`
		Diff      []jobs.FieldChange `json:"diff"`
		ID        string             `json:"id"`
		Version   int64              `json:"version"`
	} `json:"plan"`
}

// actions returns "name:action" for every item of the plan, in its order.
func (p planOut) actions() []string {
	var out []string
	for _, it := range p.Plan {
		out = append(out, it.Name+":"+it.Action)
	}
	return out
}

func httpItem(ns, name, cron string) string {
	return fmt.Sprintf(`{"namespace":%q,"name":%q,"schedule":{"cron":%q},"http":{"url":"https://example.test/%s"}}`, ns, name, cron, name)
}

func applyBody(prune, dryRun bool, items ...string) string {
	return fmt.Sprintf(`{"jobs":[%s],"prune":%t,"dry_run":%t}`, strings.Join(items, ","), prune, dryRun)
}

// apply sends an apply that must succeed; it returns the plan and the request id.
func (c *client) apply(body string, header ...string) (planOut, string) {
	c.t.Helper()
	code, h, b := c.do(http.MethodPost, "/api/v1/jobs/apply", body, header...)
	require.Equal(c.t, http.StatusOK, code, string(b))
	var p planOut
	require.NoError(c.t, json.Unmarshal(b, &p), string(b))
	return p, h.Get("X-Request-Id")
}

// jobsIn returns the stored jobs of ns by name.
func (c *client) jobsIn(ns string) map[string]*domain.Job {
	c.t.Helper()
	out := map[string]*domain.Job{}
	require.NoError(c.t, c.st.JobsByName(c.t.Context(), []string{ns}, func(page []*domain.Job) error {
		for _, j := range page {
			out[j.Name] = j
		}
		return nil
	}))
	return out
}

// as returns a client that signs in as a new user holding role in ns, through a token limited
// to scopes (nil: all the user holds).
func (c *client) as(role, ns string, scopes ...domain.Permission) *client {
	c.t.Helper()
	u := testfactory.User(c.t, c.st, testfactory.UserOpts{Role: role, Namespace: ns})
	other := *c
	other.token = testfactory.APIToken(c.t, c.st, u.ID, ns, scopes)
	return &other
}

// TestApplyAndExportRefuseHostileCallers: an apply reaching a namespace the caller cannot see is
// a 404 and changes nothing anywhere, one without job:write a 403, a prune without job:delete a
// 403; an export shows only what the caller may read.
func TestApplyAndExportRefuseHostileCallers(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.apply(applyBody(false, false, httpItem("team-b", "theirs", "@hourly")))
	theirs := c.jobsIn("team-b")["theirs"]

	editorA := c.as(rbac.RoleEditor, "team-a")
	for name, body := range map[string]string{
		"OtherNamespace": applyBody(false, false, httpItem("team-b", "theirs", "@daily")),
		"Mixed":          applyBody(false, false, httpItem("team-a", "mine", "@daily"), httpItem("team-b", "new", "@daily")),
		"PruneOther":     `{"jobs":[],"namespaces":["team-b"],"prune":true}`,
		"DryRunOther":    applyBody(true, true, httpItem("team-b", "theirs", "@daily")),
	} {
		t.Run(name, func(t *testing.T) {
			p := editorA.problem(http.MethodPost, "/api/v1/jobs/apply", body, http.StatusNotFound)
			require.NotContains(t, p.Detail, "theirs")
		})
	}
	// An apply that names no namespace is about none: with prune it must not read, let alone
	// empty, every namespace.
	for _, body := range []string{`{"jobs":[],"prune":true}`, `{"jobs":[],"prune":true,"dry_run":true}`, `{"jobs":[],"namespaces":[],"prune":true}`} {
		p := editorA.problem(http.MethodPost, "/api/v1/jobs/apply", body, http.StatusBadRequest)
		require.Equal(t, []string{"jobs"}, fields(p))
		require.NotContains(t, p.Detail, "theirs")
	}
	require.Empty(t, c.jobsIn("team-a"), "a refused apply changes nothing, in any namespace")
	require.Equal(t, theirs.Version, c.jobsIn("team-b")["theirs"].Version)
	require.Len(t, c.jobsIn("team-b"), 1)

	viewerA := c.as(rbac.RoleViewer, "team-a")
	p := viewerA.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, false, httpItem("team-a", "mine", "@daily")), http.StatusForbidden)
	require.Contains(t, p.Detail, "missing permission job:write")

	writerA := c.as(rbac.RoleEditor, "team-a", domain.PermJobRead, domain.PermJobWrite)
	p = writerA.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(true, false, httpItem("team-a", "mine", "@daily")), http.StatusForbidden)
	require.Contains(t, p.Detail, "missing permission job:delete")
	require.Empty(t, c.jobsIn("team-a"))
	plan, _ := writerA.apply(applyBody(false, false, httpItem("team-a", "mine", "@daily")))
	require.Equal(t, []string{"mine:create"}, plan.actions())

	// Bad input is a 400 naming the item and the field, and changes nothing.
	for name, tt := range map[string]struct {
		body   string
		fields []string
	}{
		"BadCron":       {applyBody(false, false, httpItem("team-a", "x", "@daily"), httpItem("team-a", "y", "61 * * * * *")), []string{"jobs[1].schedule.cron"}},
		"UnknownField":  {`{"jobs":[{"name":"x","shedule":{}}]}`, []string{"jobs[0].shedule"}},
		"WrongType":     {`{"jobs":[{"name":"x","timeout":30}]}`, []string{"jobs[0].timeout"}},
		"NotAnObject":   {`{"jobs":[42]}`, []string{"jobs[0]"}},
		"Duplicate":     {applyBody(false, false, httpItem("team-a", "x", "@daily"), httpItem("team-a", "x", "@hourly")), []string{"jobs[1].name"}},
		"DuplicateKey":  {`{"jobs":[{"name":"x","name":"y"}]}`, []string{"jobs[0].name"}},
		"NoJobs":        {`{"prune":true}`, []string{"jobs"}},
		"BadNamespaces": {`{"jobs":[],"namespaces":["no such!"]}`, []string{"namespaces[0]"}},
		"OutsideNamed":  {`{"jobs":[` + httpItem("team-a", "x", "@daily") + `],"namespaces":["team-c"]}`, []string{"jobs[0].namespace"}},
		"NotJSON":       {`{"jobs":`, []string{"body"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := writerA.problem(http.MethodPost, "/api/v1/jobs/apply", tt.body, http.StatusBadRequest)
			require.Equal(t, tt.fields, fields(p), p.Detail)
		})
	}
	p = writerA.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, false, httpItem("team-a", "y", "61 * * * * *")), http.StatusBadRequest)
	require.Contains(t, p.Errors[0].Reason, `"team-a/y"`, "the reason names the job")
	require.Len(t, c.jobsIn("team-a"), 1)

	// Export: the caller's namespaces only; another's is a 404, a bad name a 400.
	code, _, b := editorA.do(http.MethodGet, "/api/v1/jobs/export", "")
	require.Equal(t, http.StatusOK, code, string(b))
	require.Contains(t, string(b), `"name":"mine"`)
	require.NotContains(t, string(b), "theirs")
	editorA.problem(http.MethodGet, "/api/v1/jobs/export?namespace=team-b", "", http.StatusNotFound)
	p = editorA.problem(http.MethodGet, "/api/v1/jobs/export?namespace=no%20such", "", http.StatusBadRequest)
	require.Equal(t, []string{"namespace"}, fields(p))
	c.as("", "").problem(http.MethodGet, "/api/v1/jobs/export", "", http.StatusForbidden)
}

// TestApplyCreatesUpdatesPrunesAndPlans: an apply creates the new, updates the changed (and only
// those), leaves the same alone, prunes what it does not list in its namespaces and nowhere
// else; a dry run shows the plan, with the diff, and changes nothing. Every change is audited.
func TestApplyCreatesUpdatesPrunesAndPlans(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.apply(applyBody(false, false, httpItem("elsewhere", "stays", "@hourly")))
	plan, reqID := c.apply(applyBody(false, false, httpItem("ops", "a", "0 0 1 * * *"), httpItem("ops", "b", "@hourly"), httpItem("ops", "c", "@daily")))
	require.Equal(t, []string{"a:create", "b:create", "c:create"}, plan.actions())
	for _, it := range plan.Plan {
		require.NotEmpty(t, it.ID)
		require.EqualValues(t, 1, it.Version)
		require.NotEmpty(t, it.Diff, "a create shows what it sets")
	}
	require.Equal(t, 3, audited(t, c.st, reqID, "job.create"))
	before := c.jobsIn("ops")

	// Pause b: an item that leaves enabled out keeps the state; one that says it changes it.
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs/"+before["b"].ID+"/disable", "")
	require.Equal(t, http.StatusOK, code, string(b))
	before = c.jobsIn("ops")

	next := applyBody(true, true, httpItem("ops", "a", "0 0 2 * * *"), httpItem("ops", "b", "@hourly"), httpItem("ops", "d", "@daily"))
	dry, _ := c.apply(next)
	require.True(t, dry.DryRun)
	require.Equal(t, []string{"a:update", "b:unchanged", "c:delete", "d:create"}, dry.actions())
	require.Equal(t, []jobs.FieldChange{{Path: "schedule.cron", Old: "0 0 1 * * *", New: "0 0 2 * * *"}}, dry.Plan[0].Diff)
	require.Empty(t, dry.Plan[1].Diff)
	require.Empty(t, dry.Plan[0].ID, "a dry run stores nothing to name")
	require.Equal(t, before, c.jobsIn("ops"), "a dry run changes nothing")

	plan, reqID = c.apply(strings.Replace(next, `"dry_run":true`, `"dry_run":false`, 1))
	require.False(t, plan.DryRun)
	require.Equal(t, dry.actions(), plan.actions())
	after := c.jobsIn("ops")
	require.Equal(t, []string{"a", "b", "d"}, slices.Sorted(mapsKeys(after)))
	require.Equal(t, before["a"].Version+1, after["a"].Version)
	require.Equal(t, 2, after["a"].NextRunAt.In(mustZone(t)).Hour(), "the new schedule is planned")
	require.Equal(t, before["b"].Version, after["b"].Version, "an unchanged job is not written")
	require.False(t, after["b"].Enabled)
	require.Len(t, c.jobsIn("elsewhere"), 1, "a prune reaches only the namespaces the request names")
	require.Equal(t, 1, audited(t, c.st, reqID, "job.update"))
	require.Equal(t, 1, audited(t, c.st, reqID, "job.delete"))
	require.Equal(t, 1, audited(t, c.st, reqID, "job.create"))

	// Saying enabled resumes b; an explicit namespaces list with no job empties a namespace.
	plan, _ = c.apply(`{"jobs":[{"namespace":"ops","name":"b","enabled":true,"schedule":{"cron":"@hourly"},"http":{"url":"https://example.test/b"}}]}`)
	require.Equal(t, []string{"b:update"}, plan.actions())
	require.Equal(t, []jobs.FieldChange{{Path: "enabled", Old: false, New: true}}, plan.Plan[0].Diff)
	require.NotNil(t, c.jobsIn("ops")["b"].NextRunAt)
	plan, _ = c.apply(`{"jobs":[],"namespaces":["ops"],"prune":true}`)
	require.Equal(t, []string{"a:delete", "b:delete", "d:delete"}, plan.actions())
	require.Empty(t, c.jobsIn("ops"))
	require.Len(t, c.jobsIn("elsewhere"), 1)
}

func mapsKeys(m map[string]*domain.Job) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func mustZone(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(domain.DefaultTimezone)
	require.NoError(t, err)
	return loc
}

// audited counts the audit rows of action recorded for the request requestID.
func audited(t *testing.T, st *store.Store, requestID, action string) int {
	t.Helper()
	require.NotEmpty(t, requestID)
	rows, err := st.ListAudit(t.Context(), store.AuditFilter{Action: action, Limit: 500})
	require.NoError(t, err)
	return len(slices.DeleteFunc(rows, func(r *audit.Record) bool { return r.RequestID != requestID }))
}

// TestApplyBadItemRollsBackTheWholeApply: an item the plan refuses (a job's kind changed) fails
// the apply before it writes; a change refused by the database mid-way (a job edited since the
// plan) rolls back the changes made before it.
func TestApplyBadItemRollsBackTheWholeApply(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.apply(applyBody(false, false, httpItem("ops", "b-existing", "@hourly")))
	before := c.jobsIn("ops")

	sqlItem := `{"namespace":"ops","name":"b-existing","schedule":{"cron":"@hourly"},"sql":{"driver":"postgres","dsn":"{{ var.DSN }}","statements":[{"sql":"select 1"}]}}`
	p := c.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, false, httpItem("ops", "a-new", "@daily"), sqlItem), http.StatusBadRequest)
	require.Equal(t, []string{"jobs[1].kind"}, fields(p))
	require.Equal(t, before, c.jobsIn("ops"))

	// The service's plan, then an edit by someone else, then the apply of the stale plan: the
	// create made first in the transaction is rolled back with the refused update.
	svc := jobs.New(c.st, time.Now)
	var req jobs.ApplyRequest
	for _, item := range []string{httpItem("ops", "a-new", "@daily"), httpItem("ops", "b-existing", "@daily")} {
		var j domain.Job
		require.NoError(t, json.Unmarshal([]byte(item), &j))
		req.Items = append(req.Items, jobs.ApplyItem{Job: &j, KeepEnabled: true})
	}
	batch, err := jobs.CheckApply(req)
	require.NoError(t, err)
	plan, err := svc.Plan(t.Context(), batch)
	require.NoError(t, err)
	require.Equal(t, jobs.ActionCreate, plan[0].Action)
	require.Equal(t, jobs.ActionUpdate, plan[1].Action)
	_, err = c.st.SetEnabled(t.Context(), before["b-existing"].ID, false, nil, time.Now().UTC())
	require.NoError(t, err)
	_, err = svc.Apply(t.Context(), plan, jobs.ApplyAs{Changes: c.st})
	var cerr *domain.ConflictError
	require.ErrorAs(t, err, &cerr)
	require.Equal(t, "jobs[1]", cerr.Field)
	require.Contains(t, cerr.Reason, `"ops/b-existing"`)
	now := c.jobsIn("ops")
	require.NotContains(t, now, "a-new", "the create made before the refused change is rolled back")
	require.Equal(t, before["b-existing"].Version+1, now["b-existing"].Version, "only the other edit stands")
}

// roundTripJobs are jobs of every shape, created one by one through the API.
var roundTripJobs = []string{
	`{"namespace":"rt","name":"http full","description":"calls the ledger","schedule":{"cron":"0 */5 8-17 ? * MON-FRI","excluded_dates":["2026-09-02"],"jitter":"10s"},
	  "timezone":"Europe/Paris","http":{"method":"post","url":"https://ledger.test/run?x=1","headers":{"Authorization":"Bearer {{ var.API_TOKEN }}","X-Team":"finance"},"body":"{\"a\":1}","follow_redirects":2},
	  "timeout":"1500us","misfire_policy":"fire_all","max_catchup":5,"starting_deadline":"1m","concurrency_policy":"forbid","retry":{"max_attempts":3,"backoff":["1s","1m"]}}`,
	`{"namespace":"rt","name":"fixed rate","schedule":{"kind":"fixed_rate","every":"90s","anchor":"2026-01-01T07:00:00+07:00"},"http":{"url":"http://x.test/"}}`,
	`{"namespace":"rt","name":"once","schedule":{"kind":"once","at":"2099-01-01T00:00:00Z"},"http":{"url":"http://x.test/"},"enabled":false}`,
	`{"namespace":"rt","name":"sql","schedule":{"cron":"@daily"},"sql":{"driver":"postgres","dsn":"{{ var.REPORTS_DSN }}",
	  "statements":[{"sql":"select $1, $2, $3","params":[1.5,"x",true]},{"sql":"select @n","named_params":{"n":7}}],"transaction":true,"max_rows":5}}`,
	`{"namespace":"rt","name":"yes","description":"123\nnull: ~ # not a comment","schedule":{"cron":"@hourly"},"http":{"url":"http://x.test/"},"retry":{"max_attempts":1,"backoff":[]}}`,
}

// TestExportApplyRoundTripIsANoop: what an export writes, applied back (JSON or YAML), changes
// nothing; and an export of an unchanged install is the same every time.
func TestExportApplyRoundTripIsANoop(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, j := range roundTripJobs {
		code, _, b := c.do(http.MethodPost, "/api/v1/jobs", j)
		require.Equal(t, http.StatusCreated, code, string(b))
	}
	before := c.jobsIn("rt")
	code, h, exported := c.do(http.MethodGet, "/api/v1/jobs/export?namespace=rt", "")
	require.Equal(t, http.StatusOK, code, string(exported))
	require.Equal(t, "application/json", h.Get("Content-Type"))
	for _, banned := range []string{`"id"`, `"version"`, `"next_run_at"`, `"state"`, `"shard"`, `"created_at"`, `"created_by"`} {
		require.NotContains(t, string(exported), banned)
	}
	code, h, exportedYAML := c.do(http.MethodGet, "/api/v1/jobs/export?namespace=rt", "", "Accept", "application/yaml")
	require.Equal(t, http.StatusOK, code, string(exportedYAML))
	require.Equal(t, "application/yaml", h.Get("Content-Type"))

	var doc struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	require.NoError(t, json.Unmarshal(exported, &doc))
	require.Len(t, doc.Jobs, len(roundTripJobs))

	body := strings.TrimSuffix(strings.TrimSpace(string(exported)), "}") + `,"prune":true}`
	plan, _ := c.apply(body)
	for _, it := range plan.Plan {
		require.Equal(t, "unchanged", it.Action, "%s: %v", it.Name, it.Diff)
	}
	plan, _ = c.apply(string(exportedYAML)+"prune: true\n", "Content-Type", "application/yaml")
	for _, it := range plan.Plan {
		require.Equal(t, "unchanged", it.Action, "%s: %v", it.Name, it.Diff)
	}
	require.Len(t, plan.Plan, len(roundTripJobs))
	require.Equal(t, before, c.jobsIn("rt"))
	_, _, again := c.do(http.MethodGet, "/api/v1/jobs/export?namespace=rt", "")
	require.Equal(t, string(exported), string(again))

	// The YAML holds what the JSON holds.
	var fromYAML any
	require.NoError(t, yaml.Unmarshal(exportedYAML, &fromYAML))
	asJSON, err := json.Marshal(fromYAML)
	require.NoError(t, err)
	require.JSONEq(t, string(exported), string(asJSON))
}

// TestExportNeverHoldsSecrets: a job refers to a secret variable by name; the export, the plan and
// its diff show the reference, never the value.
func TestExportNeverHoldsSecrets(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	const secretValue = "tok-live-9f8e7d6c5b4a"
	code, _, b := c.do(http.MethodPut, "/api/v1/variables/API_TOKEN", `{"value":"`+secretValue+`","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	item := func(auth string) string {
		return `{"namespace":"pay","name":"settle","schedule":{"cron":"@daily"},"http":{"url":"https://bank.test/","headers":{"Authorization":"` + auth + `"}}}`
	}
	c.apply(applyBody(false, false, item("Bearer {{ var.API_TOKEN }}")))
	id := c.jobsIn("pay")["settle"].ID
	code, _, b = c.do(http.MethodPut, "/api/v1/jobs/"+id+"/variables/OWN", `{"value":"`+secretValue+`-own","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, string(b))

	for _, accept := range []string{"application/json", "application/yaml"} {
		code, _, out := c.do(http.MethodGet, "/api/v1/jobs/export", "", "Accept", accept)
		require.Equal(t, http.StatusOK, code)
		require.NotContains(t, string(out), secretValue, accept)
		require.Contains(t, string(out), "{{ var.API_TOKEN }}", accept)
	}
	_, _, out := c.do(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, true, item("Bearer {{ var.OWN }}")))
	require.NotContains(t, string(out), secretValue)
	require.Contains(t, string(out), `"old":"Bearer {{ var.API_TOKEN }}"`)
	// A credential typed in is refused, as on create: it could never reach an export.
	p := c.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, true, item("Bearer "+secretValue)), http.StatusBadRequest)
	require.Equal(t, []string{"jobs[0].http.headers.Authorization"}, fields(p))
}

// TestApplyTakesYAML: an apply in YAML reads as its JSON; YAML's own hazards are refused naming
// the field.
func TestApplyTakesYAML(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	plan, _ := c.apply(`# the team's jobs
jobs:
  - namespace: ops
    name: nightly
    enabled: true
    schedule: {cron: "0 0 2 * * *"}
    http:
      url: https://example.test/nightly
    timeout: 45s
`, "Content-Type", "application/yaml")
	require.Equal(t, []string{"nightly:create"}, plan.actions())
	require.Equal(t, domain.Duration(45*time.Second), c.jobsIn("ops")["nightly"].Timeout)
	for name, tt := range map[string]struct{ body, field string }{
		"UnknownField": {"jobs:\n  - name: x\n    shedule: {}\n", "jobs[0].shedule"},
		"Alias":        {"base: &b {cron: '@daily'}\njobs:\n  - name: x\n    schedule: *b\n", "base"},
		"DuplicateKey": {"jobs:\n  - name: x\n    name: y\n", "jobs[0].name"},
		"NotYAML":      {"jobs: [\n", "body"},
		"Timeout":      {"jobs:\n  - name: x\n    timeout: 30\n", "jobs[0].timeout"},
		"Empty":        {"", "body"},
	} {
		t.Run(name, func(t *testing.T) {
			p := c.problem(http.MethodPost, "/api/v1/jobs/apply", tt.body, http.StatusBadRequest, "Content-Type", "application/yaml")
			require.Equal(t, []string{tt.field}, fields(p), p.Detail)
		})
	}
}

// TestApplyAndExportLimits: too many jobs or too large a body is a 413 naming it; other media
// types are refused.
func TestApplyAndExportLimits(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	items := make([]string, jobs.MaxApplyItems+1)
	for i := range items {
		items[i] = `{}`
	}
	p := c.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, false, items...), http.StatusRequestEntityTooLarge)
	require.Equal(t, []string{"jobs"}, fields(p))
	big := `{"jobs":[{"description":"` + strings.Repeat("x", 9<<20) + `"}]}`
	p = c.problem(http.MethodPost, "/api/v1/jobs/apply", big, http.StatusRequestEntityTooLarge)
	require.Equal(t, []string{"body"}, fields(p))
	c.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, false), http.StatusUnsupportedMediaType, "Content-Type", "text/plain")
	c.problem(http.MethodPost, "/api/v1/jobs", validJob, http.StatusUnsupportedMediaType, "Content-Type", "application/yaml")

	p = c.problem(http.MethodGet, "/api/v1/jobs/export", "", http.StatusNotAcceptable, "Accept", "text/html")
	require.Equal(t, []string{"Accept"}, fields(p))
	code, h, b := c.do(http.MethodGet, "/api/v1/jobs/export", "", "Accept", "application/yaml;q=0.5, application/json")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "application/json", h.Get("Content-Type"))
	require.JSONEq(t, `{"jobs":[]}`, string(b))
	_, _, b = c.do(http.MethodGet, "/api/v1/jobs/export", "", "Accept", "application/yaml")
	require.Equal(t, "jobs: []\n", string(b))
}
