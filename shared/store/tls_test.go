package store_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/devenv"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
)

// pgPassword is the superuser's password on the TLS server; no error may quote it.
const pgPassword = "pw-Postgres-5ecret"

// startTLSPostgres starts a PostgreSQL server that takes TCP connections with TLS only, from
// clients whose certificate ca signed and names the user, who also give pgPassword. It returns
// the server's port.
func startTLSPostgres(t *testing.T, ca *testenv.CA) int {
	t.Helper()
	server := ca.Server(t)
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// PostgreSQL runs as the postgres user, which must reach the data directory.
		for _, d := range []string{filepath.Dir(dir), dir} {
			require.NoError(t, os.Chmod(d, 0o755))
		}
	}
	for range 5 {
		port := testenv.FreePort(t)
		p, err := devenv.StartPostgres(t.Context(), devenv.PostgresConfig{DataDir: filepath.Join(dir, "pg"), Port: port,
			Database: "vecron", Password: pgPassword,
			TLS: &devenv.ServerTLS{CertFile: server.CertFile, KeyFile: server.KeyFile, ClientCAFile: ca.File}}, testenv.Logger(t))
		if errors.Is(err, devenv.ErrPortInUse) {
			continue
		}
		if errors.Is(err, devenv.ErrNotInstalled) && os.Getenv("CI") != "true" {
			t.Skip(err)
		}
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Stop(context.Background()) })
		return port
	}
	t.Fatal("five free ports in a row were taken before postgres could listen on them")
	return 0
}

// tlsURL is the URL an operator writes: the password from a Secret, the TLS files mounted.
func tlsURL(port int, password string, params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword("postgres", password), Host: "127.0.0.1:" + strconv.Itoa(port),
		Path: "/vecron", RawQuery: q.Encode()}
	return u.String()
}

func TestStoreOverTLSWithClientCertificates(t *testing.T) {
	t.Parallel()
	ca, other := testenv.NewCA(t, "postgres CA"), testenv.NewCA(t, "other CA")
	port := startTLSPostgres(t, ca)
	// verify-full: the user is the certificate's common name.
	client := ca.Client(t, "postgres")
	full := map[string]string{"sslmode": "verify-full", "sslrootcert": ca.File, "sslcert": client.CertFile, "sslkey": client.KeyFile}
	with := func(changes map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range full {
			m[k] = v
		}
		for k, v := range changes {
			if v == "" {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	open := func(t *testing.T, u string) error {
		t.Helper()
		s, err := store.Open(t.Context(), store.Config{URL: u})
		if err != nil {
			require.NotContains(t, err.Error(), pgPassword)
			return err
		}
		s.Close()
		return nil
	}

	t.Run("VerifyFullConnectsAndMigrates", func(t *testing.T) {
		t.Parallel()
		s, err := store.Open(t.Context(), store.Config{URL: tlsURL(port, pgPassword, full)})
		require.NoError(t, err)
		defer s.Close()
		require.NoError(t, s.Migrate(t.Context(), testenv.Logger(t)))
		require.NoError(t, s.Ping(t.Context()))
	})
	t.Run("WrongCA", func(t *testing.T) {
		t.Parallel()
		err := open(t, tlsURL(port, pgPassword, with(map[string]string{"sslrootcert": other.File})))
		require.ErrorContains(t, err, "database.url (sslrootcert): the server's certificate is not signed by a CA trusted there")
	})
	t.Run("NoClientCertificate", func(t *testing.T) {
		t.Parallel()
		err := open(t, tlsURL(port, pgPassword, with(map[string]string{"sslcert": "", "sslkey": ""})))
		require.ErrorContains(t, err, "database.url (sslcert, sslkey): the server wants a client certificate it trusts")
	})
	t.Run("ClientCertificateOfAnotherUser", func(t *testing.T) {
		t.Parallel()
		someone := ca.Client(t, "someone")
		err := open(t, tlsURL(port, pgPassword, with(map[string]string{"sslcert": someone.CertFile, "sslkey": someone.KeyFile})))
		// clientcert=verify-full: a certificate naming another user fails the sign-in.
		require.ErrorContains(t, err, "database.url (user and password, or client certificate's name): the server refused the sign-in")
	})
	t.Run("ClientCertificateOfAnotherCA", func(t *testing.T) {
		t.Parallel()
		stranger := other.Client(t, "postgres")
		err := open(t, tlsURL(port, pgPassword, with(map[string]string{"sslcert": stranger.CertFile, "sslkey": stranger.KeyFile})))
		require.ErrorContains(t, err, "database.url (sslcert, sslkey): the server wants a client certificate it trusts")
	})
	t.Run("RotatedClientCertificateIsSentFromTheNextConnection", func(t *testing.T) {
		t.Parallel()
		// The files as a Secret volume holds them: rotation replaces what they hold, not their paths.
		dir := t.TempDir()
		certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
		ca.Client(t, "postgres").InstallAt(t, certFile, keyFile)
		s, err := store.Open(t.Context(), store.Config{URL: tlsURL(port, pgPassword, with(map[string]string{"sslcert": certFile, "sslkey": keyFile}))})
		require.NoError(t, err)
		defer s.Close()

		// A certificate the server does not trust: were the files read once, at start, the next
		// connection would still sign in with the first one.
		other.Client(t, "postgres").InstallAt(t, certFile, keyFile)
		s.CloseConnections()
		err = s.Ping(t.Context())
		require.ErrorContains(t, err, "database.url (sslcert, sslkey): the server")
		require.NotContains(t, err.Error(), pgPassword)

		// The renewed certificate: the next connection signs in with it, without a restart.
		ca.Client(t, "postgres").InstallAt(t, certFile, keyFile)
		s.CloseConnections()
		require.NoError(t, s.Ping(t.Context()))
	})
	t.Run("TLSSettingsThatDoNotApply", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		garbage := filepath.Join(dir, "garbage.pem")
		require.NoError(t, os.WriteFile(garbage, []byte("not a key"), 0o600))
		for name, c := range map[string]struct {
			params map[string]string
			want   string
		}{
			"MissingKey":   {map[string]string{"sslkey": filepath.Join(dir, "absent.key")}, "unable to read sslkey"},
			"KeyNotPEM":    {map[string]string{"sslkey": garbage}, "failed to decode sslkey"},
			"MissingCA":    {map[string]string{"sslrootcert": filepath.Join(dir, "absent.crt")}, "unable to read CA file"},
			"KeyOfAnother": {map[string]string{"sslkey": other.Client(t, "postgres").KeyFile}, "do not make a pair"},
			"CertNoKey":    {map[string]string{"sslkey": ""}, `both "sslcert" and "sslkey" are required`},
			"BadMode":      {map[string]string{"sslmode": "verify_full"}, "sslmode is invalid"},
		} {
			err := open(t, tlsURL(port, pgPassword, with(c.params)))
			require.ErrorContains(t, err, "database.url (sslmode, sslrootcert, sslcert, sslkey): the TLS settings do not apply: ", name)
			require.ErrorContains(t, err, c.want, name)
			require.NotContains(t, err.Error(), "not a key", name)
		}
	})
	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		err := open(t, tlsURL(port, "not-"+pgPassword, full))
		require.ErrorContains(t, err, "database.url (user and password, or client certificate's name): the server refused the sign-in")
		require.NotContains(t, err.Error(), "not-"+pgPassword)
	})
	t.Run("WithoutTLS", func(t *testing.T) {
		t.Parallel()
		err := open(t, tlsURL(port, pgPassword, map[string]string{"sslmode": "disable"}))
		require.ErrorContains(t, err, "no pg_hba.conf entry")
	})
}
