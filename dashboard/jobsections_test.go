package dashboard_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// section returns the page's section whose heading has id, up to the section's end ("" when
// the page has none).
func section(body, id string) string {
	i := strings.Index(body, `aria-labelledby="`+id+`"`)
	if i < 0 {
		return ""
	}
	end := strings.Index(body[i:], "</section>")
	if end < 0 {
		return body[i:]
	}
	return body[i : i+end]
}

// patchJob changes job id, at version, through the API with a merge patch and requires it to
// work.
func patchJob(t *testing.T, srv *dashboardtest.Server, token, id string, version int, patch string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, srv.URL+"/api/v1/jobs/"+id, strings.NewReader(patch))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("If-Match", fmt.Sprintf(`"%d"`, version))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestJobPageStatistics(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "settle"})
	now := time.Now().UTC().Truncate(time.Second)
	for i, o := range []struct {
		s domain.ExecutionStatus
		d time.Duration
	}{
		{domain.StatusSucceeded, time.Second}, {domain.StatusSucceeded, 2 * time.Second}, {domain.StatusSucceeded, 3 * time.Second},
		{domain.StatusSkipped, 0}, {domain.StatusCancelled, time.Second}, {domain.StatusDeadLettered, 4 * time.Second},
		{domain.StatusFailed, 5 * time.Second}, {domain.StatusTimedOut, 6 * time.Second},
	} {
		// Oldest first: the failures are the newest, so they are consecutive.
		testfactory.Outcome(t, srv.Store, j, o.s, now.Add(-time.Duration(10-i)*time.Hour), o.d)
	}
	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/jobs/" + j.ID)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	stats := section(r.body, "stats-title")
	require.NotEmpty(t, stats)
	for status, n := range map[string]string{"succeeded": "3", "failed": "1", "timed_out": "1", "skipped": "1", "cancelled": "1", "dead_lettered": "1"} {
		require.Regexp(t, `<tr id="count-`+status+`"><th scope="row"><span class="outcome o-`+status+`"><span aria-hidden="true">[^<]+</span> [^<]+</span></th>\s*<td class="num">`+n+`</td>`,
			stats, "each outcome has an icon, a word and its count: %s", status)
	}
	require.Contains(t, stats, `<td class="num" id="count-total">8</td>`)
	require.Contains(t, stats, `<meter min="0" max="8" value="3" aria-hidden="true"></meter> 37.5%`, "a bar beside the share, which is written out")
	// Success rate: 3 of the 6 that ran to an end (skipped and cancelled do not count).
	require.Contains(t, stats, `<dd id="stats-rate">50%</dd>`)
	require.Regexp(t, `<dd id="stats-duration">p50 [0-9.]+ s · p95 [0-9.]+ s <span class="muted">over the last 6 runs</span></dd>`, stats)
	require.Contains(t, stats, `<dd id="stats-consecutive"><span aria-hidden="true">⚠</span> 3</dd>`)
	lastSuccess := regexp.MustCompile(`<dd id="stats-last-success"><span class="when" data-at="[^"]+" data-now="[^"]+">([^<]+)</span> <span class="muted">([^<]+)</span></dd>`).FindStringSubmatch(stats)
	require.NotNil(t, lastSuccess, stats)
	require.Equal(t, "8 h ago", lastSuccess[1], "relative")
	require.Contains(t, html.UnescapeString(lastSuccess[2]), "+07", "and absolute, in the job's zone")
	require.Contains(t, stats, `<dd id="stats-last-failure"><span class="when"`)

	// In Vietnamese, numbers and times are written as the language writes them.
	r = c.get("/jobs/"+j.ID, "Accept-Language", "vi")
	stats = section(r.body, "stats-title")
	require.Contains(t, stats, "37,5 %")
	require.Contains(t, stats, "Thống kê")
	require.Contains(t, stats, "trên 6 lần chạy gần nhất")

	// A job that never ran says so.
	idle := testfactory.Job(t, srv.Store, testfactory.JobOpts{Name: "idle"})
	stats = section(c.get("/jobs/"+idle.ID).body, "stats-title")
	require.Contains(t, stats, `<dd id="stats-rate"><span class="muted">No runs yet</span></dd>`)
	require.Contains(t, stats, `<dd id="stats-last-success"><span class="muted">Never</span></dd>`)
	require.Contains(t, stats, `<dd id="stats-consecutive">0</dd>`)
}

func TestJobPageVariables(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "settle", "payments")
	for path, body := range map[string]string{
		"/api/v1/jobs/" + id + "/variables": `{"name":"API_KEY","value":"` + secretValue + `","is_secret":true,"allowed_hosts":["example.test"]}`,
		"/api/v1/variables":                 `{"name":"REGION","value":"<b>v</b>"}`,
	} {
		code, b := srv.API(t, token, http.MethodPost, path, body)
		require.Equal(t, http.StatusCreated, code, b)
	}
	for _, body := range []string{
		`{"name":"MODE","value":"<b>job</b>"}`,
	} {
		code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs/"+id+"/variables", body)
		require.Equal(t, http.StatusCreated, code, b)
	}
	for _, body := range []string{
		`{"name":"MODE","value":"global"}`,
		`{"name":"BANK_TOKEN","value":"` + secretValue + `-global","is_secret":true}`,
		`{"name":"OPS_ONLY","value":"x","namespaces":["ops"]}`,
	} {
		code, b := srv.API(t, token, http.MethodPost, "/api/v1/variables", body)
		require.Equal(t, http.StatusCreated, code, b)
	}
	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.NotContains(t, r.body, secretValue, "a secret's value is nowhere in the page")
	vars := section(r.body, "vars-title")
	require.Contains(t, vars, `<tr id="var-API_KEY" class="var-row">`)
	require.Contains(t, vars, `<span aria-hidden="true">🔒</span> Secret, set</span> <span class="muted">sent only to example.test</span>`)
	require.Contains(t, vars, `<code class="var-value">&lt;b&gt;job&lt;/b&gt;</code>`, "a plain value is text")
	// The global ones its namespace sees, the job's own marked as used instead; not those of other
	// namespaces.
	global := html.UnescapeString(vars[strings.Index(vars, `id="vars-global"`):])
	require.Contains(t, global, "<code>REGION</code>")
	require.Contains(t, global, "<code>BANK_TOKEN</code> <span class=\"muted\">(secret)</span>")
	require.Contains(t, global, `<code class="shadowed">MODE</code> <span class="muted">(the job's own is used)</span>`)
	require.NotContains(t, global, "OPS_ONLY")
	require.Contains(t, vars, `<a href="/jobs/`+id+`/variables" id="vars-manage">Manage this job&#39;s variables</a>`)

	// A viewer of the namespace reads the job's own variables and is offered no management; the
	// global ones need variable:read in every namespace.
	viewer := srv.User(t, rbac.RoleViewer, "payments")
	cv := newClient(t, srv)
	cv.login(viewer.Username)
	r = cv.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.NotContains(t, r.body, secretValue)
	vars = section(r.body, "vars-title")
	require.Contains(t, vars, `<tr id="var-MODE" class="var-row">`)
	require.NotContains(t, vars, `id="vars-global"`)
	require.Contains(t, vars, `id="vars-manage">This job&#39;s variables</a>`)
}

func TestJobPageAuditTrail(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	// A user whose name is markup acts on the job: the name is text on the page.
	editor := testfactory.User(t, srv.Store, testfactory.UserOpts{Username: hostile, Role: rbac.RoleEditor})
	token := srv.Token(t, editor)
	id := createJob(t, srv, token, "settle", "default")
	patchJob(t, srv, token, id, 1, `{"description":"`+strings.ReplaceAll(hostile, `"`, `\"`)+`","timeout":"45s"}`)
	// Paused, resumed and run from the dashboard, where the user is signed in by name.
	ce := newClient(t, srv)
	ce.login(editor.Username)
	csrf := ce.csrf("/jobs/" + id)
	for _, action := range []string{"disable", "enable", "run"} {
		r := ce.post("/jobs/"+id+"/"+action, url.Values{"csrf": {csrf}})
		require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	}
	code, b := srv.API(t, token, http.MethodGet, "/api/v1/jobs/"+id+"/executions", "")
	require.Equal(t, http.StatusOK, code, b)
	var runs struct{ Items []struct{ ID string } }
	require.NoError(t, json.Unmarshal([]byte(b), &runs))
	require.Len(t, runs.Items, 1)
	// Another job's records stay on its page.
	other := createJob(t, srv, token, "other", "default")

	c := newClient(t, srv)
	c.login(admin.Username)
	r := c.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.NotContains(t, r.body, "<img src=x", "every user string is text")
	require.Contains(t, r.body, "<dd>&lt;img src=x onerror=alert(1)&gt;</dd>", "the description")
	trail := section(r.body, "audit-title")
	rows := regexp.MustCompile(`(?s)<tr id="audit-\d+" class="audit-row">(.*?)</tr>`).FindAllStringSubmatch(trail, -1)
	require.Len(t, rows, 5, trail)
	named := `<td data-label="Who">&lt;img src=x onerror=alert(1)&gt;</td>`
	for i, want := range []struct{ action, code, summary, actor string }{
		{"Run now", "job.trigger", `<a href="/executions/` + runs.Items[0].ID + `">The run it queued</a>`, named},
		{"Resumed", "job.enable", "—", named},
		{"Paused", "job.disable", "—", named},
		{"Edited", "job.update", "Changed: description, timeout", `<td data-label="Who">test</td>`},
		{"Created", "job.create", "—", `<td data-label="Who">test</td>`},
	} {
		require.Contains(t, rows[i][1], `<span>`+want.action+` <code class="muted">`+want.code+`</code></span>`, "newest first")
		require.Contains(t, rows[i][1], want.summary)
		require.Contains(t, rows[i][1], want.actor, "the user, or the API token by its name")
		require.Regexp(t, `<span class="when" data-at="[^"]+" data-now="[^"]+">[^<]+</span> <span class="muted">[^<]+ (?:&#43;|\+)07</span>`, rows[i][1])
	}
	require.NotContains(t, trail, other)
	all := `/audit?object_id=` + id + `&amp;object_kind=job`
	require.Contains(t, trail, `<a href="`+all+`" id="audit-all">`)
	r = c.get(html.UnescapeString(all))
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 5, strings.Count(r.body, `class="audit-row"`), "the link filters the audit log to the job")

	// The newest ten only.
	for range 4 {
		for _, action := range []string{"disable", "enable"} {
			code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs/"+id+"/"+action, "")
			require.Equal(t, http.StatusOK, code, b)
		}
	}
	trail = section(c.get("/jobs/"+id).body, "audit-title")
	require.Equal(t, 10, strings.Count(trail, `class="audit-row"`))
	require.NotContains(t, trail, "job.create")
}

// TestJobPageSectionsFollowRights: a caller who may not read the variables or the audit log gets
// the page without those sections, not an error.
func TestJobPageSectionsFollowRights(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "settle", "default")
	code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs/"+id+"/variables", `{"name":"KEY","value":"`+secretValue+`","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, b)
	code, b = srv.API(t, token, http.MethodPut, "/api/v1/roles/jobs-only",
		`{"description":"reads jobs and their runs","permissions":["job:read","execution:read"]}`)
	require.Equal(t, http.StatusCreated, code, b)

	for _, tc := range []struct {
		role            string
		vars, audit     bool
		manageVariables bool
	}{
		{role: "jobs-only"},
		{role: rbac.RoleViewer, vars: true},
		{role: rbac.RoleEditor, vars: true, manageVariables: true},
		{role: rbac.RoleAdmin, vars: true, audit: true, manageVariables: true},
	} {
		u := srv.User(t, tc.role, "default")
		c := newClient(t, srv)
		c.login(u.Username)
		r := c.get("/jobs/" + id)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s: %s", tc.role, r.body)
		require.NotContains(t, r.body, secretValue)
		require.Contains(t, r.body, `id="stats-title"`, tc.role)
		require.Equal(t, tc.vars, strings.Contains(r.body, `id="vars-title"`), tc.role)
		require.Equal(t, tc.vars, strings.Contains(r.body, `href="/jobs/`+id+`/variables"`), "%s: no link to a page they cannot read", tc.role)
		require.Equal(t, tc.manageVariables, strings.Contains(r.body, "Manage this job&#39;s variables"), tc.role)
		require.Equal(t, tc.audit, strings.Contains(r.body, `id="audit-title"`), tc.role)
		require.Equal(t, tc.audit, strings.Contains(r.body, `/audit?`), tc.role)
		require.NotContains(t, r.body, `class="problem"`, "%s: nothing refused is shown as a problem", tc.role)
	}
}
