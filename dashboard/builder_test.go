package dashboard_test

import (
	"bytes"
	"encoding/json"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/dashboard/internal/htmlform"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

// formOn returns the values a browser submits for the form with id of the page r answered.
func formOn(t *testing.T, r response, id string) url.Values {
	t.Helper()
	v, err := htmlform.Values(r.body, id)
	require.NoError(t, err, r.body)
	return v
}

var shownJSON = regexp.MustCompile(`(?s)<pre class="json" id="builder-json"><code>(.*?)</code></pre>`)

// shown returns the definition the live region of page shows as the JSON the builder sends.
func shown(t *testing.T, page string) domain.JobDefinition {
	t.Helper()
	m := shownJSON.FindStringSubmatch(page)
	require.NotNil(t, m, "no JSON shown")
	var def domain.JobDefinition
	require.NoError(t, json.Unmarshal([]byte(html.UnescapeString(m[1])), &def))
	return def
}

// stored returns the definition of job id as the API stores it.
func stored(t *testing.T, srv *dashboardtest.Server, token, id string) (domain.JobDefinition, domain.Job) {
	t.Helper()
	code, b := srv.API(t, token, http.MethodGet, "/api/v1/jobs/"+id, "")
	require.Equal(t, http.StatusOK, code, b)
	var j domain.Job
	require.NoError(t, json.Unmarshal([]byte(b), &j))
	return domain.JobDefinition{Namespace: j.Namespace, Name: j.Name, Description: j.Description, Tags: j.Tags, Kind: j.Kind,
		Enabled: j.Enabled, Schedule: j.Schedule, Timezone: j.Timezone, HTTP: j.HTTP, SQL: j.SQL, Timeout: j.Timeout,
		MisfirePolicy: j.MisfirePolicy, MaxCatchup: j.MaxCatchup, StartingDeadline: j.StartingDeadline,
		ConcurrencyPolicy: j.ConcurrencyPolicy, Retry: j.Retry, Triggers: j.Triggers, Chains: j.Chains, Alert: j.Alert, MissedAfter: j.MissedAfter}, j
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// jobIDFrom returns the job id of a redirect to its page.
func jobIDFrom(t *testing.T, r response) string {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	id, ok := strings.CutPrefix(r.Header.Get("Location"), "/jobs/")
	require.True(t, ok, r.Header.Get("Location"))
	return id
}

// builderRoundTrip fills the builder's form with fill (after the rows ops asked for), checks
// the live region shows what the API will store, creates the job, and checks that its edit
// form shows the same values. It returns the job's id.
func builderRoundTrip(t *testing.T, srv *dashboardtest.Server, c *client, token string, ops []string, fill func(url.Values)) string {
	t.Helper()
	r := c.get("/jobs/new")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	v := formOn(t, r, "builder-form")
	fill(v)
	for _, op := range ops {
		v.Set("op", op)
		r = c.post("/jobs/new", v)
		require.Equal(t, http.StatusOK, r.StatusCode, r.body)
		v = formOn(t, r, "builder-form")
		fill(v)
	}
	live := c.post("/jobs/builder/live", v, "HX-Request", "true")
	require.Equal(t, http.StatusOK, live.StatusCode, live.body)
	sent := shown(t, live.body)

	v.Set("op", "save")
	id := jobIDFrom(t, c.post("/jobs/new", v))
	def, _ := stored(t, srv, token, id)
	require.JSONEq(t, asJSON(t, sent), asJSON(t, def), "the JSON shown is the job the API stores")

	edit := c.get("/jobs/" + id + "/edit")
	require.Equal(t, http.StatusOK, edit.StatusCode, edit.body)
	require.JSONEq(t, asJSON(t, sent), asJSON(t, shown(t, edit.body)))
	again := formOn(t, edit, "builder-form")
	for _, k := range []string{"csrf", "version", "op"} {
		v.Del(k)
		again.Del(k)
	}
	require.Equal(t, v, again, "the edit form shows the values the job was created with")
	return id
}

func TestBuilderHTTPJobRoundTrip(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	c := newClient(t, srv)
	c.login(admin.Username)
	id := builderRoundTrip(t, srv, c, token, []string{"add_header", "add_header"}, func(v url.Values) {
		v.Set("name", "settle payments")
		v.Set("namespace", "pay")
		v.Set("description", "Settles the day's card payments.\nTwice.")
		v.Set("cron", "0 */5 9-17 * * MON-FRI")
		v.Set("timezone", "Asia/Ho_Chi_Minh")
		v.Set("excluded_dates", "2026-12-25\n2027-01-01")
		v.Set("jitter", "10s")
		v.Set("end_at", "2030-01-01T00:00:00Z")
		v.Set("http_method", "POST")
		v.Set("http_url", "https://payments.example.test/settle?day={{ execution.scheduled_at | date \"2006-01-02\" }}")
		v.Set("http_body", `{"region": "{{ var.REGION }}"}`)
		v.Set("http_follow_redirects", "2")
		v.Set("timeout", "45s")
		v.Set("starting_deadline", "1m0s")
		v.Set("misfire_policy", "fire_all")
		v.Set("max_catchup", "3")
		v.Set("concurrency_policy", "forbid")
		v.Set("retry_max_attempts", "4")
		v.Set("retry_backoff", "10s, 1m0s")
		if len(v["header_name"]) == 2 {
			v["header_name"] = []string{"Content-Type", "X-Api-Key"}
			v["header_value"] = []string{"application/json", "{{ var.PAY_KEY }}"}
		}
	})
	def, j := stored(t, srv, token, id)
	require.Equal(t, "pay", def.Namespace)
	require.Equal(t, map[string]string{"Content-Type": "application/json", "X-Api-Key": "{{ var.PAY_KEY }}"}, def.HTTP.Headers)
	require.Equal(t, []string{"2026-12-25", "2027-01-01"}, def.Schedule.ExcludedDates)
	require.Equal(t, int64(1), j.Version)

	// The job page links the builder of this job.
	require.Contains(t, c.get("/jobs/"+id).body, `href="/jobs/`+id+`/edit"`)
}

func TestBuilderSQLJobRoundTrip(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	c := newClient(t, srv)
	c.login(admin.Username)
	id := builderRoundTrip(t, srv, c, token, []string{"kind", "add_statement"}, func(v url.Values) {
		v.Set("kind", "sql")
		v.Set("name", "nightly rollup")
		v.Set("sched_kind", "cron")
		v.Set("cron", "@daily")
		v.Set("timezone", "Europe/Paris")
		v.Set("concurrency_policy", "replace")
		v.Set("retry_max_attempts", "1")
		v.Set("retry_backoff", "")
		if v.Has("sql_driver") {
			v.Set("sql_driver", "postgres")
			v.Set("sql_dsn", "{{ var.REPORTS_DSN }}")
			v.Set("sql_transaction", "on")
			v.Set("sql_statement_timeout", "20s")
			v.Set("sql_max_rows", "50")
		}
		if len(v["stmt_sql"]) == 2 {
			v["stmt_sql"] = []string{"insert into rollup select $1::int, $2", "select count(*) from rollup where region = @region"}
			v["stmt_params"] = []string{`[42,"{{ var.REGION }}"]`, ""}
			v["stmt_named"] = []string{"", `{"region":"eu"}`}
		}
	})
	def, _ := stored(t, srv, token, id)
	require.Equal(t, domain.KindSQL, def.Kind)
	require.Nil(t, def.HTTP)
	require.Len(t, def.SQL.Statements, 2)
	require.Equal(t, []any{float64(42), "{{ var.REGION }}"}, def.SQL.Statements[0].Params)
	require.Equal(t, map[string]any{"region": "eu"}, def.SQL.Statements[1].NamedParams)
}

func TestBuilderFieldErrors(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	v := formOn(t, c.get("/jobs/new"), "builder-form")

	// What the form itself cannot read is never sent.
	v.Set("name", "broken")
	v.Set("timeout", "soon")
	v.Set("op", "save")
	r := c.post("/jobs/new", v)
	require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode, r.body)
	require.Regexp(t, `id="e-f-timeout">&#34;soon&#34; is not a duration`, r.body)

	// The API's field errors are shown beside their fields, the values kept.
	v.Set("timeout", "30s")
	v.Set("cron", "61 * * * * *")
	v.Set("http_url", "ftp://files.example.test/x")
	v.Set("max_catchup", "100000")
	v.Set("misfire_policy", "sometimes")
	r = c.post("/jobs/new", v)
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body, "the API's status")
	for _, id := range []string{"f-cron", "f-http_url", "f-max_catchup", "f-misfire_policy"} {
		m := regexp.MustCompile(`<p class="field-error" id="e-` + id + `">([^<]+)</p>`).FindStringSubmatch(r.body)
		require.NotNil(t, m, "an error beside %s", id)
		require.Regexp(t, `id="`+id+`"[^>]*aria-invalid="true"`, r.body)
	}
	require.Contains(t, r.body, `<a href="#f-cron">schedule.cron</a>`, "the summary links the field")
	require.Contains(t, r.body, `value="61 * * * * *"`)
	require.Contains(t, r.body, `value="ftp://files.example.test/x"`)
	require.Contains(t, r.body, `<option value="sometimes" selected>`)
	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/jobs", "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, b, "broken")

	// A header the API refuses is marked on its row.
	v.Set("cron", "0 * * * * *")
	v.Set("http_url", "https://x.example.test/")
	v.Set("max_catchup", "10")
	v.Set("misfire_policy", "fire_once")
	v["header_name"] = []string{"Idempotency-Key"}
	v["header_value"] = []string{"mine"}
	r = c.post("/jobs/new", v)
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Regexp(t, `id="e-f-header_value-0">[^<]+</p>`, r.body)
}

func TestBuilderStaleEdit(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "hourly", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	v := formOn(t, c.get("/jobs/"+id+"/edit"), "builder-form")
	require.Equal(t, "1", v.Get("version"))

	// Someone else edits the job meanwhile.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, srv.URL+"/api/v1/jobs/"+id, strings.NewReader(`{"description":"theirs"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	req.Header.Set("If-Match", `"1"`)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	v.Set("description", "mine")
	v.Set("op", "save")
	r := c.post("/jobs/"+id+"/edit", v)
	require.Equal(t, http.StatusPreconditionFailed, r.StatusCode, r.body)
	require.Contains(t, html.UnescapeString(r.body), "Someone else changed this job while you edited it: it is at version 2 now.")
	require.Contains(t, r.body, "\nmine</textarea>", "the values are kept")
	def, _ := stored(t, srv, token, id)
	require.Equal(t, "theirs", def.Description)

	// On the version read again, the edit goes through.
	v = formOn(t, c.get("/jobs/"+id+"/edit"), "builder-form")
	v.Set("description", "mine")
	v.Set("op", "save")
	require.Equal(t, id, jobIDFrom(t, c.post("/jobs/"+id+"/edit", v)))
	def, _ = stored(t, srv, token, id)
	require.Equal(t, "mine", def.Description)
}

func TestBuilderFourEyes(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	code, b := srv.API(t, token, http.MethodPut, "/api/v1/namespaces/guarded/settings", `{"four_eyes":true}`)
	require.Equal(t, http.StatusOK, code, b)
	c := newClient(t, srv)
	c.login(admin.Username)
	v := formOn(t, c.get("/jobs/new?namespace=guarded"), "builder-form")
	require.Equal(t, "guarded", v.Get("namespace"))
	v.Set("name", "needs a second pair of eyes")
	v.Set("cron", "0 0 * * * *")
	v.Set("http_url", "https://x.example.test/")
	v.Set("op", "save")
	r := c.post("/jobs/new", v)
	require.Equal(t, http.StatusAccepted, r.StatusCode, r.body)
	require.Contains(t, html.UnescapeString(r.body), "Your change waits for another user's approval")
	require.NotContains(t, r.body, `id="builder-form"`, "no form to send the same change twice")
}

func TestBuilderViewer(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	id := createJob(t, srv, token, "read only", "default")
	viewer := srv.User(t, rbac.RoleViewer, "")
	c := newClient(t, srv)
	c.login(viewer.Username)
	for _, path := range []string{"/jobs/new", "/jobs/" + id + "/edit", "/jobs/import"} {
		r := c.get(path)
		require.Equal(t, http.StatusForbidden, r.StatusCode, path)
		require.NotContains(t, r.body, `id="builder-form"`)
	}

	// A forged post with the viewer's own valid CSRF token: the API refuses it.
	token2 := c.csrf("/jobs")
	form := url.Values{"csrf": {token2}, "op": {"save"}, "kind": {"http"}, "name": {"forged"}, "namespace": {"default"},
		"sched_kind": {"cron"}, "cron": {"0 * * * * *"}, "timezone": {"UTC"}, "http_method": {"GET"}, "http_url": {"https://x.example.test/"}}
	r := c.post("/jobs/new", form)
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
	require.Contains(t, html.UnescapeString(r.body), "missing permission job:write")
	form.Set("version", "1")
	r = c.post("/jobs/"+id+"/edit", form)
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
	code, b := srv.API(t, token, http.MethodGet, "/api/v1/jobs", "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, b, "forged")
	require.Contains(t, b, `"name":"read only"`)
}

func TestBuilderHostileStringsAreText(t *testing.T) {
	t.Parallel()
	const evil = `<img src=x onerror=alert(1)>`
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	v := formOn(t, c.get("/jobs/new"), "builder-form")
	v.Set("name", evil)
	v.Set("description", evil+"</textarea>"+evil)
	v.Set("cron", "0 0 * * * *")
	v.Set("http_url", "https://x.example.test/")
	v.Set("http_body", evil)
	v["header_name"] = []string{"X-Evil"}
	v["header_value"] = []string{evil}
	v.Set("op", "save")
	id := jobIDFrom(t, c.post("/jobs/new", v))
	for _, path := range []string{"/jobs/" + id + "/edit", "/jobs/" + id} {
		r := c.get(path)
		require.Equal(t, http.StatusOK, r.StatusCode)
		require.NotContains(t, r.body, "<img", path)
		require.NotContains(t, r.body, "</textarea><img", path)
	}
	edit := c.get("/jobs/" + id + "/edit")
	require.Contains(t, edit.body, `value="&lt;img src=x onerror=alert(1)&gt;"`)
	got := formOn(t, edit, "builder-form")
	require.Equal(t, evil, got.Get("name"))
	require.Equal(t, evil+"</textarea>"+evil, got.Get("description"))
	require.Equal(t, evil, got.Get("http_body"))
	require.Equal(t, []string{evil}, got["header_value"])
	// The live region too.
	live := c.post("/jobs/builder/live", got, "HX-Request", "true")
	require.NotContains(t, live.body, "<img")
	require.Equal(t, evil, shown(t, live.body).Name)
}

func TestBuilderRows(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	v := formOn(t, c.get("/jobs/new"), "builder-form")
	v["header_name"] = []string{"A", "B", "C"}
	v["header_value"] = []string{"1", "2", "3"}
	v.Set("op", "remove_header:1")
	r := c.post("/jobs/new", v)
	require.Equal(t, http.StatusOK, r.StatusCode)
	got := formOn(t, r, "builder-form")
	require.Equal(t, []string{"A", "C"}, got["header_name"])
	require.Equal(t, []string{"1", "3"}, got["header_value"])
	got.Set("op", "add_header")
	got = formOn(t, c.post("/jobs/new", got), "builder-form")
	require.Equal(t, []string{"A", "C", ""}, got["header_name"])
	code, b := srv.API(t, srv.Token(t, admin), http.MethodGet, "/api/v1/jobs", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, b, `"items":[]`, "a row's button saves nothing")

	// The cron helper: the next fires in the zone and in UTC, the schedule in words.
	got.Set("cron", "0 30 9 * * *")
	got.Set("timezone", "America/New_York")
	live := c.post("/jobs/builder/live", got, "HX-Request", "true")
	require.Equal(t, http.StatusOK, live.StatusCode)
	require.Contains(t, live.body, `id="schedule-words"`)
	require.Contains(t, live.body, "Local time (America/New_York)")
	require.Equal(t, 10, strings.Count(live.body, "<tr><td>"))
	require.Contains(t, live.body, "09:30:00 E")
	// As htmx posts it: the CSRF token in a header, not in the form.
	token := got.Get("csrf")
	got.Del("csrf")
	live = c.post("/jobs/builder/live", got, "HX-Request", "true", "X-CSRF-Token", token)
	require.Equal(t, http.StatusOK, live.StatusCode)
	require.Contains(t, live.body, "Local time (America/New_York)")
	got.Set("op", "add_header")
	r = c.post("/jobs/new", got, "HX-Request", "true", "X-CSRF-Token", token)
	require.Equal(t, []string{"A", "C", "", ""}, formOn(t, r, "builder-form")["header_name"])
	got.Del("op")
	got.Set("cron", "not a cron")
	live = c.post("/jobs/builder/live", got, "HX-Request", "true", "X-CSRF-Token", token)
	require.Contains(t, live.body, "schedule.cron:")
}

// postMultipart posts fields as multipart/form-data, as the import form does.
func (c *client) postMultipart(path string, fields map[string]string, file string) response {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		require.NoError(c.t, mw.WriteField(k, v))
	}
	if file != "" {
		fw, err := mw.CreateFormFile("file", "jobs.yaml")
		require.NoError(c.t, err)
		_, err = fw.Write([]byte(file))
		require.NoError(c.t, err)
	}
	require.NoError(c.t, mw.Close())
	req, err := http.NewRequestWithContext(c.t.Context(), http.MethodPost, c.srv.URL+path, &body)
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.c.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(c.t, err)
	return response{resp, b.String()}
}

func jobNames(t *testing.T, srv *dashboardtest.Server, token string) []string {
	t.Helper()
	code, b := srv.API(t, token, http.MethodGet, "/api/v1/jobs?limit=100", "")
	require.Equal(t, http.StatusOK, code, b)
	var list struct{ Items []domain.Job }
	require.NoError(t, json.Unmarshal([]byte(b), &list))
	var names []string
	for _, j := range list.Items {
		names = append(names, j.Namespace+"/"+j.Name)
	}
	return names
}

const importDoc = `{"jobs": [
 {"namespace": "ops", "name": "ping", "schedule": {"cron": "0 * * * * *"}, "http": {"url": "https://ping.example.test/"}},
 {"namespace": "ops", "name": "report", "schedule": {"kind": "fixed_rate", "every": "1h", "anchor": "2026-01-01T00:00:00Z"},
  "http": {"method": "POST", "url": "https://report.example.test/"}}
]}`

func TestImportPlansThenAppliesOnConfirm(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	c := newClient(t, srv)
	c.login(admin.Username)
	csrf := c.csrf("/jobs/import")

	r := c.postMultipart("/jobs/import", map[string]string{"csrf": csrf, "op": "plan", "document": importDoc}, "")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Equal(t, 2, strings.Count(r.body, `class="plan-row plan-create"`))
	require.Contains(t, r.body, "2 to create")
	require.Contains(t, r.body, "<code>schedule.every</code>", "the diff of each job")
	require.Empty(t, jobNames(t, srv, token), "a plan changes nothing")
	confirm := formOn(t, r, "import-confirm")
	require.Equal(t, "apply", confirm.Get("op"))
	require.NotEmpty(t, confirm.Get("digest"))

	// A document changed after its plan was shown is planned again, not applied.
	fields := map[string]string{}
	for k := range confirm {
		fields[k] = confirm.Get(k)
	}
	fields["document"] = strings.Replace(importDoc, "ping", "pong", 1)
	r = c.postMultipart("/jobs/import", fields, "")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, "The document changed since its plan was shown")
	require.Empty(t, jobNames(t, srv, token))

	fields["document"] = confirm.Get("document")
	r = c.postMultipart("/jobs/import", fields, "")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, "Applied.")
	require.ElementsMatch(t, []string{"ops/ping", "ops/report"}, jobNames(t, srv, token))

	// Export, change, import as YAML: the plan shows the update and its diff.
	exp := c.get("/jobs/export?namespace=ops&format=yaml")
	require.Equal(t, http.StatusOK, exp.StatusCode, exp.body)
	require.Equal(t, `attachment; filename="vecron-jobs-ops.yaml"`, exp.Header.Get("Content-Disposition"))
	require.True(t, strings.HasPrefix(exp.body, "jobs:\n"), exp.body)
	changed := strings.Replace(exp.body, "https://ping.example.test/", "https://ping2.example.test/", 1)
	r = c.postMultipart("/jobs/import", map[string]string{"csrf": csrf, "op": "plan"}, changed)
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, "1 to update")
	require.Contains(t, r.body, "1 unchanged")
	require.Contains(t, r.body, "<code>http.url</code>")
	require.Contains(t, r.body, "ping2.example.test")

	exp = c.get("/jobs/export?namespace=ops&format=json")
	require.Equal(t, http.StatusOK, exp.StatusCode)
	require.Contains(t, exp.Header.Get("Content-Type"), "application/json")
	var doc struct{ Jobs []domain.JobDefinition }
	require.NoError(t, json.Unmarshal([]byte(exp.body), &doc))
	require.Len(t, doc.Jobs, 2)
	require.Contains(t, c.get("/jobs/export").body, `id="export-download"`)
}

func TestImportBadItemAppliesNothing(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	c := newClient(t, srv)
	c.login(admin.Username)
	csrf := c.csrf("/jobs/import")
	bad := strings.Replace(importDoc, `"every": "1h"`, `"every": "hourly"`, 1)
	r := c.postMultipart("/jobs/import", map[string]string{"csrf": csrf, "op": "plan", "document": bad}, "")
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Contains(t, r.body, "Nothing was applied.")
	require.Contains(t, r.body, "Job 2 «report» — <code>schedule.every</code>")
	require.NotContains(t, r.body, `id="import-confirm"`)
	require.Contains(t, r.body, "hourly", "the document is kept to fix")
	require.Empty(t, jobNames(t, srv, token))

	r = c.postMultipart("/jobs/import", map[string]string{"csrf": csrf, "op": "plan", "document": "jobs: &a [1]\nx: *a"}, "")
	require.Equal(t, http.StatusUnprocessableEntity, r.StatusCode, r.body)
	require.Contains(t, r.body, "anchor or alias")
	r = c.postMultipart("/jobs/import", map[string]string{"csrf": csrf, "op": "plan", "document": `{"jobs":[{"name":"` + `<img src=x onerror=alert(1)>` + `","timeout":"x"}]}`}, "")
	require.NotContains(t, r.body, "<img")
}

func TestImportPruneOnlyForDeleters(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	createJob(t, srv, token, "old", "ops")
	code, b := srv.API(t, token, http.MethodPut, "/api/v1/roles/writer", `{"permissions":["job:read","job:write"]}`)
	require.Contains(t, []int{http.StatusOK, http.StatusCreated}, code, b)
	writer := srv.User(t, "writer", "ops")

	c := newClient(t, srv)
	c.login(admin.Username)
	page := c.get("/jobs/import")
	require.Contains(t, page.body, `id="i-prune"`)
	require.NotContains(t, page.body, `id="i-prune" name="prune" type="checkbox" checked`, "off by default")
	csrf := c.csrf("/jobs/import")
	r := c.postMultipart("/jobs/import", map[string]string{"csrf": csrf, "op": "plan", "document": importDoc, "prune": "on"}, "")
	require.Equal(t, http.StatusOK, r.StatusCode, r.body)
	require.Contains(t, r.body, `id="prune-warning"`)
	require.Contains(t, r.body, "<code>ops</code>")
	require.Contains(t, r.body, `class="plan-row plan-delete"`)
	require.Contains(t, jobNames(t, srv, token), "ops/old")

	w := newClient(t, srv)
	w.login(writer.Username)
	page = w.get("/jobs/import")
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.NotContains(t, page.body, `id="i-prune"`)
	r = w.postMultipart("/jobs/import", map[string]string{"csrf": w.csrf("/jobs/import"), "op": "plan", "document": importDoc, "prune": "on"}, "")
	require.Equal(t, http.StatusForbidden, r.StatusCode, r.body)
	require.Contains(t, html.UnescapeString(r.body), "job:delete")
}

// TestBuilderPagesNoInlineCode: the builder, import and export pages hold nothing the CSP
// would refuse.
func TestBuilderPagesNoInlineCode(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	id := createJob(t, srv, srv.Token(t, admin), "hourly", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	for _, path := range []string{"/jobs/new", "/jobs/" + id + "/edit", "/jobs/import", "/jobs/export"} {
		r := c.get(path)
		require.Equal(t, http.StatusOK, r.StatusCode, path)
		require.Contains(t, r.Header.Get("Content-Security-Policy"), "script-src 'self'")
		require.NotRegexp(t, `<script(?:\s[^>]*)?>\s*[^<\s]`, r.body, "inline script on %s", path)
		require.NotRegexp(t, `\sstyle=`, r.body, "inline style on %s", path)
		require.NotRegexp(t, `\son[a-z]+=`, r.body, "inline event handler on %s", path)
		require.NotContains(t, r.body, "<style", path)
		require.NotContains(t, r.body, `hx-vals='js:`, path)
		require.NotContains(t, r.body, `hx-on`, path)
	}
}

// TestBuilderCronHelperMarks: the next fires mark those a clock change or an excluded date
// moved, with an icon and the API's words.
func TestBuilderCronHelperMarks(t *testing.T) {
	t.Parallel()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC))
	srv := dashboardtest.Start(t, dashboardtest.Options{Clock: clock})
	admin := srv.User(t, rbac.RoleAdmin, "")
	c := newClient(t, srv)
	c.login(admin.Username)
	v := formOn(t, c.get("/jobs/new"), "builder-form")
	v.Set("cron", "0 30 2 * * *")
	v.Set("timezone", "America/New_York")
	v.Set("excluded_dates", "2026-03-10")
	live := c.post("/jobs/builder/live", v, "HX-Request", "true")
	require.Equal(t, http.StatusOK, live.StatusCode, live.body)
	require.Contains(t, live.body, `class="note note-dst_gap_shifted"><span aria-hidden="true">☀</span>`)
	// Whatever the date's format: 02:30 does not exist on 8 March, so that fire is at 03:00 EDT.
	require.Contains(t, live.body, "03:00:00 EDT", "02:30 does not exist that day")
	require.Contains(t, live.body, "07:00:00 UTC")
	require.Equal(t, 10, strings.Count(live.body, "<tr><td>"))
	require.Contains(t, live.body, `class="note note-excluded_date"><span aria-hidden="true">⊘</span>`, "the fire after it says so")
}
