package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
)

// taggedJob is a valid job of namespace ns named name, with tags given as JSON.
func taggedJob(ns, name, tags string) string {
	return fmt.Sprintf(`{"namespace":%q,"name":%q,"tags":%s,"schedule":{"cron":"@hourly"},"http":{"url":"https://example.test/%s"}}`,
		ns, name, tags, name)
}

func manyTags(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprint("t", i)
	}
	return out
}

// TestJobTagsRefuseHostileInput: a tag that is not one is refused before the database, with a
// 400 naming the item and why; nothing is stored, and nothing of the input is run as markup.
func TestJobTagsRefuseHostileInput(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for name, tc := range map[string]struct {
		tags   []string
		field  string
		reason string
	}{
		"TooLong":      {[]string{"ok", strings.Repeat("a", 64)}, "tags[1]", "longer than 63"},
		"Uppercase":    {[]string{"Payments"}, "tags[0]", `write "payments"`},
		"Script":       {[]string{"<script>alert(1)</script>"}, "tags[0]", "holds '<'"},
		"TwentyOne":    {manyTags(21), "tags", "at most 20"},
		"Thousands":    {manyTags(5000), "tags", "at most 20"},
		"Empty":        {[]string{"a", ""}, "tags[1]", "is empty"},
		"Blank":        {[]string{" \t "}, "tags[0]", "is empty"},
		"Unicode":      {[]string{"thuế"}, "tags[0]", "holds 'ế'"},
		"RightToLeft":  {[]string{"a\u202eb"}, "tags[0]", "holds"},
		"Newline":      {[]string{"a\nb"}, "tags[0]", `holds '\n'`},
		"LeadingSlash": {[]string{"/etc"}, "tags[0]", "must start with a letter or a digit"},
	} {
		t.Run(name, func(t *testing.T) {
			tags, err := json.Marshal(tc.tags)
			require.NoError(t, err)
			p := c.problem(http.MethodPost, "/api/v1/jobs", taggedJob("hostile", strings.ToLower(name), string(tags)), http.StatusBadRequest)
			require.Equal(t, []string{tc.field}, fields(p))
			require.Contains(t, p.Errors[0].Reason, tc.reason)
		})
	}
	c.problem(http.MethodPost, "/api/v1/jobs", taggedJob("hostile", "object", `{"a":1}`), http.StatusBadRequest)
	c.problem(http.MethodPost, "/api/v1/jobs", taggedJob("hostile", "numbers", `[1,2]`), http.StatusBadRequest)
	require.Empty(t, c.jobsIn("hostile"), "nothing refused was stored")

	// Twenty-one given, twenty different: a job has at most twenty tags, each once.
	j, _ := c.createJob(taggedJob("hostile", "dupes", mustMarshal(t, append(manyTags(20), "t0"))))
	require.Len(t, j.Tags, 20)
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestListJobsByTag: ?tag= keeps the jobs that have the tag, repeated the jobs that have every
// one; a value no job could have is a 400 naming the parameter; the document describes it.
func TestListJobsByTag(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.createJob(taggedJob("pay", "settle", `["team:payments","env/prod","critical"]`))
	c.createJob(taggedJob("pay", "refund", `["team:payments","env/staging"]`))
	c.createJob(taggedJob("reports", "monthly", `["team:reports","env/prod"]`))
	c.createJob(taggedJob("reports", "untagged", `[]`))
	names := func(query string) []string {
		t.Helper()
		code, _, b := c.do(http.MethodGet, "/api/v1/jobs?"+query, "")
		require.Equal(t, http.StatusOK, code, string(b))
		var p struct{ Items []domain.Job }
		require.NoError(t, json.Unmarshal(b, &p))
		out := []string{}
		for _, j := range p.Items {
			out = append(out, j.Name)
		}
		return out
	}
	require.ElementsMatch(t, []string{"settle", "refund"}, names("tag=team:payments"))
	require.ElementsMatch(t, []string{"settle"}, names("tag=team:payments&tag=env/prod"))
	require.ElementsMatch(t, []string{"settle"}, names("tag=env%2Fprod&tag=team%3Apayments&tag=env/prod"), "escaped, repeated, in any order")
	require.ElementsMatch(t, []string{"settle", "monthly"}, names("tag=env/prod"))
	require.ElementsMatch(t, []string{"monthly"}, names("tag=env/prod&namespace=reports&kind=http&state=scheduled"))
	require.Empty(t, names("tag=env/prod&tag=env/staging"))
	require.Empty(t, names("tag=team"), "a tag is matched whole")
	require.Len(t, names("tag="), 4, "a blank tag filters nothing, as a blank kind does")

	for name, query := range map[string]string{
		"Uppercase": "tag=Team:Payments",
		"Script":    "tag=" + url.QueryEscape("<script>"),
		"TooLong":   "tag=" + strings.Repeat("a", 64),
		"Unicode":   "tag=" + url.QueryEscape("thuế"),
		"TooMany":   "tag=" + strings.Join(manyTags(21), "&tag="),
		"OneBad":    "tag=ok&tag=" + url.QueryEscape("no way"),
	} {
		p := c.problem(http.MethodGet, "/api/v1/jobs?"+query, "", http.StatusBadRequest)
		require.Equal(t, []string{"tag"}, fields(p), name)
	}

	v := newConformance(t, c)
	code, _, _ := v.call(http.MethodGet, "/api/v1/jobs?tag=team:payments&tag=env/prod&include=stats", "")
	require.Equal(t, http.StatusOK, code)
	code, _, _ = v.wrong(http.MethodGet, "/api/v1/jobs?tag=Nope", "")
	require.Equal(t, http.StatusBadRequest, code)
}

// TestJobTagsThroughEdits: tags are normalised on create, replaced by PUT and PATCH, removed by
// null, copied by a clone, and the audit log records them before and after.
func TestJobTagsThroughEdits(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j, _ := c.createJob(taggedJob("ops", "backup", `[" nightly ","env/prod","nightly"]`))
	require.Equal(t, []string{"env/prod", "nightly"}, j.Tags)
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(b), `"tags":["env/prod","nightly"]`)

	got, _ := c.edit(http.MethodPatch, j.ID, `{"tags":["weekly","env/prod"]}`, "If-Match", `"1"`)
	require.Equal(t, []string{"env/prod", "weekly"}, got.Tags)
	got, _ = c.edit(http.MethodPatch, j.ID, `{"description":"tags stay"}`, "If-Match", `"2"`)
	require.Equal(t, []string{"env/prod", "weekly"}, got.Tags, "a patch that leaves them out keeps them")
	p := c.problem(http.MethodPatch, "/api/v1/jobs/"+j.ID, `{"tags":["Weekly"]}`, http.StatusBadRequest, "If-Match", `"3"`)
	require.Equal(t, []string{"tags[0]"}, fields(p))

	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/clone", `{"name":"backup copy"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	var clone domain.Job
	require.NoError(t, json.Unmarshal(b, &clone))
	require.Equal(t, []string{"env/prod", "weekly"}, clone.Tags)

	got, _ = c.edit(http.MethodPatch, j.ID, `{"tags":null}`, "If-Match", `"3"`)
	require.Nil(t, got.Tags)
	code, _, b = c.do(http.MethodGet, "/api/v1/jobs/"+j.ID, "")
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(b), `"tags"`, "no tags: the field is left out")

	rows, err := c.st.ListAudit(t.Context(), store.AuditFilter{ObjectID: j.ID, Action: "job.update", Limit: 10})
	require.NoError(t, err)
	require.Len(t, rows, 3)
	tagsOf := func(raw json.RawMessage) []string {
		var v struct{ Tags []string }
		require.NoError(t, json.Unmarshal(raw, &v))
		return v.Tags
	}
	byVersion := map[string]*audit.Record{}
	for _, r := range rows {
		var v struct{ Version int64 }
		require.NoError(t, json.Unmarshal(r.After, &v))
		byVersion[fmt.Sprint(v.Version)] = r
	}
	require.Equal(t, []string{"env/prod", "nightly"}, tagsOf(byVersion["2"].Before))
	require.Equal(t, []string{"env/prod", "weekly"}, tagsOf(byVersion["2"].After))
	require.Nil(t, tagsOf(byVersion["4"].After))
}

// TestApplyDiffsTags: a dry run shows a change of tags as the list before and after and
// changes nothing; the same set written otherwise is no change; export and apply carry tags in
// JSON and YAML.
func TestApplyDiffsTags(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	plan, _ := c.apply(applyBody(false, false, taggedJob("gitops", "sync", `["team:platform","env/prod"]`)))
	require.Equal(t, []string{"sync:create"}, plan.actions())
	require.Contains(t, plan.Plan[0].Diff, jobs.FieldChange{Path: "tags", New: []any{"env/prod", "team:platform"}})

	plan, _ = c.apply(applyBody(false, true, taggedJob("gitops", "sync", `["env/prod","team:platform","critical"]`)))
	require.True(t, plan.DryRun)
	require.Equal(t, []string{"sync:update"}, plan.actions())
	require.Equal(t, []jobs.FieldChange{{Path: "tags", Old: []any{"env/prod", "team:platform"},
		New: []any{"critical", "env/prod", "team:platform"}}}, plan.Plan[0].Diff)
	require.Equal(t, []string{"env/prod", "team:platform"}, c.jobsIn("gitops")["sync"].Tags, "a dry run changes nothing")

	plan, _ = c.apply(applyBody(false, false, taggedJob("gitops", "sync", `["team:platform"," env/prod","env/prod"]`)))
	require.Equal(t, []string{"sync:unchanged"}, plan.actions(), "the same set, written otherwise")

	p := c.problem(http.MethodPost, "/api/v1/jobs/apply", applyBody(false, true, taggedJob("gitops", "sync", `["Prod"]`)), http.StatusBadRequest)
	require.Equal(t, []string{"jobs[0].tags[0]"}, fields(p))

	code, _, exported := c.do(http.MethodGet, "/api/v1/jobs/export?namespace=gitops", "", "Accept", "application/yaml")
	require.Equal(t, http.StatusOK, code)
	var doc struct {
		Jobs []struct {
			Tags []string `yaml:"tags"`
		} `yaml:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(exported, &doc), string(exported))
	require.Equal(t, []string{"env/prod", "team:platform"}, doc.Jobs[0].Tags)
	edited := strings.Replace(string(exported), "    - team:platform\n", "    - team:platform\n    - nightly\n", 1)
	require.NotEqual(t, string(exported), edited, "the YAML lists the tags one a line:\n%s", exported)
	plan, _ = c.apply(edited+"dry_run: true\n", "Content-Type", "application/yaml")
	require.Equal(t, []jobs.FieldChange{{Path: "tags", Old: []any{"env/prod", "team:platform"},
		New: []any{"env/prod", "nightly", "team:platform"}}}, plan.Plan[0].Diff)
}

// TestFourEyesChangeOfTags: in a namespace that requires four eyes, a change of tags waits as
// any edit does, shows the lists before and after, and takes effect when approved.
func TestFourEyesChangeOfTags(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	a, _ := f.as(rbac.RoleEditor, f.ns)
	code, _, b := a.do(http.MethodPatch, "/api/v1/jobs/"+f.job.ID, `{"tags":["team:finance","critical"]}`, "If-Match", `"1"`)
	c := change(t, code, http.StatusAccepted, b)
	require.Equal(t, []domain.FieldChange{{Path: "tags", New: []any{"critical", "team:finance"}}}, c.Diff)
	require.Equal(t, []string{"critical", "team:finance"}, c.Definition.Tags)
	p := a.problem(http.MethodPatch, "/api/v1/jobs/"+f.job.ID, `{"tags":["Finance"]}`, http.StatusBadRequest, "If-Match", `"1"`)
	require.Equal(t, []string{"tags[0]"}, fields(p), "checked before anything waits")

	approver, _ := f.as(rbac.RoleApprover, f.ns)
	code, _, b = approver.do(http.MethodPost, "/api/v1/changes/"+c.ID+"/approve", ``)
	change(t, code, http.StatusOK, b)
	got, err := f.st.GetJob(t.Context(), f.job.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"critical", "team:finance"}, got.Tags)
}
