package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"

	"net/http/httptest"
)

// cli runs the vecron command line in this process.
type cli struct {
	t      *testing.T
	server string
}

func (c cli) run(stdin string, args ...string) (string, error) {
	c.t.Helper()
	root := &cobra.Command{Use: "vecron", SilenceUsage: true, SilenceErrors: true}
	e := processEnv()
	root.AddCommand(loginCommand(e), logoutCommand(e), usersCommand(e), tokensCommand(e), auditCommand(e))
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	if args[0] != "logout" { // logout ends the session it kept, wherever that was
		args = append(args, "--server", c.server)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(c.t.Context())
	return out.String(), err
}

func (c cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, err := c.run(stdin, args...)
	require.NoError(c.t, err, "vecron %s", strings.Join(args, " "))
	return out
}

// TestCLIManagesUsersAndTokens signs in with `vecron login` as the README does, creates a user
// with a role, gives them a token, lists, revokes and disables, and reads the audit log — all
// through a real API. (Not parallel: it points the user's configuration folder at a folder of
// its own.)
func TestCLIManagesUsersAndTokens(t *testing.T) {
	st, _ := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	srv := httptest.NewServer(api.New(api.Deps{Jobs: jobs.New(st, time.Now), Vars: variables.New(st, keys, time.Now), Store: st, Identity: ident},
		time.Now, testenv.Logger(t)))
	t.Cleanup(srv.Close)
	ctx := domain.WithActor(context.Background(), domain.Actor{ID: "test", Kind: "system"})
	password, err := identity.Bootstrap(ctx, st, "admin", "", time.Now())
	require.NoError(t, err)

	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	t.Setenv("VECRON_TOKEN", "")
	c := cli{t: t, server: srv.URL}

	_, err = c.run("wrong password\n", "login", "--username", "admin", "--password-stdin")
	require.ErrorContains(t, err, "wrong username or password")
	_, err = c.run("", "users", "list")
	require.ErrorContains(t, err, "not signed in")

	c.ok(password+"\n", "login", "--username", "admin", "--password-stdin")
	info, err := os.Stat(filepath.Join(cfg, "vecron", "credentials.json"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	out := c.ok("a long enough password\n", "users", "create", "ci-bot", "--password-stdin", "--role", "operator", "--namespace", "team-a")
	require.Contains(t, out, "created user ci-bot")
	require.Contains(t, out, "granted operator in team-a")
	require.Contains(t, c.ok("", "users", "list"), "ci-bot")

	// A token of admin's for a pipeline: shown once, listed without its secret, revocable.
	tok := strings.TrimSpace(c.ok("", "tokens", "create", "--name", "deploy", "--scope", "job:read,job:execute", "--namespace", "team-a"))
	require.True(t, strings.HasPrefix(tok, "vcr_"), tok)
	listed := c.ok("", "tokens", "list")
	require.Contains(t, listed, "deploy")
	require.Contains(t, listed, "job:read,job:execute")
	require.NotContains(t, listed, tok)
	id := strings.Fields(strings.Split(listed, "\n")[1])[0]
	require.Contains(t, c.ok("", "tokens", "revoke", id), "revoked")
	require.Contains(t, c.ok("", "tokens", "list", "--user", "*"), "deploy")

	require.Contains(t, c.ok("", "users", "disable", "ci-bot"), "disabled ci-bot")
	require.Contains(t, c.ok("", "users", "list"), "disabled")
	_, err = c.run("", "users", "disable", "nobody-here")
	require.ErrorContains(t, err, `no user "nobody-here"`)

	audit := c.ok("", "audit", "list", "--limit", "20")
	for _, action := range []string{"auth.login", "auth.login_failed", "user.create", "role_binding.create", "token.create", "token.revoke", "user.update"} {
		require.Contains(t, audit, action)
	}

	// Two commands at once with an expired access token: they refresh the session once between
	// them, and it survives (spending one refresh token twice would end it).
	credPath := filepath.Join(cfg, "vecron", "credentials.json")
	b, err := os.ReadFile(credPath)
	require.NoError(t, err)
	var cred credentials
	require.NoError(t, json.Unmarshal(b, &cred))
	cred.ExpiresAt = time.Now().Add(-time.Minute)
	_, err = processEnv().saveCredentials(cred)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.run("", "users", "list") })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Contains(t, c.ok("", "users", "list"), "ci-bot", "the session lives on")

	c.ok("", "logout")
	_, err = os.Stat(filepath.Join(cfg, "vecron", "credentials.json"))
	require.ErrorIs(t, err, os.ErrNotExist, "logout forgets the tokens")
}
