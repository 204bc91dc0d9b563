package main

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/auth/oidclogin"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// TestSecretsRotateResealsEverySealedValue: one run moves secret variables, webhook secrets and
// sessions' refresh tokens to the newest key, each batch audited; values no configured key opens
// are listed and left (only those count against the exit status, refresh tokens aside), and a
// second run has nothing left to do.
func TestSecretsRotateResealsEverySealedValue(t *testing.T) {
	t.Parallel()
	dbURL := testenv.PostgresURL(t)
	ctx := t.Context()
	st, err := store.Open(ctx, store.Config{URL: dbURL})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	require.NoError(t, st.Migrate(ctx, testenv.Logger(t)))
	oldSpec, err := secret.NewKey("old")
	require.NoError(t, err)
	oldKeys, err := secret.ParseKeys(oldSpec)
	require.NoError(t, err)
	v := "value-of-A"
	_, _, err = variables.New(st, oldKeys, time.Now).Put(ctx, domain.ScopeGlobal, "", "A", variables.PutRequest{Value: &v, IsSecret: new(true)})
	require.NoError(t, err)

	svc := jobs.New(st, time.Now)
	hooked := testfactory.Job(t, st, testfactory.JobOpts{})
	hook, err := svc.EnableWebhook(ctx, st, oldKeys, hooked)
	require.NoError(t, err)
	orphan := testfactory.Job(t, st, testfactory.JobOpts{})
	_, err = svc.EnableWebhook(ctx, st, oldKeys, orphan)
	require.NoError(t, err)

	oldRefresh, err := oidclogin.RefreshKeys(oidclogin.Config{}, secret.Config{Keys: oldSpec})
	require.NoError(t, err)
	kept := refreshSession(t, st, oldRefresh, "", "refresh-of-alice")
	lost := refreshSession(t, st, oldRefresh, "retired", "refresh-of-bob")

	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close(ctx) })
	_, err = conn.Exec(ctx, `UPDATE webhooks SET secret_key_id = 'retired' WHERE job_id = $1`, orphan.ID)
	require.NoError(t, err)

	newSpec, err := secret.NewKey("new")
	require.NoError(t, err)
	auditKey := testfactory.AuditKey(t)
	run := func() (string, error) {
		root := &cobra.Command{Use: "vecron", SilenceUsage: true, SilenceErrors: true}
		root.AddCommand(secretsCommand())
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{"secrets", "rotate", "--database.url=" + dbURL, "--secrets.keys=" + newSpec + "," + oldSpec, "--audit.keys=" + auditKey})
		err := root.ExecuteContext(ctx)
		return out.String(), err
	}
	out, err := run()
	require.ErrorContains(t, err, "1 values did not open")
	require.Contains(t, out, "re-sealed 1 secret variables with key new\n")
	require.Contains(t, out, "re-sealed 1 webhook secrets with key new\n")
	require.Contains(t, out, "re-sealed 1 session refresh tokens with key new\n")
	require.Contains(t, out, "(sealed by key retired): key \"retired\": the key that sealed this value is not configured; its session ends at its next identity check")
	require.Contains(t, out, "left "+orphan.ID+" (sealed by key retired)")
	require.NotContains(t, out, hook.Secret)

	// The old key can go: the new one alone opens everything that was re-sealed.
	onlyNew, err := secret.ParseKeys(newSpec)
	require.NoError(t, err)
	res, err := variables.New(st, onlyNew, time.Now).Resolve(ctx, hooked.ID)
	require.NoError(t, err)
	require.Equal(t, "value-of-A", res.Vars["A"])
	rec, err := st.GetWebhook(ctx, hooked.ID)
	require.NoError(t, err)
	require.Equal(t, "new", rec.KeyID)
	plain, err := onlyNew.Open(rec.KeyID, rec.Sealed, []byte("webhook:"+hooked.ID))
	require.NoError(t, err)
	require.Equal(t, hook.Secret, string(plain))
	newRefresh, err := oidclogin.RefreshKeys(oidclogin.Config{}, secret.Config{Keys: newSpec})
	require.NoError(t, err)
	var keyID *string
	var sealed []byte
	require.NoError(t, conn.QueryRow(ctx, `SELECT refresh_key_id, refresh_sealed FROM dashboard_sessions WHERE token_hash = $1`, kept.TokenHash).Scan(&keyID, &sealed))
	got, err := newRefresh.Open(*keyID, sealed, refreshAD(kept.OIDCSubject))
	require.NoError(t, err)
	require.Equal(t, "refresh-of-alice", string(got))
	require.NoError(t, conn.QueryRow(ctx, `SELECT refresh_key_id, refresh_sealed FROM dashboard_sessions WHERE token_hash = $1`, lost.TokenHash).Scan(&keyID, &sealed))
	require.Equal(t, "retired", *keyID, "left as it was")
	require.Equal(t, lost.RefreshSealed, sealed)

	// Audited: one row per batch and kind, by the rotation, naming what it re-sealed.
	rows, err := st.ListAudit(ctx, store.AuditFilter{Action: store.ActionSecretsRotate, Limit: 10})
	require.NoError(t, err)
	kinds := map[string]string{}
	for _, r := range rows {
		require.Equal(t, "vecron secrets rotate", r.ActorName)
		kinds[r.ObjectKind] = string(r.After)
	}
	require.Len(t, kinds, 3)
	require.Contains(t, kinds["webhook"], hooked.ID)
	require.NotContains(t, kinds["webhook"], orphan.ID)

	// Resumable and idempotent: a second run re-seals nothing, and still names what is left.
	out, err = run()
	require.Error(t, err)
	require.Contains(t, out, "re-sealed 0 secret variables")
	require.Contains(t, out, "re-sealed 0 webhook secrets")
	require.Contains(t, out, "left "+orphan.ID)
}

// refreshSession stores an identity provider's session whose refresh token is sealed with keys,
// its key id replaced by keyID when not empty.
func refreshSession(t *testing.T, st *store.Store, keys *secret.Keyring, keyID, refresh string) *domain.DashboardSession {
	t.Helper()
	now := time.Now().UTC()
	token := []byte(uuid.NewString())
	h := sha256.Sum256(token)
	ds := &domain.DashboardSession{ID: uuid.NewString(), TokenHash: h[:], Mode: "oidc", OIDCSubject: "s-" + uuid.NewString()[:8],
		OIDCUsername: "alice", CSRFSecret: token, CreatedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(12 * time.Hour),
		IdentityExpiresAt: now.Add(5 * time.Minute)}
	id, sealed, err := keys.Seal([]byte(refresh), refreshAD(ds.OIDCSubject))
	require.NoError(t, err)
	ds.RefreshKeyID, ds.RefreshSealed = id, sealed
	if keyID != "" {
		ds.RefreshKeyID = keyID
	}
	require.NoError(t, st.CreateDashboardSession(t.Context(), ds))
	return ds
}

// refreshAD is the associated data the sign-in seals a refresh token with (oidclogin): spelled
// out here so a change there that would strand stored tokens fails this test.
func refreshAD(subject string) []byte { return []byte("vecron oidc-login refresh v1\x00" + subject) }
