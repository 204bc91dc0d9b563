package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// fourEyes is a namespace of its own that requires four eyes, with a job made before it did.
type fourEyes struct {
	*client
	ns  string
	job *domain.Job
}

func newFourEyes(t *testing.T, c *client) *fourEyes {
	t.Helper()
	ns := "fe-" + uuid.NewString()[:8]
	j, _ := c.createJob(`{"name":"ledger close","namespace":"` + ns + `","schedule":{"cron":"0 0 1 * * *"},"http":{"url":"https://ledger.test/close"}}`)
	code, _, b := c.do(http.MethodPut, "/api/v1/namespaces/"+ns+"/settings", `{"four_eyes":true}`)
	require.Equal(t, http.StatusOK, code, string(b))
	return &fourEyes{client: c, ns: ns, job: j}
}

// as returns a client of a new user holding role in ns, through an API token named after
// them, and the label the token's changes carry.
func (f *fourEyes) as(role, ns string) (*client, string) {
	f.t.Helper()
	u := testfactory.User(f.t, f.st, testfactory.UserOpts{Role: role, Namespace: ns})
	token, hash, err := auth.NewOpaqueToken(auth.APITokenPrefix)
	require.NoError(f.t, err)
	require.NoError(f.t, f.st.CreateAPIToken(f.t.Context(), &domain.APIToken{ID: uuid.NewString(), UserID: u.ID, Name: u.Username,
		Scopes: domain.Permissions(), Namespace: domain.AllNamespaces, CreatedAt: time.Now().UTC(), Hash: hash}))
	c := *f.client
	c.token = token
	return &c, "token:" + u.Username
}

// change decodes an answer that is a change.
func change(t *testing.T, code, want int, b []byte) *domain.Change {
	t.Helper()
	require.Equal(t, want, code, string(b))
	var c domain.Change
	require.NoError(t, json.Unmarshal(b, &c))
	return &c
}

// auditOf returns the audit rows of object id, oldest first.
func auditOf(t *testing.T, st *store.Store, kind, id string) []*audit.Record {
	t.Helper()
	rows, err := st.ListAudit(t.Context(), store.AuditFilter{ObjectKind: kind, ObjectID: id, Limit: 100})
	require.NoError(t, err)
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

// TestFourEyesChangeTakesEffectOnlyAfterAnotherUserApproves: in a namespace that requires four
// eyes, an edit waits until a second user with job:approve approves it; neither its requester,
// nor a user without the permission, nor one of another namespace can.
func TestFourEyesChangeTakesEffectOnlyAfterAnotherUserApproves(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	a, userA := f.as(rbac.RoleEditor, f.ns)
	path := "/api/v1/jobs/" + f.job.ID

	// Checked as a direct edit is, before anything waits.
	a.problem(http.MethodPatch, path, `{"description":"x"}`, http.StatusPreconditionRequired)
	a.problem(http.MethodPatch, path, `{"description":"x"}`, http.StatusPreconditionFailed, "If-Match", `"9"`)
	p := a.problem(http.MethodPatch, path, `{"schedule":{"cron":"61 * * * * *"}}`, http.StatusBadRequest, "If-Match", `"1"`)
	require.Equal(t, []string{"schedule.cron"}, fields(p))

	code, h, b := a.do(http.MethodPatch, path, `{"description":"closes the ledger at 01:00"}`, "If-Match", `"1"`)
	c := change(t, code, http.StatusAccepted, b)
	require.Equal(t, "/api/v1/changes/"+c.ID, h.Get("Location"))
	require.Equal(t, domain.ChangePending, c.Status)
	require.Equal(t, domain.ChangeUpdate, c.Action)
	require.Equal(t, f.job.ID, c.JobID)
	require.Equal(t, int64(1), c.BaseVersion)
	require.Equal(t, userA, c.RequestedBy)
	require.Equal(t, []domain.FieldChange{{Path: "description", New: "closes the ledger at 01:00"}}, c.Diff)
	require.Equal(t, "closes the ledger at 01:00", c.Definition.Description)

	got, err := f.st.GetJob(t.Context(), f.job.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version, "nothing changes before an approval")
	require.Empty(t, got.Description)

	approve := "/api/v1/changes/" + c.ID + "/approve"
	p = a.problem(http.MethodPost, approve, ``, http.StatusForbidden)
	require.Contains(t, p.Detail, "missing permission job:approve")
	b2, _ := f.as(rbac.RoleEditor, f.ns)
	b2.problem(http.MethodPost, approve, ``, http.StatusForbidden)
	stranger, _ := f.as(rbac.RoleApprover, "elsewhere-"+uuid.NewString()[:8])
	stranger.problem(http.MethodPost, approve, ``, http.StatusNotFound)
	stranger.problem(http.MethodGet, "/api/v1/changes/"+c.ID, ``, http.StatusNotFound)

	// A requester who holds job:approve still may not approve their own change.
	admin, _ := f.as(rbac.RoleAdmin, f.ns)
	code, _, b = admin.do(http.MethodPatch, path, `{"timeout":"10s"}`, "If-Match", `"1"`)
	own := change(t, code, http.StatusAccepted, b)
	p = admin.problem(http.MethodPost, "/api/v1/changes/"+own.ID+"/approve", ``, http.StatusForbidden)
	require.Contains(t, p.Detail, "another user")

	approver, userD := f.as(rbac.RoleApprover, f.ns)
	code, _, b = approver.do(http.MethodPost, approve, `{"comment":"checked with finance"}`)
	done := change(t, code, http.StatusOK, b)
	require.Equal(t, domain.ChangeApproved, done.Status)
	require.Equal(t, userD, done.DecidedBy)
	require.Equal(t, "checked with finance", done.Comment)
	require.NotNil(t, done.DecidedAt)

	got, err = f.st.GetJob(t.Context(), f.job.ID)
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version)
	require.Equal(t, "closes the ledger at 01:00", got.Description)
	require.Equal(t, userA, got.UpdatedBy, "the job names who wrote the change")

	// Decided once: a second approval changes nothing.
	p = approver.problem(http.MethodPost, approve, ``, http.StatusConflict)
	require.Equal(t, []string{"status"}, fields(p))

	// The audit log holds the request by A, then, in one transaction, the edit as A's and the
	// approval by D.
	rows := auditOf(t, f.st, "change", c.ID)
	require.Len(t, rows, 2)
	require.Equal(t, "change.request", rows[0].Action)
	require.Equal(t, userA, "token:"+rows[0].ActorName)
	require.Equal(t, "change.approve", rows[1].Action)
	require.Equal(t, userD, "token:"+rows[1].ActorName)
	var edit *audit.Record
	for _, r := range auditOf(t, f.st, "job", f.job.ID) {
		if r.Action == "job.update" {
			edit = r
		}
	}
	require.NotNil(t, edit)
	require.Equal(t, userA, "token:"+edit.ActorName)
	require.Equal(t, rows[1].RequestID, edit.RequestID, "the edit took effect in the approval's request")
	require.Equal(t, rows[1].Seq-1, edit.Seq)
}

func TestFourEyesStaleApprovalFails(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	a, _ := f.as(rbac.RoleEditor, f.ns)
	approver, _ := f.as(rbac.RoleApprover, f.ns)
	path := "/api/v1/jobs/" + f.job.ID
	code, _, b := a.do(http.MethodPatch, path, `{"description":"first"}`, "If-Match", `"1"`)
	first := change(t, code, http.StatusAccepted, b)
	code, _, b = a.do(http.MethodPatch, path, `{"description":"second"}`, "If-Match", `"1"`)
	second := change(t, code, http.StatusAccepted, b)

	code, _, b = approver.do(http.MethodPost, "/api/v1/changes/"+first.ID+"/approve", ``)
	change(t, code, http.StatusOK, b)
	p := approver.problem(http.MethodPost, "/api/v1/changes/"+second.ID+"/approve", ``, http.StatusConflict)
	require.Equal(t, []string{"base_version"}, fields(p))
	require.Contains(t, p.Detail, "version 2")

	code, _, b = approver.do(http.MethodGet, "/api/v1/changes/"+second.ID, ``)
	failed := change(t, code, http.StatusOK, b)
	require.Equal(t, domain.ChangeFailed, failed.Status)
	require.Contains(t, failed.Reason, "version 2")
	got, err := f.st.GetJob(t.Context(), f.job.ID)
	require.NoError(t, err)
	require.Equal(t, "first", got.Description)
	require.Equal(t, int64(2), got.Version)
	require.Equal(t, "change.fail", auditOf(t, f.st, "change", second.ID)[1].Action)
}

func TestFourEyesRejectAndWithdraw(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	a, _ := f.as(rbac.RoleEditor, f.ns)
	approver, _ := f.as(rbac.RoleApprover, f.ns)
	path := "/api/v1/jobs/" + f.job.ID
	code, _, b := a.do(http.MethodPatch, path, `{"description":"rejected"}`, "If-Match", `"1"`)
	c := change(t, code, http.StatusAccepted, b)

	p := approver.problem(http.MethodPost, "/api/v1/changes/"+c.ID+"/reject", `{"comment":`+`"`+strings.Repeat("x", 2001)+`"}`, http.StatusBadRequest)
	require.Equal(t, []string{"comment"}, fields(p))
	approver.problem(http.MethodPost, "/api/v1/changes/"+c.ID+"/withdraw", ``, http.StatusForbidden)
	code, _, b = approver.do(http.MethodPost, "/api/v1/changes/"+c.ID+"/reject", `{"comment":"not during closing"}`)
	rejected := change(t, code, http.StatusOK, b)
	require.Equal(t, domain.ChangeRejected, rejected.Status)
	require.Equal(t, "not during closing", rejected.Comment)
	a.problem(http.MethodPost, "/api/v1/changes/"+c.ID+"/withdraw", ``, http.StatusConflict)

	code, _, b = a.do(http.MethodDelete, path, ``)
	del := change(t, code, http.StatusAccepted, b)
	code, _, b = a.do(http.MethodPost, "/api/v1/changes/"+del.ID+"/withdraw", ``)
	require.Equal(t, domain.ChangeWithdrawn, change(t, code, http.StatusOK, b).Status)
	approver.problem(http.MethodPost, "/api/v1/changes/"+del.ID+"/approve", ``, http.StatusConflict)

	got, err := f.st.GetJob(t.Context(), f.job.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version, "neither a rejected nor a withdrawn change is made")
	require.Equal(t, "change.reject", auditOf(t, f.st, "change", c.ID)[1].Action)
	require.Equal(t, "change.withdraw", auditOf(t, f.st, "change", del.ID)[1].Action)
}

func TestFourEyesCreateCloneAndDelete(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	a, userA := f.as(rbac.RoleEditor, f.ns)
	approver, _ := f.as(rbac.RoleApprover, f.ns)
	body := `{"name":"payroll export","namespace":"` + f.ns + `","schedule":{"cron":"0 0 18 * * *"},"http":{"url":"https://payroll.test/export"}}`

	p := a.problem(http.MethodPost, "/api/v1/jobs", strings.Replace(body, "payroll export", "ledger close", 1), http.StatusConflict)
	require.Equal(t, []string{"name"}, fields(p), "a name already taken is refused at once")
	p = a.problem(http.MethodPost, "/api/v1/jobs", strings.Replace(body, "https://", "ftp://", 1), http.StatusBadRequest)
	require.Equal(t, []string{"http.url"}, fields(p))

	code, _, b := a.do(http.MethodPost, "/api/v1/jobs", body)
	create := change(t, code, http.StatusAccepted, b)
	require.Equal(t, domain.ChangeCreate, create.Action)
	require.Empty(t, create.JobID)
	require.Zero(t, create.BaseVersion)
	list, err := f.st.ListJobs(t.Context(), domain.ListJobsParams{Namespace: f.ns, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1, "the job waits for approval")

	code, _, b = a.do(http.MethodPost, "/api/v1/jobs/"+f.job.ID+"/clone", `{"name":"ledger close copy"}`)
	clone := change(t, code, http.StatusAccepted, b)
	require.Equal(t, domain.ChangeCreate, clone.Action)
	require.False(t, clone.Definition.Enabled, "a clone starts paused")

	code, _, b = approver.do(http.MethodPost, "/api/v1/changes/"+create.ID+"/approve", ``)
	created := change(t, code, http.StatusOK, b)
	require.NotEmpty(t, created.JobID)
	j, err := f.st.GetJob(t.Context(), created.JobID)
	require.NoError(t, err)
	require.Equal(t, "payroll export", j.Name)
	require.Equal(t, int64(1), j.Version)
	require.Equal(t, userA, j.CreatedBy)
	require.NotNil(t, j.NextRunAt, "planned as a direct create is")

	code, _, b = a.do(http.MethodDelete, "/api/v1/jobs/"+j.ID, ``)
	del := change(t, code, http.StatusAccepted, b)
	require.Equal(t, domain.ChangeDelete, del.Action)
	require.Nil(t, del.Definition)
	require.NotEmpty(t, del.Diff)
	a.do(http.MethodGet, "/api/v1/jobs/"+j.ID, ``)
	_, err = f.st.GetJob(t.Context(), j.ID)
	require.NoError(t, err, "the job stays until the delete is approved")
	code, _, b = approver.do(http.MethodPost, "/api/v1/changes/"+del.ID+"/approve", ``)
	change(t, code, http.StatusOK, b)
	a.problem(http.MethodGet, "/api/v1/jobs/"+j.ID, ``, http.StatusNotFound)

	// Elsewhere, writes are made at once.
	code, _, b = a.do(http.MethodPost, "/api/v1/jobs", strings.Replace(body, f.ns, "plain-"+uuid.NewString()[:8], 1))
	require.Equal(t, http.StatusForbidden, code, string(b), "A may not write elsewhere")
	code, _, b = f.do(http.MethodPost, "/api/v1/jobs", strings.Replace(body, f.ns, "plain-"+uuid.NewString()[:8], 1))
	require.Equal(t, http.StatusCreated, code, string(b))
}

// TestFourEyesApprovalOfACreateWhoseNameWasTakenFails: two creates of one name may wait at once;
// the second approved finds the name taken.
func TestFourEyesApprovalOfACreateWhoseNameWasTakenFails(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	a, _ := f.as(rbac.RoleEditor, f.ns)
	approver, _ := f.as(rbac.RoleApprover, f.ns)
	body := `{"name":"twin","namespace":"` + f.ns + `","schedule":{"cron":"@hourly"},"http":{"url":"https://twin.test"}}`
	var ids []string
	for range 2 {
		code, _, b := a.do(http.MethodPost, "/api/v1/jobs", body)
		ids = append(ids, change(t, code, http.StatusAccepted, b).ID)
	}
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, id := range ids {
		wg.Go(func() { codes[i], _, _ = approver.do(http.MethodPost, "/api/v1/changes/"+id+"/approve", ``) })
	}
	wg.Wait()
	require.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, codes)
	list, err := f.st.ListJobs(t.Context(), domain.ListJobsParams{Namespace: f.ns, Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 2)
}

func TestChangesListing(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	a, _ := f.as(rbac.RoleEditor, f.ns)
	var ids []string
	for i := range 3 {
		code, _, b := a.do(http.MethodPatch, "/api/v1/jobs/"+f.job.ID, `{"description":"v`+string(rune('0'+i))+`"}`, "If-Match", `"1"`)
		ids = append(ids, change(t, code, http.StatusAccepted, b).ID)
	}
	code, _, b := a.do(http.MethodPost, "/api/v1/changes/"+ids[0]+"/withdraw", ``)
	change(t, code, http.StatusOK, b)

	var pg struct {
		Items      []*domain.Change `json:"items"`
		NextCursor string           `json:"next_cursor"`
	}
	read := func(c *client, query string) []string {
		t.Helper()
		code, _, b := c.do(http.MethodGet, "/api/v1/changes?"+query, ``)
		require.Equal(t, http.StatusOK, code, string(b))
		pg.Items, pg.NextCursor = nil, ""
		require.NoError(t, json.Unmarshal(b, &pg))
		var out []string
		for _, c := range pg.Items {
			out = append(out, c.ID)
		}
		return out
	}
	require.Equal(t, []string{ids[2], ids[1]}, read(a, "limit=2"), "newest first")
	require.Equal(t, []string{ids[0]}, read(a, "limit=2&cursor="+pg.NextCursor))
	require.Equal(t, []string{ids[2], ids[1]}, read(a, "status=pending&namespace="+f.ns))
	require.Equal(t, []string{ids[0]}, read(a, "status=withdrawn&job_id="+f.job.ID))
	stranger, _ := f.as(rbac.RoleViewer, "elsewhere-"+uuid.NewString()[:8])
	require.Empty(t, read(stranger, ""), "changes of namespaces one cannot read are not listed")
	stranger.problem(http.MethodGet, "/api/v1/changes?namespace="+f.ns, ``, http.StatusNotFound)

	p := a.problem(http.MethodGet, "/api/v1/changes?status=bogus&cursor=x&job_id=y&namespace=*&limit=0", ``, http.StatusBadRequest)
	require.ElementsMatch(t, []string{"status", "cursor", "job_id", "namespace", "limit"}, fields(p))
	a.problem(http.MethodGet, "/api/v1/changes/not-an-id", ``, http.StatusNotFound)
}

func TestNamespaceSettings(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ns := "st-" + uuid.NewString()[:8]
	var st domain.NamespaceSettings
	code, _, b := c.do(http.MethodGet, "/api/v1/namespaces/"+ns+"/settings", ``)
	require.Equal(t, http.StatusOK, code, string(b))
	require.NoError(t, json.Unmarshal(b, &st))
	require.False(t, st.FourEyes, "off until turned on")
	require.Equal(t, domain.Duration(7*24*time.Hour), st.ChangeExpiry)

	path := "/api/v1/namespaces/" + ns + "/settings"
	require.Equal(t, []string{"four_eyes"}, fields(c.problem(http.MethodPut, path, `{}`, http.StatusBadRequest)))
	require.Equal(t, []string{"change_expiry"}, fields(c.problem(http.MethodPut, path, `{"four_eyes":true,"change_expiry":"1m"}`, http.StatusBadRequest)))
	require.Equal(t, []string{"change_expiry"}, fields(c.problem(http.MethodPut, path, `{"four_eyes":true,"change_expiry":7}`, http.StatusBadRequest)))
	c.problem(http.MethodPut, "/api/v1/namespaces/*/settings", `{"four_eyes":true}`, http.StatusBadRequest)

	code, _, b = c.do(http.MethodPut, path, `{"four_eyes":true,"change_expiry":"48h"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	require.NoError(t, json.Unmarshal(b, &st))
	require.True(t, st.FourEyes)
	require.Equal(t, domain.Duration(48*time.Hour), st.ChangeExpiry)
	rows := auditOf(t, c.st, "namespace", ns)
	require.Len(t, rows, 1)
	require.Equal(t, "namespace.settings", rows[0].Action)
	require.Contains(t, string(rows[0].Before), `"four_eyes":false`)
	require.Contains(t, string(rows[0].After), `"four_eyes":true`)
}

// TestFourEyesChangesExpire moves the API's clock past a change's expiry: it reads as expired and
// can no longer be approved.
func TestFourEyesChangesExpire(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	var mu sync.Mutex
	at := time.Now().UTC()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	h := api.New(api.Deps{Jobs: jobs.New(st, now), Vars: variables.New(st, keys, now), Store: st, Identity: ident}, now, testenv.Logger(t))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	f := newFourEyes(t, &client{t: t, srv: srv, st: st, token: testfactory.AdminToken(t, st)})
	code, _, b := f.do(http.MethodPut, "/api/v1/namespaces/"+f.ns+"/settings", `{"four_eyes":true,"change_expiry":"1h"}`)
	require.Equal(t, http.StatusOK, code, string(b))
	a, _ := f.as(rbac.RoleEditor, f.ns)
	approver, _ := f.as(rbac.RoleApprover, f.ns)
	code, _, b = a.do(http.MethodPatch, "/api/v1/jobs/"+f.job.ID, `{"description":"late"}`, "If-Match", `"1"`)
	c := change(t, code, http.StatusAccepted, b)
	require.Equal(t, at.Add(time.Hour).Truncate(time.Microsecond), c.ExpiresAt)

	mu.Lock()
	at = at.Add(time.Hour)
	mu.Unlock()
	code, _, b = a.do(http.MethodGet, "/api/v1/changes/"+c.ID, ``)
	require.Equal(t, domain.ChangeExpired, change(t, code, http.StatusOK, b).Status)
	code, _, b = a.do(http.MethodGet, "/api/v1/changes?status=expired", ``)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(b), c.ID)
	code, _, b = a.do(http.MethodGet, "/api/v1/changes?status=pending", ``)
	require.Equal(t, http.StatusOK, code)
	require.NotContains(t, string(b), c.ID)
	p := approver.problem(http.MethodPost, "/api/v1/changes/"+c.ID+"/approve", ``, http.StatusConflict)
	require.Contains(t, p.Detail, "expired")
	got, err := st.GetJob(t.Context(), f.job.ID)
	require.NoError(t, err)
	require.Equal(t, int64(1), got.Version)
}

// An apply that touches a namespace requiring four eyes makes its part there pending changes,
// stored in the apply's transaction, and makes the rest at once; each change takes effect when
// another user approves it.
func TestApplyInAFourEyesNamespaceProposesItsChanges(t *testing.T) {
	t.Parallel()
	f := newFourEyes(t, newClient(t))
	plain := "plain-" + uuid.NewString()[:8]
	a, userA := f.as(rbac.RoleEditor, domain.AllNamespaces)
	body := applyBody(false, false,
		httpItem(f.ns, "ledger close", "0 30 1 * * *"), httpItem(f.ns, "ledger open", "0 0 6 * * *"), httpItem(plain, "report", "@daily"))

	// A dry run shows the plan and proposes nothing.
	code, _, b := a.do(http.MethodPost, "/api/v1/jobs/apply", strings.Replace(body, `"dry_run":false`, `"dry_run":true`, 1))
	require.Equal(t, http.StatusOK, code, string(b))
	require.NotContains(t, string(b), "change_id")

	code, _, b = a.do(http.MethodPost, "/api/v1/jobs/apply", body)
	require.Equal(t, http.StatusAccepted, code, string(b))
	var out struct {
		Plan []struct {
			Namespace, Name, Action string
			ID                      string `json:"id"`
			ChangeID                string `json:"change_id"`
		} `json:"plan"`
		Changes []*domain.Change `json:"changes"`
	}
	require.NoError(t, json.Unmarshal(b, &out))
	require.Len(t, out.Changes, 2)
	for _, p := range out.Plan {
		if p.Namespace == plain {
			require.NotEmpty(t, p.ID, "a namespace without four eyes is applied at once")
			require.Empty(t, p.ChangeID)
			continue
		}
		require.NotEmpty(t, p.ChangeID, "%s/%s waits for approval", p.Namespace, p.Name)
		require.Empty(t, p.ID)
	}
	for _, c := range out.Changes {
		require.Equal(t, domain.ChangePending, c.Status)
		require.Equal(t, userA, c.RequestedBy)
	}
	got := a.jobsIn(f.ns)
	require.Len(t, got, 1, "nothing is created before an approval")
	require.Equal(t, int64(1), got["ledger close"].Version, "nothing is edited before an approval")
	require.Contains(t, a.jobsIn(plain), "report")

	// The requester cannot approve; another user with job:approve can.
	a.problem(http.MethodPost, "/api/v1/changes/"+out.Changes[0].ID+"/approve", ``, http.StatusForbidden)
	approver, _ := f.as(rbac.RoleApprover, f.ns)
	for _, c := range out.Changes {
		code, _, b := approver.do(http.MethodPost, "/api/v1/changes/"+c.ID+"/approve", ``)
		require.Equal(t, domain.ChangeApproved, change(t, code, http.StatusOK, b).Status)
	}
	got = a.jobsIn(f.ns)
	require.Equal(t, "0 30 1 * * *", got["ledger close"].Schedule.Cron)
	require.Equal(t, int64(2), got["ledger close"].Version)
	require.Contains(t, got, "ledger open")
	require.Equal(t, userA, got["ledger open"].CreatedBy, "the job is the requester's")
}
