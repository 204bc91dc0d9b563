package dashboard_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
)

// createTagged creates an http job with tags in namespace ns through the API.
func createTagged(t *testing.T, srv *dashboardtest.Server, token, name, ns string, tags ...string) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"name": name, "namespace": ns, "tags": tags,
		"schedule": map[string]string{"cron": "0 0 * * * *"}, "http": map[string]string{"url": "http://example.test/run"}})
	require.NoError(t, err)
	code, b := srv.API(t, token, http.MethodPost, "/api/v1/jobs", string(body))
	require.Equal(t, http.StatusCreated, code, b)
	var j struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(b), &j))
	return j.ID
}

var tagLink = regexp.MustCompile(`<a class="tag" href="([^"]+)"[^>]*>([^<]+)</a>`)

// tagLinks returns the tags a page shows as links, each with where it leads.
func tagLinks(page string) map[string]string {
	out := map[string]string{}
	for _, m := range tagLink.FindAllStringSubmatch(page, -1) {
		out[html.UnescapeString(m[2])] = html.UnescapeString(m[1])
	}
	return out
}

// TestJobsListTags: each row shows its job's tags, each a link that lists the jobs that have
// it; the tag input keeps the jobs that have every tag typed; a tag that is none is refused
// beside the input, the value kept as text.
func TestJobsListTags(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	settle := createTagged(t, srv, token, "settle payments", "pay", "team:payments", "env/prod")
	createTagged(t, srv, token, "refund wallets", "pay", "team:payments", "env/staging")
	createTagged(t, srv, token, "monthly report", "reports", "team:reports", "env/prod")
	createTagged(t, srv, token, "untagged cleanup", "ops")
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/jobs")
	require.Equal(t, http.StatusOK, r.StatusCode)
	links := tagLinks(r.body)
	require.Len(t, links, 4)
	require.Equal(t, "/jobs?tag=env%2Fprod", links["env/prod"])
	require.Equal(t, 6, strings.Count(r.body, `class="tag"`), "each job its own")
	require.Contains(t, r.body, `<ul class="tags" aria-label="Tags">`)

	// A tag's link lists the jobs that have it.
	r = c.get(links["team:payments"])
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Equal(t, 2, strings.Count(r.body, `class="job-row"`))
	require.Contains(t, r.body, "settle payments")
	require.Contains(t, r.body, "refund wallets")
	require.Contains(t, r.body, `id="tag" type="search" name="tag" value="team:payments"`, "the filter shows the tag")

	// The input takes several, separated by spaces or commas: the jobs that have every one.
	for _, typed := range []string{"env/prod team:payments", "team:payments,env/prod", " env/prod ,, team:payments "} {
		r = c.get("/jobs?" + url.Values{"tag": {typed}}.Encode())
		require.Equal(t, http.StatusOK, r.StatusCode, typed)
		require.Equal(t, 1, strings.Count(r.body, `class="job-row"`), typed)
		require.Contains(t, r.body, `href="/jobs/`+settle+`"`, typed)
	}
	r = c.get("/jobs?tag=env/prod&tag=team:payments&namespace=pay")
	require.Equal(t, 1, strings.Count(r.body, `class="job-row"`), "repeated, with the other filters")
	r = c.get("/jobs?tag=")
	require.Equal(t, 4, strings.Count(r.body, `class="job-row"`), "blank: no filter")

	// A tag that is none is the API's 400, shown beside the input; the page shows no rows.
	for typed, reason := range map[string]string{
		"Team:Payments": `must be lowercase: write &#34;team:payments&#34;`,
		"<script>":      "holds &#39;&lt;&#39;",
		"thuế":          "holds &#39;ế&#39;",
	} {
		r = c.get("/jobs?" + url.Values{"tag": {typed}}.Encode())
		require.Equal(t, http.StatusBadRequest, r.StatusCode, typed)
		require.Regexp(t, `<p class="field-error" id="err-tag">[^<]*`+regexp.QuoteMeta(reason), r.body, typed)
		require.Regexp(t, `id="tag"[^>]*aria-invalid="true"`, r.body)
		require.NotContains(t, r.body, "<script>")
		require.Zero(t, strings.Count(r.body, `class="job-row"`))
	}

	// The job page shows them too.
	r = c.get("/jobs/" + settle)
	require.Equal(t, http.StatusOK, r.StatusCode)
	require.Regexp(t, `<dt>Tags</dt><dd><ul class="tags"`, r.body)
	require.Contains(t, tagLinks(r.body), "env/prod")

	// In Vietnamese.
	r = c.get("/jobs?tag=env/prod", "Cookie", "lang=vi")
	require.Contains(t, r.body, `<label for="tag">Nhãn</label>`)
	require.Contains(t, r.body, `title="Xem các tác vụ có nhãn env/prod"`)
}

// TestBuilderTags: the builder's tags input takes tags separated by commas or spaces; the JSON
// shown is what the API stores (each once, sorted); the edit form shows them again; a tag the
// API refuses is marked beside the input, what was typed kept.
func TestBuilderTags(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	c := newClient(t, srv)
	c.login(admin.Username)

	r := c.get("/jobs/new")
	require.Regexp(t, `<label for="f-tags">Tags</label>`, r.body)
	v := formOn(t, r, "builder-form")
	v.Set("name", "tagged")
	v.Set("cron", "0 0 * * * *")
	v.Set("http_url", "https://x.example.test/")
	v.Set("tags", "team:payments env/prod,\tteam:payments")
	live := c.post("/jobs/builder/live", v, "HX-Request", "true")
	require.Equal(t, http.StatusOK, live.StatusCode, live.body)
	require.Equal(t, []string{"env/prod", "team:payments"}, shown(t, live.body).Tags)

	v.Set("op", "save")
	id := jobIDFrom(t, c.post("/jobs/new", v))
	def, _ := stored(t, srv, token, id)
	require.Equal(t, []string{"env/prod", "team:payments"}, def.Tags)
	edit := c.get("/jobs/" + id + "/edit")
	require.Equal(t, "env/prod, team:payments", formOn(t, edit, "builder-form").Get("tags"))

	// Emptied, the job has no tags.
	v = formOn(t, edit, "builder-form")
	v.Set("tags", " , ")
	v.Set("op", "save")
	r = c.post("/jobs/"+id+"/edit", v)
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	def, _ = stored(t, srv, token, id)
	require.Nil(t, def.Tags)
	require.Contains(t, c.get("/jobs/"+id).body, "Changed: tags", "the job's audit trail names the field")

	// Refused by the API: beside the input, linked from the summary, the text kept.
	v = formOn(t, c.get("/jobs/new"), "builder-form")
	v.Set("name", "refused")
	v.Set("cron", "0 0 * * * *")
	v.Set("http_url", "https://x.example.test/")
	v.Set("tags", "ok Payments <b>x</b>")
	v.Set("op", "save")
	r = c.post("/jobs/new", v)
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Regexp(t, `<p class="field-error" id="e-f-tags">[^<]*must be lowercase[^<]*; [^<]*holds &#39;&lt;&#39;`, r.body)
	require.Regexp(t, `id="f-tags"[^>]*aria-invalid="true"`, r.body)
	require.Contains(t, r.body, `<a href="#f-tags">tags[1]</a>`)
	require.Contains(t, r.body, `<a href="#f-tags">tags[2]</a>`)
	require.Contains(t, r.body, `value="ok Payments &lt;b&gt;x&lt;/b&gt;"`)
	require.NotContains(t, r.body, "<b>x")

	v.Set("tags", "a b c d e f g h i j k l m n o p q r s t u")
	r = c.post("/jobs/new", v)
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
	require.Contains(t, r.body, `<a href="#f-tags">tags</a>`, "21 tags")
}
