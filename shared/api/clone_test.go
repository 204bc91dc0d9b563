package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestCloneCopiesTheDefinitionIntoANewPausedJob(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	src, _ := c.createJob(strings.Replace(validJob, `"timeout"`, `"concurrency_policy":"forbid","alert":{"after_failures":7},"timeout"`, 1))
	code, h, b := c.do(http.MethodPost, "/api/v1/jobs/"+src.ID+"/clone", `{"name":"nightly report (copy)"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	got, err := c.st.GetJob(t.Context(), strings.TrimPrefix(h.Get("Location"), "/api/v1/jobs/"))
	require.NoError(t, err)
	require.NotEqual(t, src.ID, got.ID)
	require.Equal(t, `"1"`, h.Get("ETag"))
	require.Equal(t, "nightly report (copy)", got.Name)
	require.Equal(t, src.Namespace, got.Namespace)
	require.Equal(t, src.HTTP, got.HTTP)
	require.Equal(t, src.Schedule, got.Schedule)
	require.Equal(t, src.Retry, got.Retry)
	require.Equal(t, domain.ConcurrencyForbid, got.ConcurrencyPolicy)
	require.Equal(t, domain.AlertPolicy{AfterFailures: 7}, got.Alert)
	require.False(t, got.Enabled, "a clone does not call its source's targets until asked")
	require.Nil(t, got.NextRunAt)

	// Enabled on request, into another namespace; the source is untouched.
	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+src.ID+"/clone", `{"name":"nightly report","namespace":"team-z","enabled":true}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	require.Contains(t, string(b), `"state":"scheduled"`)
	again, err := c.st.GetJob(t.Context(), src.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), again.Version)

	p := c.problem(http.MethodPost, "/api/v1/jobs/"+src.ID+"/clone", `{"name":"nightly report"}`, http.StatusConflict)
	require.Equal(t, []string{"name"}, fields(p))
	p = c.problem(http.MethodPost, "/api/v1/jobs/"+src.ID+"/clone", `{}`, http.StatusBadRequest)
	require.Equal(t, []string{"name"}, fields(p))
	p = c.problem(http.MethodPost, "/api/v1/jobs/"+src.ID+"/clone", `{"name":"x","namespace":"-bad"}`, http.StatusBadRequest)
	require.Equal(t, []string{"namespace"}, fields(p))
}

func TestCloneNeedsWriteWhereTheCopyGoes(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	src, _ := c.createJob(strings.Replace(validJob, `"name"`, `"namespace":"team-a","name"`, 1))
	editor := testfactory.User(t, c.st, testfactory.UserOpts{Role: "editor", Namespace: "team-a"})
	c.token = testfactory.APIToken(t, c.st, editor.ID, "team-a", []domain.Permission{domain.PermJobRead, domain.PermJobWrite})
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs/"+src.ID+"/clone", `{"name":"copy"}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	p := c.problem(http.MethodPost, "/api/v1/jobs/"+src.ID+"/clone", `{"name":"copy","namespace":"team-b"}`, http.StatusForbidden)
	require.Contains(t, p.Detail, "job:write in namespace team-b")
}

// TestCloneNeverCopiesACredentialInClear: a job stored before credentials in clear were refused
// may still hold one, masked to its readers; a reader who may write elsewhere must not get it
// into a job of their own. The copy is validated as any new job is, and refused.
func TestCloneNeverCopiesACredentialInClear(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	legacy := testfactory.Job(t, c.st, testfactory.JobOpts{URL: "https://example.test/run"})
	legacy.HTTP.Headers = map[string]string{"Authorization": "Bearer sk_live_123"}
	_, err := c.st.UpdateJob(t.Context(), legacy, 0, true, time.Now().UTC())
	require.NoError(t, err)
	p := c.problem(http.MethodPost, "/api/v1/jobs/"+legacy.ID+"/clone", `{"name":"copy","namespace":"team-z"}`, http.StatusBadRequest)
	require.Equal(t, []string{"http.headers.Authorization"}, fields(p))
	require.NotContains(t, p.Detail, "sk_live_123")
}
