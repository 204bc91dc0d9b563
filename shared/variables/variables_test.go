package variables_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

func keys(t *testing.T, ids ...string) (*secret.Keyring, []string) {
	t.Helper()
	var specs []string
	for _, id := range ids {
		k, err := secret.NewKey(id)
		require.NoError(t, err)
		specs = append(specs, k)
	}
	k, err := secret.ParseKeys(strings.Join(specs, ","))
	require.NoError(t, err)
	return k, specs
}

func str(s string) *string { return &s }
func yes() *bool           { b := true; return &b }

func TestJobVariablesOverrideGlobalOnes(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	k, _ := keys(t, "k1")
	svc := variables.New(st, k, time.Now)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	other := testfactory.Job(t, st, testfactory.JobOpts{})

	_, created, err := svc.Put(ctx, domain.ScopeGlobal, "", "HOST", variables.PutRequest{Value: str("global.example")})
	require.NoError(t, err)
	require.True(t, created)
	_, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "REGION", variables.PutRequest{Value: str("hcm")})
	require.NoError(t, err)
	_, _, err = svc.Put(ctx, domain.ScopeJob, j.ID, "HOST", variables.PutRequest{Value: str("job.example")})
	require.NoError(t, err)
	_, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "TOKEN", variables.PutRequest{Value: str("tok-global"), IsSecret: yes()})
	require.NoError(t, err)
	_, _, err = svc.Put(ctx, domain.ScopeJob, j.ID, "TOKEN", variables.PutRequest{Value: str("tok-job-1"), IsSecret: yes()})
	require.NoError(t, err)

	res, err := svc.Resolve(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"HOST": "job.example", "REGION": "hcm", "TOKEN": "tok-job-1"}, res.Vars)
	require.ElementsMatch(t, []string{"tok-global", "tok-job-1"}, res.Values, "every opened secret is masked")
	require.Equal(t, map[string]bool{"TOKEN": true}, res.Secret)

	res, err = svc.Resolve(ctx, other.ID)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"HOST": "global.example", "REGION": "hcm", "TOKEN": "tok-global"}, res.Vars)
}

func TestSecretsAreWriteOnlyAndSealed(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	k, _ := keys(t, "k1")
	svc := variables.New(st, k, time.Now)
	ctx := t.Context()

	v, _, err := svc.Put(ctx, domain.ScopeGlobal, "", "DB_PASSWORD", variables.PutRequest{Value: str("hunter2!"), IsSecret: yes()})
	require.NoError(t, err)
	require.Empty(t, v.Value)
	require.Equal(t, secret.Masked, v.Masked)
	stored, err := st.GetVariable(ctx, domain.ScopeGlobal, "", "DB_PASSWORD")
	require.NoError(t, err)
	require.Empty(t, stored.Value)
	require.NotContains(t, string(stored.Ciphertext), "hunter2")
	require.Equal(t, "k1", stored.KeyID)

	// A PUT without a value keeps the secret.
	_, created, err := svc.Put(ctx, domain.ScopeGlobal, "", "DB_PASSWORD", variables.PutRequest{})
	require.NoError(t, err)
	require.False(t, created)
	res, err := svc.Resolve(ctx, testfactory.Job(t, st, testfactory.JobOpts{}).ID)
	require.NoError(t, err)
	require.Equal(t, "hunter2!", res.Vars["DB_PASSWORD"])

	list, err := svc.List(ctx, domain.ScopeGlobal, "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Empty(t, list[0].Value)

	var verr *domain.ValidationError
	_, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "PLAIN", variables.PutRequest{})
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "value", verr.Fields[0].Field)
	_, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "1BAD", variables.PutRequest{Value: str("x")})
	require.ErrorAs(t, err, &verr)
	require.Equal(t, "name", verr.Fields[0].Field)
	_, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "SHORT", variables.PutRequest{Value: str("abc"), IsSecret: yes()})
	require.ErrorAs(t, err, &verr)
	require.Contains(t, verr.Fields[0].Reason, "at least 4 bytes")
	_, _, err = svc.Put(ctx, domain.ScopeJob, "0193b7c4-0000-7000-8000-000000000000", "X", variables.PutRequest{Value: str("x")})
	require.ErrorIs(t, err, domain.ErrNotFound)
}

func TestASealedValueMovedToAnotherRowDoesNotOpen(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	k, _ := keys(t, "k1")
	svc := variables.New(st, k, time.Now)
	ctx := t.Context()
	_, _, err := svc.Put(ctx, domain.ScopeGlobal, "", "A", variables.PutRequest{Value: str("value-a"), IsSecret: yes()})
	require.NoError(t, err)
	a, err := st.GetVariable(ctx, domain.ScopeGlobal, "", "A")
	require.NoError(t, err)
	// Someone with database access copies A's ciphertext onto B.
	b := *a
	b.ID, b.Name = "0193b7c4-0000-7000-8000-0000000000bb", "B"
	_, _, err = st.PutVariable(ctx, &b)
	require.NoError(t, err)
	_, err = svc.Resolve(ctx, testfactory.Job(t, st, testfactory.JobOpts{}).ID)
	require.ErrorIs(t, err, secret.ErrTampered)
	require.NotContains(t, err.Error(), "value-a")
}

func TestRotateReencryptsToTheNewestKey(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	oldKeys, oldSpecs := keys(t, "2025")
	old := variables.New(st, oldKeys, time.Now)
	for _, name := range []string{"A", "B", "C"} {
		_, _, err := old.Put(ctx, domain.ScopeGlobal, "", name, variables.PutRequest{Value: str("secret-" + name), IsSecret: yes()})
		require.NoError(t, err)
	}
	newSpec, err := secret.NewKey("2026")
	require.NoError(t, err)
	both, err := secret.ParseKeys(newSpec + "," + oldSpecs[0])
	require.NoError(t, err)
	rotated := variables.New(st, both, time.Now)
	rep, err := rotated.Rotate(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Resealed)
	rep, err = rotated.Rotate(ctx)
	require.NoError(t, err)
	require.Zero(t, rep.Resealed, "nothing left on the old key")
	require.Empty(t, rep.Failed)

	// The old key can go: the new one alone opens everything.
	onlyNew, err := secret.ParseKeys(newSpec)
	require.NoError(t, err)
	res, err := variables.New(st, onlyNew, time.Now).Resolve(ctx, testfactory.Job(t, st, testfactory.JobOpts{}).ID)
	require.NoError(t, err)
	require.Equal(t, "secret-B", res.Vars["B"])
}

func TestStartingWithoutAKeyWhileSecretsExistFails(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	empty, err := secret.ParseKeys("")
	require.NoError(t, err)
	require.NoError(t, variables.CheckKeys(ctx, st, empty), "no secrets, no key needed")
	k, _ := keys(t, "k1")
	_, _, err = variables.New(st, k, time.Now).Put(ctx, domain.ScopeGlobal, "", "S", variables.PutRequest{Value: str("ssss"), IsSecret: yes()})
	require.NoError(t, err)
	require.ErrorContains(t, variables.CheckKeys(ctx, st, empty), "1 secret variables exist but no encryption key is configured")
	_, _, err = variables.New(st, empty, time.Now).Put(ctx, domain.ScopeGlobal, "", "T", variables.PutRequest{Value: str("tttt"), IsSecret: yes()})
	require.ErrorContains(t, err, "no encryption key configured")
}

func TestBindingsAreValidatedAndKept(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	k, _ := keys(t, "k1")
	svc := variables.New(st, k, time.Now)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "payments"})

	v, _, err := svc.Put(ctx, domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Value: str("tok-bank"), IsSecret: yes(),
		AllowedHosts: &[]string{"API.Bank.vn", "*.bank.vn:443", "api.bank.vn"}, Namespaces: &[]string{"payments", "payments"}})
	require.NoError(t, err)
	require.Equal(t, []string{"api.bank.vn", "*.bank.vn:443"}, v.AllowedHosts)
	require.Equal(t, []string{"payments"}, v.Namespaces)
	// A new value alone keeps where the secret may go.
	v, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Value: str("tok-bank-2")})
	require.NoError(t, err)
	require.Equal(t, []string{"api.bank.vn", "*.bank.vn:443"}, v.AllowedHosts)
	require.Equal(t, []string{"payments"}, v.Namespaces)
	got, err := svc.Get(ctx, domain.ScopeGlobal, "", "BANK_TOKEN")
	require.NoError(t, err)
	require.Equal(t, v.AllowedHosts, got.AllowedHosts)

	res, err := svc.Resolve(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, map[string][]string{"BANK_TOKEN": {"api.bank.vn", "*.bank.vn:443"}}, res.Hosts)
	res, err = svc.Resolve(ctx, testfactory.Job(t, st, testfactory.JobOpts{Namespace: "marketing"}).ID)
	require.NoError(t, err)
	require.NotContains(t, res.Vars, "BANK_TOKEN", "restricted to payments")
	require.Empty(t, res.Values, "not even opened")

	// A job's own secret of the same name replaces the global one, binding included.
	_, _, err = svc.Put(ctx, domain.ScopeJob, j.ID, "BANK_TOKEN", variables.PutRequest{Value: str("tok-own"), IsSecret: yes()})
	require.NoError(t, err)
	res, err = svc.Resolve(ctx, j.ID)
	require.NoError(t, err)
	require.Equal(t, "tok-own", res.Vars["BANK_TOKEN"])
	require.Empty(t, res.Hosts)

	for _, tc := range []struct {
		scope, jobID string
		req          variables.PutRequest
		field, want  string
	}{
		{domain.ScopeGlobal, "", variables.PutRequest{Value: str("plain"), AllowedHosts: &[]string{"a.example"}},
			"allowed_hosts", "applies to secrets only"},
		{domain.ScopeGlobal, "", variables.PutRequest{Value: str("tok-x"), IsSecret: yes(), AllowedHosts: &[]string{"ok.example", "https://x"}},
			"allowed_hosts[1]", "is not a host"},
		{domain.ScopeGlobal, "", variables.PutRequest{Value: str("tok-x"), IsSecret: yes(), AllowedHosts: new(make([]string, 33))},
			"allowed_hosts", "more than 32"},
		{domain.ScopeJob, j.ID, variables.PutRequest{Value: str("x"), Namespaces: &[]string{"payments"}},
			"namespaces", "applies to global variables only"},
		{domain.ScopeGlobal, "", variables.PutRequest{Value: str("x"), Namespaces: &[]string{"Bad Name"}},
			"namespaces[0]", "is not a namespace name"},
	} {
		_, _, err := svc.Put(ctx, tc.scope, tc.jobID, "V", tc.req)
		var verr *domain.ValidationError
		require.ErrorAs(t, err, &verr, tc.field)
		require.Equal(t, tc.field, verr.Fields[0].Field)
		require.Contains(t, verr.Fields[0].Reason, tc.want)
	}

	// Made plain, a secret leaves its binding behind.
	v, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Value: str("now-plain"), IsSecret: new(false)})
	require.NoError(t, err)
	require.Empty(t, v.AllowedHosts)
}

// Someone who may write variables but not read secrets cannot let a kept secret go further
// than it went: more hosts, any host, more namespaces or every namespace need the value given
// again. Narrowing needs none.
func TestAKeptSecretGoesNoFurtherWithoutItsValue(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	k, _ := keys(t, "k1")
	svc := variables.New(st, k, time.Now)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{Namespace: "payments"})
	_, _, err := svc.Put(ctx, domain.ScopeJob, j.ID, "PAY_TOKEN", variables.PutRequest{Value: str("tok-pay"), IsSecret: yes(),
		AllowedHosts: &[]string{"api.bank.example", "*.bank.example"}})
	require.NoError(t, err)
	_, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Value: str("tok-bank"), IsSecret: yes(),
		Namespaces: &[]string{"payments", "ops"}})
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		scope, jobID, name string
		req                variables.PutRequest
	}{
		"another host":      {domain.ScopeJob, j.ID, "PAY_TOKEN", variables.PutRequest{AllowedHosts: &[]string{"attacker.example"}}},
		"a host added":      {domain.ScopeJob, j.ID, "PAY_TOKEN", variables.PutRequest{AllowedHosts: &[]string{"api.bank.example", "attacker.example"}}},
		"any host":          {domain.ScopeJob, j.ID, "PAY_TOKEN", variables.PutRequest{AllowedHosts: &[]string{}}},
		"a namespace added": {domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Namespaces: &[]string{"payments", "ops", "marketing"}}},
		"every namespace":   {domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Namespaces: &[]string{}}},
	} {
		_, _, err := svc.Put(ctx, tc.scope, tc.jobID, tc.name, tc.req)
		var verr *domain.ValidationError
		require.ErrorAs(t, err, &verr, name)
		require.Equal(t, "value", verr.Fields[0].Field, name)
	}
	got, err := svc.Get(ctx, domain.ScopeJob, j.ID, "PAY_TOKEN")
	require.NoError(t, err)
	require.Equal(t, []string{"api.bank.example", "*.bank.example"}, got.AllowedHosts, "unchanged")

	// Narrower needs no value; further does, when it comes with the value.
	v, _, err := svc.Put(ctx, domain.ScopeJob, j.ID, "PAY_TOKEN", variables.PutRequest{AllowedHosts: &[]string{"API.bank.example"}})
	require.NoError(t, err)
	require.Equal(t, []string{"api.bank.example"}, v.AllowedHosts)
	v, _, err = svc.Put(ctx, domain.ScopeGlobal, "", "BANK_TOKEN", variables.PutRequest{Namespaces: &[]string{"ops"}})
	require.NoError(t, err)
	require.Equal(t, []string{"ops"}, v.Namespaces)
	v, _, err = svc.Put(ctx, domain.ScopeJob, j.ID, "PAY_TOKEN", variables.PutRequest{Value: str("tok-pay-2"), AllowedHosts: &[]string{"pay.example"}})
	require.NoError(t, err)
	require.Equal(t, []string{"pay.example"}, v.AllowedHosts)
}
