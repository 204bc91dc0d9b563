package dashboard_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/rbac"
)

// TestBuilderChainsRoundTripAndJobPage: the builder writes a job's chains as the API stores
// them and shows them again in its edit, with its triggers; the job page lists each target, a link to the ones
// the reader may read and the ref alone for the others.
func TestBuilderChainsRoundTripAndJobPage(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	report := createJob(t, srv, token, "settle report", "pay")
	createJob(t, srv, token, "page, on call", "ops")
	c := newClient(t, srv)
	c.login(admin.Username)
	id := builderRoundTrip(t, srv, c, token, nil, func(v url.Values) {
		v.Set("name", "extract")
		v.Set("namespace", "pay")
		v.Set("cron", "0 0 2 * * *")
		v.Set("http_url", "https://extract.example.test/run")
		v.Set("on_success", "pay/settle report")
		// The edit keeps the job's triggers too.
		v.Set("triggers", `[{"webhook":{}}]`)
		// A name with a comma, alone in its field, keeps a line of its own.
		v.Set("on_failure", "ops/page, on call\n")
		v.Set("on_completion", "pay/settle report\nops/page, on call")
	})
	def, _ := stored(t, srv, token, id)
	require.Equal(t, []string{"pay/settle report"}, def.OnSuccess)
	require.Equal(t, []string{"ops/page, on call"}, def.OnFailure)
	require.Equal(t, []string{"pay/settle report", "ops/page, on call"}, def.OnCompletion)

	page := c.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.Contains(t, page.body, `id="job-chains"`)
	require.Contains(t, page.body, `<a href="/jobs/`+report+`">pay/settle report</a>`)
	require.Regexp(t, `<a href="/jobs/[0-9a-f-]{36}">ops/page, on call</a>`, page.body)

	// A reader of pay only sees ops/… named, not linked, and not said to exist.
	viewer := srv.User(t, rbac.RoleViewer, "pay")
	vc := newClient(t, srv)
	vc.login(viewer.Username)
	page = vc.get("/jobs/" + id)
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.Contains(t, page.body, `<a href="/jobs/`+report+`">pay/settle report</a>`)
	require.NotRegexp(t, `<a href="[^"]*">ops/page, on call</a>`, page.body)
	require.Contains(t, page.body, `ops/page, on call <span class="muted">(not found, or you cannot read it)</span>`)

	// The targets' pages say what starts them: the admin sees extract under both lists that
	// name it; a reader of ops alone sees it counted, not named.
	page = c.get("/jobs/" + report)
	require.Contains(t, page.body, `id="job-upstream"`)
	require.Contains(t, page.body, `<a href="/jobs/`+id+`">pay/extract</a> <span class="muted">After a success, After either</span>`)
	onCall := srv.User(t, rbac.RoleViewer, "ops")
	oc := newClient(t, srv)
	oc.login(onCall.Username)
	var pageID string
	for _, m := range regexp.MustCompile(`<a href="/jobs/([0-9a-f-]{36})">ops/page, on call</a>`).FindAllStringSubmatch(c.get("/jobs/"+id).body, -1) {
		pageID = m[1]
	}
	require.NotEmpty(t, pageID)
	page = oc.get("/jobs/" + pageID)
	require.Equal(t, http.StatusOK, page.StatusCode, page.body)
	require.Contains(t, page.body, "1 more in namespaces you cannot read")
	require.NotContains(t, page.body, "pay/extract")

	// A job without chains has no such section.
	require.NotContains(t, c.get("/jobs/"+report).body, `id="job-chains"`)
}

// TestBuilderChainFieldErrors: a chain the API refuses is marked beside its field, named as the
// API names it, with what was typed kept and escaped; nothing is created.
func TestBuilderChainFieldErrors(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	createJob(t, srv, token, "next", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	v := formOn(t, c.get("/jobs/new"), "builder-form")
	v.Set("name", "upstream")
	v.Set("namespace", "default")
	v.Set("cron", "0 0 * * * *")
	v.Set("http_url", "https://x.example.test/")
	marked := func(r response, fields ...string) {
		t.Helper()
		require.Contains(t, []int{http.StatusBadRequest, http.StatusUnprocessableEntity}, r.StatusCode, r.body)
		for _, field := range fields {
			m := regexp.MustCompile(`<p class="field-error" id="e-f-` + field + `">([^<]+)</p>`).FindStringSubmatch(r.body)
			require.NotNil(t, m, "an error beside %s", field)
			require.Regexp(t, `id="f-`+field+`"[^>]*aria-invalid="true"`, r.body)
		}
	}
	v.Set("op", "save")

	// The form of each ref: a ref twice in a list, a namespace that cannot be.
	v.Set("on_success", "next, next")
	v.Set("on_completion", `<script>alert(1)</script>`)
	r := c.post("/jobs/new", v)
	marked(r, "on_success", "on_completion")
	require.Contains(t, r.body, `<a href="#f-on_success">on_success[1]</a>`, "the summary names the entry")
	require.NotContains(t, r.body, `<script>alert(1)</script>`)
	require.Contains(t, r.body, `&lt;script&gt;alert(1)&lt;/script&gt;`)

	// A target that does not exist.
	v.Set("on_success", "next")
	v.Set("on_completion", "")
	v.Set("on_failure", "next\nnowhere/missing")
	r = c.post("/jobs/new", v)
	marked(r, "on_failure")
	require.Contains(t, r.body, `<a href="#f-on_failure">on_failure[1]</a>`)
	require.Contains(t, r.body, "next\nnowhere/missing</textarea>", "what was typed is kept")

	code, b := srv.API(t, token, http.MethodGet, "/api/v1/jobs?name=upstream", "")
	require.Equal(t, http.StatusOK, code, b)
	require.NotContains(t, b, `"upstream"`)
}
