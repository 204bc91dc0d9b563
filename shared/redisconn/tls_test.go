package redisconn_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/devenv"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/tlsconf"
)

// redisPassword is the ACL user's password; no error may quote it.
const redisPassword = "pw-Redis-5ecret"

// startTLSRedis starts a redis-server that listens with TLS only, verifies client certificates
// against ca and signs in the ACL user vecron alone. It returns the server's address.
func startTLSRedis(t *testing.T, ca *testenv.CA) string {
	t.Helper()
	server := ca.Server(t)
	dir := t.TempDir()
	for range 5 {
		port := testenv.FreePort(t)
		p, err := devenv.StartRedis(t.Context(), devenv.RedisConfig{DataDir: dir, Port: port,
			TLS:  &devenv.ServerTLS{CertFile: server.CertFile, KeyFile: server.KeyFile, ClientCAFile: ca.File},
			User: "vecron", Password: redisPassword}, testenv.Logger(t))
		if errors.Is(err, devenv.ErrPortInUse) {
			continue
		}
		if errors.Is(err, devenv.ErrNotInstalled) && os.Getenv("CI") != "true" {
			t.Skip(err)
		}
		require.NoError(t, err)
		t.Cleanup(func() { _ = p.Stop(context.Background()) })
		require.True(t, strings.HasPrefix(p.URL, "rediss://vecron:"), "the URL carries the user")
		return fmt.Sprintf("127.0.0.1:%d", port)
	}
	t.Fatal("five free ports in a row were taken before redis-server could listen on them")
	return ""
}

func TestRedisOverTLSWithClientCertificatesAndAnACLUser(t *testing.T) {
	t.Parallel()
	ca, other := testenv.NewCA(t, "redis CA"), testenv.NewCA(t, "other CA")
	addr := startTLSRedis(t, ca)
	good := ca.Client(t, "vecron")
	url := "rediss://vecron:" + redisPassword + "@" + addr + "/0"
	ping := func(t *testing.T, cfg redisconn.Config) error {
		t.Helper()
		rdb, err := redisconn.Open(cfg, "lease", nil, nil)
		require.NoError(t, err)
		defer rdb.Close()
		err = rdb.Ping(t.Context()).Err()
		if err != nil {
			require.NotContains(t, err.Error(), redisPassword)
		}
		return err
	}

	t.Run("ClientCertificateAndACLUser", func(t *testing.T) {
		t.Parallel()
		prefix := testenv.Name(t) + ":" // a server of this test's own: no other test's keys
		rdb, err := redisconn.Open(redisconn.Config{URL: url, TLS: tlsconf.Config{CAFile: ca.File,
			CertFile: good.CertFile, KeyFile: good.KeyFile, MinVersion: "1.3"}}, "breaker", nil, nil)
		require.NoError(t, err)
		defer rdb.Close()
		require.NoError(t, rdb.Set(t.Context(), prefix+"k", "v", 0).Err())
		who, err := rdb.Do(t.Context(), "ACL", "WHOAMI").Text()
		require.NoError(t, err)
		require.Equal(t, "vecron", who)
	})
	t.Run("WrongCA", func(t *testing.T) {
		t.Parallel()
		err := ping(t, redisconn.Config{URL: url, TLS: tlsconf.Config{CAFile: other.File, CertFile: good.CertFile, KeyFile: good.KeyFile}})
		require.ErrorContains(t, err, "redis.tls.ca_file: the server's certificate is not signed by a CA trusted there")
	})
	t.Run("SystemRootsOnly", func(t *testing.T) {
		t.Parallel()
		err := ping(t, redisconn.Config{URL: url, TLS: tlsconf.Config{CertFile: good.CertFile, KeyFile: good.KeyFile}})
		require.ErrorContains(t, err, "redis.tls.ca_file: ")
	})
	t.Run("NoClientCertificate", func(t *testing.T) {
		t.Parallel()
		err := ping(t, redisconn.Config{URL: url, TLS: tlsconf.Config{CAFile: ca.File}})
		require.ErrorContains(t, err, "redis.tls.cert_file: the server refused the client certificate")
	})
	t.Run("WrongPassword", func(t *testing.T) {
		t.Parallel()
		wrong := "rediss://vecron:not-" + redisPassword + "@" + addr + "/0"
		err := ping(t, redisconn.Config{URL: wrong, TLS: tlsconf.Config{CAFile: ca.File, CertFile: good.CertFile, KeyFile: good.KeyFile}})
		require.ErrorContains(t, err, "WRONGPASS")
		require.NotContains(t, err.Error(), "not-"+redisPassword)
	})
	t.Run("NoUser", func(t *testing.T) {
		t.Parallel()
		err := ping(t, redisconn.Config{URL: "rediss://" + addr + "/0", TLS: tlsconf.Config{CAFile: ca.File, CertFile: good.CertFile, KeyFile: good.KeyFile}})
		require.ErrorContains(t, err, "NOAUTH")
	})
	t.Run("RotatedClientCertificateWithoutANewClient", func(t *testing.T) {
		t.Parallel()
		// The mounted files first hold a certificate of a CA the server does not trust (a
		// Secret issued by the wrong issuer); the Secret is then fixed in place.
		stranger := other.Client(t, "vecron")
		dir := t.TempDir()
		cfg := tlsconf.Config{CAFile: ca.File, CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")}
		stranger.InstallAt(t, cfg.CertFile, cfg.KeyFile)
		var logs testenv.LogBuffer
		rdb, err := redisconn.Open(redisconn.Config{URL: url, TLS: cfg}, "lease", nil, slog.New(slog.NewTextHandler(&logs, nil)))
		require.NoError(t, err)
		defer rdb.Close()
		require.ErrorContains(t, rdb.Ping(t.Context()).Err(), "redis.tls.cert_file: ")

		good.InstallAt(t, cfg.CertFile, cfg.KeyFile)
		require.NoError(t, rdb.Ping(t.Context()).Err())

		// A rotation half done: the renewed certificate is written, its key not yet. The next
		// connection signs in with the last good pair, and one line says so.
		testenv.CopyFile(t, ca.Client(t, "vecron").CertFile, cfg.CertFile)
		held := rdb.Conn() // the connection already open; the next one is dialled
		defer held.Close()
		require.NoError(t, held.Ping(t.Context()).Err())
		fresh := rdb.Conn()
		defer fresh.Close()
		require.NoError(t, fresh.Ping(t.Context()).Err())
		require.Equal(t, 1, strings.Count(logs.String(), "tls files do not read; the last good ones stay in use"), logs.String())
		require.Contains(t, logs.String(), "redis.tls.cert_file")
		require.Contains(t, logs.String(), "redis_client=lease")
	})
}

func TestOpenRefusesTLSSettingsThatCannotApply(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t, "CA")
	tests := map[string]struct {
		cfg  redisconn.Config
		want string
	}{
		"PlainURL": {redisconn.Config{URL: "redis://127.0.0.1:6379/0", TLS: tlsconf.Config{CAFile: ca.File}},
			"redis.tls: TLS settings need a rediss:// URL in redis.url"},
		"SkipVerifyInTheURL": {redisconn.Config{URL: "rediss://u:" + redisPassword + "@127.0.0.1:6380/0?skip_verify=true"},
			"redis.url: skip_verify is refused outside vecron dev"},
		"InsecureSetting": {redisconn.Config{URL: "rediss://127.0.0.1:6380/0", TLS: tlsconf.Config{InsecureSkipVerify: true}},
			"redis.tls.insecure_skip_verify: is refused outside vecron dev"},
		"MissingCAFile": {redisconn.Config{URL: "rediss://127.0.0.1:6380/0", TLS: tlsconf.Config{CAFile: "/nonexistent/ca.pem"}},
			"redis.tls.ca_file: open /nonexistent/ca.pem"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := redisconn.Open(tt.cfg, "lease", nil, nil)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), redisPassword)
		})
	}
	// vecron dev may skip verification, for a local server with a self-signed certificate.
	rdb, err := redisconn.Open(redisconn.Config{URL: "rediss://127.0.0.1:6380/0?skip_verify=true",
		TLS: tlsconf.Config{Development: true}}, "lease", nil, nil)
	require.NoError(t, err)
	require.NoError(t, rdb.Close())
}
