package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

func TestVariablesRotateMovesEverySecretToTheNewestKey(t *testing.T) {
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
	for _, name := range []string{"A", "B"} {
		v := "value-of-" + name
		_, _, err := variables.New(st, oldKeys, time.Now).Put(ctx, domain.ScopeGlobal, "", name, variables.PutRequest{Value: &v, IsSecret: new(true)})
		require.NoError(t, err)
	}
	newSpec, err := secret.NewKey("new")
	require.NoError(t, err)

	root := &cobra.Command{Use: "vecron", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(variablesCommand(processEnv()))
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"variables", "rotate", "--database.url=" + dbURL, "--secrets.keys=" + newSpec + "," + oldSpec, "--audit.keys=" + testfactory.AuditKey(t)})
	require.NoError(t, root.ExecuteContext(ctx))
	require.Contains(t, out.String(), "re-sealed 2 secret variables with key new\n")

	onlyNew, err := secret.ParseKeys(newSpec)
	require.NoError(t, err)
	res, err := variables.New(st, onlyNew, time.Now).Resolve(ctx, "0193b7c4-0000-7000-8000-000000000000")
	require.NoError(t, err)
	require.Equal(t, "value-of-B", res.Vars["B"])
}
