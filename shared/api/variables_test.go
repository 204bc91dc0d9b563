package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestVariablesAPIMasksSecrets(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, _, b := c.do(http.MethodPost, "/api/v1/variables", `{"name":"DB_PASSWORD","value":"hunter2-secret","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.NotContains(t, string(b), "hunter2")
	var v domain.Variable
	require.NoError(t, json.Unmarshal(b, &v))
	require.Equal(t, "******", v.Masked)
	require.True(t, v.IsSecret)

	for _, path := range []string{"/api/v1/variables", "/api/v1/variables/DB_PASSWORD"} {
		code, _, b = c.do(http.MethodGet, path, "")
		require.Equal(t, http.StatusOK, code)
		require.NotContains(t, string(b), "hunter2", path)
		require.Contains(t, string(b), `"masked":"******"`, path)
	}
	// A PUT without a value keeps the secret; a POST of an existing name conflicts.
	code, _, b = c.do(http.MethodPut, "/api/v1/variables/DB_PASSWORD", `{}`)
	require.Equal(t, http.StatusOK, code, string(b))
	c.problem(http.MethodPost, "/api/v1/variables", `{"name":"DB_PASSWORD","value":"x"}`, http.StatusConflict)

	code, _, b = c.do(http.MethodPut, "/api/v1/variables/HOST", `{"value":"api.example.com"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.Contains(t, string(b), `"value":"api.example.com"`)

	p := c.problem(http.MethodPut, "/api/v1/variables/bad-name", `{"value":"x"}`, http.StatusBadRequest)
	require.Equal(t, []string{"name"}, fields(p))
	c.problem(http.MethodDelete, "/api/v1/variables/NOPE", "", http.StatusNotFound)
	code, _, _ = c.do(http.MethodDelete, "/api/v1/variables/HOST", "")
	require.Equal(t, http.StatusNoContent, code)
}

func TestJobVariablesAPI(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	code, _, b := c.do(http.MethodPut, "/api/v1/jobs/"+j.ID+"/variables/TOKEN", `{"value":"job-token-1","is_secret":true}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.Contains(t, string(b), `"scope":"job"`)
	code, _, b = c.do(http.MethodGet, "/api/v1/jobs/"+j.ID+"/variables", "")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 1, strings.Count(string(b), `"name":"TOKEN"`))
	_, _, b = c.do(http.MethodGet, "/api/v1/variables", "")
	require.NotContains(t, string(b), "TOKEN", "a job's variable is not global")
	c.problem(http.MethodPut, "/api/v1/jobs/0193b7c4-0000-7000-8000-000000000000/variables/X", `{"value":"x"}`, http.StatusNotFound)
}

func TestJobTemplatesAreCheckedOnWrite(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs", `{"name":"t","schedule":{"cron":"@daily"},"http":{"url":"https://{{ var.HOST }}/run?d={{ execution.scheduled_at | date \"2006-01-02\" }}","headers":{"Authorization":"Bearer {{ var.TOKEN }}"}}}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	p := c.problem(http.MethodPost, "/api/v1/jobs", `{"name":"u","schedule":{"cron":"@daily"},"http":{"url":"https://x.test/","headers":{"X-A":"{{ env.HOME }}"},"body":"{{ var.A "}}`, http.StatusBadRequest)
	require.ElementsMatch(t, []string{"http.headers.X-A", "http.body"}, fields(p))
	p = c.problem(http.MethodPost, "/api/v1/jobs", `{"name":"v","schedule":{"cron":"@daily"},"http":{"url":"ftp://{{ var.HOST }}/"}}`, http.StatusBadRequest)
	require.Equal(t, []string{"http.url"}, fields(p))
}

// TestSecretBindingsThroughTheAPI: where a secret may go and who sees a global variable are set,
// shown and audited through the API; a bad pattern is a 400 naming it.
func TestSecretBindingsThroughTheAPI(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	code, _, b := c.do(http.MethodPut, "/api/v1/variables/BANK_TOKEN",
		`{"value":"tok-bank-1","is_secret":true,"allowed_hosts":["api.bank.vn"],"namespaces":["payments"]}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.Contains(t, string(b), `"allowed_hosts":["api.bank.vn"]`)
	require.Contains(t, string(b), `"namespaces":["payments"]`)
	_, _, b = c.do(http.MethodGet, "/api/v1/variables/BANK_TOKEN", "")
	require.Contains(t, string(b), `"allowed_hosts":["api.bank.vn"]`)
	require.NotContains(t, string(b), "tok-bank-1")

	p := c.problem(http.MethodPut, "/api/v1/variables/BANK_TOKEN", `{"allowed_hosts":["https://evil.example/x"]}`, http.StatusBadRequest)
	require.Equal(t, []string{"allowed_hosts[0]"}, fields(p))
	p = c.problem(http.MethodPut, "/api/v1/variables/HOST", `{"value":"h","allowed_hosts":["a.example"]}`, http.StatusBadRequest)
	require.Equal(t, []string{"allowed_hosts"}, fields(p))
	j := testfactory.Job(t, c.st, testfactory.JobOpts{})
	p = c.problem(http.MethodPut, "/api/v1/jobs/"+j.ID+"/variables/X", `{"value":"x","namespaces":["a"]}`, http.StatusBadRequest)
	require.Equal(t, []string{"namespaces"}, fields(p))

	// Lifting the binding takes the value again (whoever may write need not know it), and is a
	// change like any other, in the audit log.
	p = c.problem(http.MethodPut, "/api/v1/variables/BANK_TOKEN", `{"allowed_hosts":[]}`, http.StatusBadRequest)
	require.Equal(t, []string{"value"}, fields(p))
	code, _, b = c.do(http.MethodPut, "/api/v1/variables/BANK_TOKEN", `{"value":"tok-bank-2","allowed_hosts":[]}`)
	require.Equal(t, http.StatusOK, code, string(b))
	require.NotContains(t, string(b), "allowed_hosts")
	page := c.audit("object_kind=variable")
	require.Len(t, page.Items, 2)
	require.NotContains(t, string(page.Items[1].Before)+string(page.Items[1].After), "tok-bank")
}
