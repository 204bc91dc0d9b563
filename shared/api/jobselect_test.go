package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// listNames returns the names of the jobs GET /api/v1/jobs?query lists, requiring a 200.
func (c *client) listNames(query string) []string {
	c.t.Helper()
	code, _, b := c.do(http.MethodGet, "/api/v1/jobs?"+query, "")
	require.Equal(c.t, http.StatusOK, code, string(b))
	var p struct{ Items []domain.Job }
	require.NoError(c.t, json.Unmarshal(b, &p))
	out := []string{}
	for _, j := range p.Items {
		out = append(out, j.Name)
	}
	return out
}

// TestListJobsByIDAndName: id=…&id=… lists those jobs and no other, within what the caller may
// read; name= is exact, case included; hostile values are refused naming the parameter, before
// the database.
func TestListJobsByIDAndName(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	mk := func(name, ns string) *domain.Job {
		return testfactory.Job(t, c.st, testfactory.JobOpts{Name: name, Namespace: ns, URL: "http://x.test"})
	}
	a, b := mk("settle", "pay"), mk("Settle", "pay")
	hidden := mk("settle", "secret")
	mk("settle-2", "pay")

	ids := func(js ...*domain.Job) string {
		v := url.Values{}
		for _, j := range js {
			v.Add("id", j.ID)
		}
		return v.Encode()
	}
	require.ElementsMatch(t, []string{"settle", "Settle"}, c.listNames(ids(a, b)))
	require.ElementsMatch(t, []string{"settle", "settle"}, c.listNames(ids(a, hidden, a)))
	require.Empty(t, c.listNames(ids(&domain.Job{ID: uuid.NewString()})))
	require.ElementsMatch(t, []string{"settle", "settle"}, c.listNames("name=settle"))
	require.ElementsMatch(t, []string{"Settle"}, c.listNames("name=Settle&namespace=pay"))
	require.Empty(t, c.listNames("name=settl"))
	require.Equal(t, []string{"settle"}, c.listNames("name=settle&"+ids(a, b)))

	t.Run("OnlyWhatTheCallerMayRead", func(t *testing.T) {
		viewer := c.as(rbac.RoleViewer, "pay")
		require.Equal(t, []string{"settle"}, viewer.listNames(ids(a, hidden)))
		require.Equal(t, []string{"settle"}, viewer.listNames("name=settle"))
	})

	t.Run("Hostile", func(t *testing.T) {
		many := url.Values{}
		for range 101 {
			many.Add("id", uuid.NewString())
		}
		p := c.problem(http.MethodGet, "/api/v1/jobs?"+many.Encode(), "", http.StatusBadRequest)
		require.Equal(t, []string{"id"}, fields(p))
		require.Contains(t, p.Errors[0].Reason, "at most 100")
		hundred := url.Values{"limit": {"100"}}
		for range 100 {
			hundred.Add("id", uuid.NewString())
		}
		require.Empty(t, c.listNames(hundred.Encode()))

		for _, bad := range []string{"", "x", "1 OR 1=1", "' OR ''='", a.ID + "'", "{" + a.ID + "}", "urn:uuid:" + a.ID, strings.ReplaceAll(a.ID, "-", ""), a.ID + "," + b.ID, strings.Repeat("a", 5000)} {
			p := c.problem(http.MethodGet, "/api/v1/jobs?"+url.Values{"id": {a.ID, bad}}.Encode(), "", http.StatusBadRequest)
			require.Equal(t, []string{"id"}, fields(p), "id=%q", bad)
			require.Contains(t, p.Errors[0].Reason, "is not a job id")
			require.LessOrEqual(t, len(p.Errors[0].Reason), 200, "the reason quotes a bounded excerpt")
		}
		require.Equal(t, []string{"name"}, fields(c.problem(http.MethodGet, "/api/v1/jobs?name="+strings.Repeat("a", 201), "", http.StatusBadRequest)))
		require.Equal(t, []string{"name"}, fields(c.problem(http.MethodGet, "/api/v1/jobs?name=%ff", "", http.StatusBadRequest)))
		require.Equal(t, []string{"name"}, fields(c.problem(http.MethodGet, "/api/v1/jobs?name=a%00", "", http.StatusBadRequest)))
		for _, inj := range []string{"'; DROP TABLE jobs; --", `settle' OR '1'='1`, `settle"`, `$1`, `%`, `_`, `settle%`, `\`} {
			require.Empty(t, c.listNames(url.Values{"name": {inj}}.Encode()), "name=%q", inj)
		}
		require.Len(t, c.listNames(""), 4, "nothing was dropped")
	})
}

// TestListJobsSearchIsLiteral: %, _ and \ in q match themselves, as do SQL's quotes; a search
// short enough to give the trigram index nothing matches as a long one does.
func TestListJobsSearchIsLiteral(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	for _, name := range []string{"100% done", "100x done", "a_b", "axb", `back\slash`, "back/slash", "it's", `say "hi"`, "Đối soát"} {
		testfactory.Job(t, c.st, testfactory.JobOpts{Name: name, URL: "http://x.test"})
	}
	for q, want := range map[string][]string{
		"%":        {"100% done"},
		"0% d":     {"100% done"},
		"100%":     {"100% done"},
		"_":        {"a_b"},
		"a_b":      {"a_b"},
		`\`:        {`back\slash`},
		`back\s`:   {`back\slash`},
		`k\`:       {`back\slash`},
		"'":        {"it's"},
		"it's":     {"it's"},
		`"hi"`:     {`say "hi"`},
		"' OR '1":  {},
		"ĐỐI SOÁT": {"Đối soát"},
		"ối":       {"Đối soát"},
		"100":      {"100% done", "100x done"},
		"00":       {"100% done", "100x done"},
		"ack":      {`back\slash`, "back/slash"},
		"%%":       {},
		"__":       {},
	} {
		require.ElementsMatch(t, want, c.listNames(url.Values{"q": {q}}.Encode()), "q=%q", q)
	}
}
