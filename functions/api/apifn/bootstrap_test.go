package apifn_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// bootstrapEnv is a database schema, a Redis key prefix and an audit key that several api
// starts share, as replicas of one installation do.
type bootstrapEnv struct {
	dbURL, redisURL, redisPrefix, auditKey string
}

func newBootstrapEnv(t *testing.T) bootstrapEnv {
	t.Helper()
	e := bootstrapEnv{dbURL: testenv.PostgresURL(t), auditKey: testfactory.AuditKey(t)}
	e.redisURL, e.redisPrefix = testenv.RedisURL(t)
	return e
}

// settings returns an api's settings with auth.bootstrap_admin set to admin and the password
// read from passwordFile.
func (e bootstrapEnv) settings(t *testing.T, admin, passwordFile string) apifn.Settings {
	t.Helper()
	s := apifn.DefaultSettings()
	s.Database.URL, s.Database.MaxConns = e.dbURL, 4
	s.Auth.SigningKeys, s.Audit.Keys = testfactory.SigningKey(t), e.auditKey
	s.Redis.URL, s.Redis.KeyPrefix = e.redisURL, e.redisPrefix
	s.Host, s.Port, s.ShutdownGrace, s.Admin.Addr = "127.0.0.1", 0, time.Second, "127.0.0.1:0"
	s.Auth.BootstrapAdmin, s.Auth.BootstrapPasswordFile = admin, passwordFile
	return s
}

// passwordFile writes content to a file of t's own, as a mounted Secret holds it.
func passwordFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	return path
}

// startedAPI is an api running until its test ends.
type startedAPI struct {
	ready chan net.Addr
	logs  *testenv.LogBuffer
}

// launchAPI starts the api with s and returns without waiting for it to serve.
func launchAPI(t *testing.T, s apifn.Settings) startedAPI {
	t.Helper()
	a := startedAPI{ready: make(chan net.Addr, 1)}
	a.logs = testenv.RunFunction(t, func(ctx context.Context, log *slog.Logger) error {
		return apifn.Run(ctx, clockwork.NewRealClock(), s, log, func(addr net.Addr) { a.ready <- addr })
	})
	return a
}

// url waits for the api to serve and returns its base URL.
func (a startedAPI) url(t *testing.T) string {
	t.Helper()
	select {
	case addr := <-a.ready:
		return "http://" + addr.String()
	case <-time.After(testenv.Timeout(30 * time.Second)):
		t.Fatalf("api did not start:\n%s", a.logs.String())
		return ""
	}
}

// login posts a username and password to the api and returns the status code.
func login(t *testing.T, api, username, password string) int {
	t.Helper()
	body := fmt.Sprintf(`{"username":%q,"password":%q}`, username, password)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, api+"/api/v1/auth/login", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func openStore(t *testing.T, e bootstrapEnv) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), store.Config{URL: e.dbURL, MaxConns: 10})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	keys, err := audit.Config{Keys: e.auditKey}.Load()
	require.NoError(t, err)
	st.UseAudit(keys)
	return st
}

// auditTrail returns every audit record, oldest first, after checking the chain is unbroken.
func auditTrail(t *testing.T, st *store.Store, e bootstrapEnv) []*audit.Record {
	t.Helper()
	keys, err := audit.Config{Keys: e.auditKey}.Load()
	require.NoError(t, err)
	v := keys.Verifier(nil)
	var out []*audit.Record
	require.NoError(t, st.AuditChain(t.Context(), 0, nil, func(r *audit.Record) error {
		out = append(out, r)
		return v.Next(r)
	}))
	_, err = v.Finish()
	require.NoError(t, err)
	return out
}

// Two replicas starting together on an empty database, each with its own password, make one
// user: the admin of every namespace, created with one of the two passwords and audited as the
// api's own work. A later start with a third password changes nothing, and no password reaches
// a log line.
func TestBootstrapAdminIsCreatedOnceAcrossStarts(t *testing.T) {
	t.Parallel()
	e := newBootstrapEnv(t)
	const admin = "root.admin"
	passwords := []string{"first-Kd83nWq2", "second-Rt51mZx8", "third-Hv27pLc4"}
	// A Secret written with `echo` ends in a line break, which is not part of the password.
	files := []string{passwordFile(t, passwords[0]+"\n"), passwordFile(t, passwords[1]), passwordFile(t, passwords[2]+"\r\n")}

	// Both run at once: each migrates, finds no user, and tries to create one.
	started := [2]startedAPI{launchAPI(t, e.settings(t, admin, files[0])), launchAPI(t, e.settings(t, admin, files[1]))}
	apis := [2]string{started[0].url(t), started[1].url(t)}

	st := openStore(t, e)
	users, err := st.ListUsers(t.Context(), "", 10)
	require.NoError(t, err)
	require.Len(t, users, 1, "one user, whichever start made it")
	u := users[0]
	require.Equal(t, admin, u.Username)
	require.Equal(t, domain.UserSourceDatabase, u.Source)
	require.False(t, u.Disabled)
	bindings, err := st.ListBindings(t.Context(), "")
	require.NoError(t, err)
	require.Len(t, bindings, 1)
	require.Equal(t, rbac.RoleAdmin, bindings[0].Role)
	require.Equal(t, u.ID, bindings[0].UserID)
	require.Equal(t, domain.AllNamespaces, bindings[0].Namespace)

	winner := -1
	for i := range 2 {
		ok, err := auth.VerifyPassword(u.PasswordHash, passwords[i])
		require.NoError(t, err)
		if ok {
			require.Equal(t, -1, winner, "the stored hash matches one password only")
			winner = i
		}
	}
	require.NotEqual(t, -1, winner, "the user has the password of one of the starts")
	loser := 1 - winner
	require.Equal(t, http.StatusOK, login(t, apis[loser], admin, passwords[winner]), "the first user signs in, on either replica")
	require.Equal(t, http.StatusUnauthorized, login(t, apis[winner], admin, passwords[loser]))

	trail := auditTrail(t, st, e)
	var actions []string
	for _, r := range trail {
		if r.ActorID == "vecron-api" {
			actions = append(actions, r.Action)
			require.Equal(t, string(rbac.KindSystem), r.ActorKind)
			require.Equal(t, "auth.bootstrap_admin", r.ActorName)
			require.NotContains(t, string(r.After), u.PasswordHash)
		}
	}
	require.Equal(t, []string{"user.create", "role_binding.create"}, actions, "the user and its binding are recorded once")

	// A later start (an upgrade, a new replica) with another password is no reset.
	third := launchAPI(t, e.settings(t, admin, files[2]))
	api3 := third.url(t)
	require.Contains(t, third.logs.String(), "users exist already")
	after, err := st.GetUser(t.Context(), u.ID)
	require.NoError(t, err)
	require.Equal(t, u, after, "the user is unchanged")
	usersAfter, err := st.ListUsers(t.Context(), "", 10)
	require.NoError(t, err)
	require.Len(t, usersAfter, 1)
	require.Equal(t, http.StatusUnauthorized, login(t, api3, admin, passwords[2]))
	require.Equal(t, http.StatusOK, login(t, api3, admin, passwords[winner]))
	trailAfter := auditTrail(t, st, e)
	for _, r := range trailAfter[len(trail):] {
		require.NotEqual(t, "vecron-api", r.ActorID, "the later start recorded no change: %s", r.Action)
	}

	for i, l := range []*testenv.LogBuffer{started[0].logs, started[1].logs, third.logs} {
		out := l.String()
		require.Contains(t, out, admin)
		for _, pw := range passwords {
			require.NotContains(t, out, pw, "start %d logged a password", i+1)
		}
	}
}

// Starts racing past the look for users (each found none) still make one user: the table lock
// serialises them, and the ones after the first find the user and store nothing. The names
// differ, so no unique index would stop a second user. A transaction of the test holds every
// racer's insert of its binding until all of them wait, so that they truly overlap.
func TestCreateFirstUserOnceUnderARace(t *testing.T) {
	t.Parallel()
	e := newBootstrapEnv(t)
	st := openStore(t, e)
	require.NoError(t, st.Migrate(t.Context(), testenv.Logger(t)))

	// The racers' connections carry a name of their own, to be counted while they wait.
	app := testenv.Name(t)
	u, err := url.Parse(e.dbURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	racing, err := store.Open(t.Context(), store.Config{URL: u.String(), MaxConns: 10})
	require.NoError(t, err)
	t.Cleanup(racing.Close)
	keys, err := audit.Config{Keys: e.auditKey}.Load()
	require.NoError(t, err)
	racing.UseAudit(keys)

	holder, err := pgx.Connect(t.Context(), e.dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { holder.Close(context.WithoutCancel(t.Context())) })
	// Another connection watches: one inside a transaction sees pg_stat_activity as it was
	// when the transaction began.
	watcher, err := pgx.Connect(t.Context(), e.dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { watcher.Close(context.WithoutCancel(t.Context())) })
	hold, err := holder.Begin(t.Context())
	require.NoError(t, err)
	_, err = hold.Exec(t.Context(), `LOCK TABLE role_bindings IN SHARE MODE`)
	require.NoError(t, err)

	const racers = 8
	var (
		wg      sync.WaitGroup
		created [racers]bool
		errs    [racers]error
	)
	now := time.Now().UTC().Truncate(time.Microsecond)
	for i := range racers {
		u := &domain.User{ID: uuid.NewString(), Username: fmt.Sprintf("admin%d", i), Source: domain.UserSourceDatabase, CreatedAt: now}
		b := &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleAdmin, UserID: u.ID, Namespace: domain.AllNamespaces, CreatedAt: now}
		wg.Go(func() {
			ctx := domain.WithActor(t.Context(), domain.Actor{ID: "race", Name: "race", Kind: string(rbac.KindSystem)})
			created[i], errs[i] = racing.CreateFirstUser(ctx, u, b)
		})
	}
	// One racer waits for role_bindings and the others for users, or, were the users table not
	// locked, every one of them for role_bindings, each with a user inserted.
	testenv.EventuallyWithin(t, 30*time.Second, "every racer waits for a lock", func() bool {
		var waiting int
		require.NoError(t, watcher.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock'`, app).Scan(&waiting))
		return waiting == racers
	})
	require.NoError(t, hold.Rollback(t.Context()))
	wg.Wait()

	wins := 0
	for i := range racers {
		require.NoError(t, errs[i])
		if created[i] {
			wins++
		}
	}
	require.Equal(t, 1, wins)
	users, err := st.ListUsers(t.Context(), "", 100)
	require.NoError(t, err)
	require.Len(t, users, 1)
	bindings, err := st.ListBindings(t.Context(), "")
	require.NoError(t, err)
	require.Len(t, bindings, 1)
	require.Len(t, auditTrail(t, st, e), 2)
}

// An installation whose users were made some other way (vecron user create, an earlier
// version) gets no second admin from the setting.
func TestCreateFirstAdminLeavesExistingUsersAlone(t *testing.T) {
	t.Parallel()
	e := newBootstrapEnv(t)
	st := openStore(t, e)
	require.NoError(t, st.Migrate(t.Context(), testenv.Logger(t)))
	testfactory.User(t, st, testfactory.UserOpts{Username: "someone"})
	before := auditTrail(t, st, e)

	cfg := identity.DefaultConfig()
	cfg.BootstrapAdmin, cfg.BootstrapPasswordFile = "admin", passwordFile(t, "another-Pw93kQz7")
	first, err := cfg.FirstAdmin()
	require.NoError(t, err)
	created, err := identity.CreateFirstAdmin(t.Context(), st, first, time.Now())
	require.NoError(t, err)
	require.False(t, created)
	_, err = st.UserByName(t.Context(), "admin")
	require.ErrorIs(t, err, domain.ErrNotFound)
	require.Len(t, auditTrail(t, st, e), len(before))
}

// A setting that cannot make the user fails the start before anything is connected, with an
// error naming the setting and never the password.
func TestBootstrapAdminSettingsFailTheStart(t *testing.T) {
	t.Parallel()
	const weak = "short-pw1"
	dir := t.TempDir()
	cases := []struct {
		name          string
		admin, file   string
		modes         []string
		wantSetting   string
		wantMentioned string
	}{
		{name: "MissingFile", admin: "admin", file: filepath.Join(dir, "absent"), wantSetting: "auth.bootstrap_password_file", wantMentioned: "no such file"},
		{name: "UnreadableFile", admin: "admin", file: dir, wantSetting: "auth.bootstrap_password_file", wantMentioned: "directory"},
		{name: "EmptyFile", admin: "admin", file: passwordFile(t, ""), wantSetting: "auth.bootstrap_password_file", wantMentioned: "empty"},
		{name: "OnlyALineBreak", admin: "admin", file: passwordFile(t, "\n"), wantSetting: "auth.bootstrap_password_file", wantMentioned: "empty"},
		{name: "WeakPassword", admin: "admin", file: passwordFile(t, weak), wantSetting: "auth.bootstrap_password_file", wantMentioned: "at least 12"},
		{name: "FileWithoutAdmin", file: passwordFile(t, "good-Pw83kQz7x"), wantSetting: "auth.bootstrap_admin", wantMentioned: "required"},
		{name: "AdminWithoutFile", admin: "admin", wantSetting: "auth.bootstrap_password_file", wantMentioned: "required"},
		{name: "NotAUsername", admin: "-not a name", file: passwordFile(t, "good-Pw83kQz7x"), wantSetting: "auth.bootstrap_admin", wantMentioned: "not a username"},
		{name: "TooLongAUsername", admin: strings.Repeat("a", 65), file: passwordFile(t, "good-Pw83kQz7x"), wantSetting: "auth.bootstrap_admin", wantMentioned: "not a username"},
		{name: "NoDatabaseMode", admin: "admin", file: passwordFile(t, "good-Pw83kQz7x"), modes: []string{identity.ModeOIDC},
			wantSetting: "auth.bootstrap_admin", wantMentioned: "auth.modes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := apifn.DefaultSettings()
			// Nothing listens there: the start must fail before it tries.
			s.Database.URL = "postgres://127.0.0.1:1/none"
			s.Auth.BootstrapAdmin, s.Auth.BootstrapPasswordFile = c.admin, c.file
			if c.modes != nil {
				s.Auth.Modes = c.modes
			}
			err := apifn.Run(t.Context(), clockwork.NewRealClock(), s, testenv.Logger(t), nil)
			require.Error(t, err)
			require.True(t, strings.HasPrefix(err.Error(), c.wantSetting+":"), "the error names the setting first: %v", err)
			require.ErrorContains(t, err, c.wantMentioned)
			require.NotContains(t, err.Error(), weak)
			require.NotContains(t, err.Error(), "good-Pw83kQz7x")
		})
	}
}
