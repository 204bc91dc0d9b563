package tlsconf_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/tlsconf"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// peerServer is a TLS server that requires a client certificate signed by its CA and answers
// each connection with the common name of the certificate it got.
func peerServer(t *testing.T, server testenv.CertFiles, clientCA *testenv.CA) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(server.CertFile, server.KeyFile)
	require.NoError(t, err)
	pem, err := os.ReadFile(clientCA.File)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(pem))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	})
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				tc := conn.(*tls.Conn)
				if tc.Handshake() != nil {
					return
				}
				_, _ = conn.Write([]byte(tc.ConnectionState().PeerCertificates[0].Subject.CommonName + "\n"))
			})
		}
	})
	return ln.Addr().String()
}

// commonName connects to a peerServer with cfg and returns the name the server saw.
func commonName(addr string, cfg *tls.Config) (string, error) {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	line, err := bufio.NewReader(conn).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestARotatedClientCertificateIsSentFromTheNextHandshake(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t, "rotation CA")
	addr := peerServer(t, ca.Server(t), ca)
	first, second := ca.Client(t, "first"), ca.Client(t, "second")

	dir := t.TempDir()
	cfg := tlsconf.Config{CAFile: ca.File, CertFile: filepath.Join(dir, "tls.crt"), KeyFile: filepath.Join(dir, "tls.key")}
	testenv.CopyFile(t, first.CertFile, cfg.CertFile)
	testenv.CopyFile(t, first.KeyFile, cfg.KeyFile)
	cl, err := tlsconf.New("redis.tls", cfg)
	require.NoError(t, err)
	// One configuration for every connection, as a pool of connections holds it.
	tc := cl.TLSConfig()

	got, err := commonName(addr, tc)
	require.NoError(t, err)
	require.Equal(t, "first", got)

	// Half a rotation: the new certificate is there, its key not yet. The pair in use stays.
	testenv.CopyFile(t, second.CertFile, cfg.CertFile)
	got, err = commonName(addr, tc)
	require.NoError(t, err)
	require.Equal(t, "first", got)

	testenv.CopyFile(t, second.KeyFile, cfg.KeyFile)
	got, err = commonName(addr, tc)
	require.NoError(t, err)
	require.Equal(t, "second", got)

	// A file gone (a Secret deleted and not yet recreated) leaves the last pair in use too.
	require.NoError(t, os.Remove(cfg.KeyFile))
	got, err = commonName(addr, tc)
	require.NoError(t, err)
	require.Equal(t, "second", got)
}

// TestAKubernetesSecretVolumeSwapIsFollowed rotates the files the way the kubelet updates a
// Secret volume: the visible names are links through ..data to a directory of the current
// version, and ..data is swapped to a new directory in one rename.
func TestAKubernetesSecretVolumeSwapIsFollowed(t *testing.T) {
	t.Parallel()
	oldCA, newCA := testenv.NewCA(t, "old CA"), testenv.NewCA(t, "new CA")
	vol := t.TempDir()
	version := func(name string, ca *testenv.CA, client testenv.CertFiles) {
		dir := filepath.Join(vol, name)
		require.NoError(t, os.Mkdir(dir, 0o755))
		testenv.CopyFile(t, ca.File, filepath.Join(dir, "ca.crt"))
		testenv.CopyFile(t, client.CertFile, filepath.Join(dir, "tls.crt"))
		testenv.CopyFile(t, client.KeyFile, filepath.Join(dir, "tls.key"))
		require.NoError(t, os.Symlink(name, filepath.Join(vol, "..data_tmp")))
		require.NoError(t, os.Rename(filepath.Join(vol, "..data_tmp"), filepath.Join(vol, "..data")))
	}
	version("..2026_12_06_10_00_00.1", oldCA, oldCA.Client(t, "old"))
	for _, f := range []string{"ca.crt", "tls.crt", "tls.key"} {
		require.NoError(t, os.Symlink(filepath.Join("..data", f), filepath.Join(vol, f)))
	}
	cl, err := tlsconf.New("nats.tls", tlsconf.Config{CAFile: filepath.Join(vol, "ca.crt"),
		CertFile: filepath.Join(vol, "tls.crt"), KeyFile: filepath.Join(vol, "tls.key")})
	require.NoError(t, err)

	// The servers moved to the new CA first; the old files trust it not.
	newServer := peerServer(t, newCA.Server(t), newCA)
	_, err = commonName(newServer, cl.TLSConfig())
	require.Error(t, err)
	require.ErrorContains(t, tlsconf.Explain(err, tlsconf.SettingsOf("nats.tls")), "nats.tls.ca_file: the server's certificate is not signed by a CA trusted there")

	version("..2026_12_06_11_00_00.2", newCA, newCA.Client(t, "new"))
	got, err := commonName(newServer, cl.TLSConfig())
	require.NoError(t, err)
	require.Equal(t, "new", got)
	pool, err := cl.RootCAs()
	require.NoError(t, err)
	require.False(t, pool.Equal(mustPool(t, oldCA.File)))
	require.True(t, pool.Equal(mustPool(t, newCA.File)))
}

func mustPool(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(b))
	return pool
}

func TestExplainNamesTheSettingAtFault(t *testing.T) {
	t.Parallel()
	ca, other := testenv.NewCA(t, "server CA"), testenv.NewCA(t, "other CA")
	addr := peerServer(t, ca.Server(t), ca)
	names := tlsconf.SettingsOf("redis.tls")
	connect := func(c tlsconf.Config) error {
		cl, err := tlsconf.New("redis.tls", c)
		require.NoError(t, err)
		_, err = commonName(addr, cl.TLSConfig())
		require.Error(t, err)
		return tlsconf.Explain(err, names)
	}
	good := ca.Client(t, "vecron")

	t.Run("WrongCA", func(t *testing.T) {
		t.Parallel()
		err := connect(tlsconf.Config{CAFile: other.File, CertFile: good.CertFile, KeyFile: good.KeyFile})
		require.ErrorContains(t, err, "redis.tls.ca_file: ")
		var unknown x509.UnknownAuthorityError
		require.ErrorAs(t, err, &unknown, "the cause stays reachable")
	})
	t.Run("WrongName", func(t *testing.T) {
		t.Parallel()
		err := connect(tlsconf.Config{CAFile: ca.File, CertFile: good.CertFile, KeyFile: good.KeyFile, ServerName: "redis.example.com"})
		require.ErrorContains(t, err, "redis.tls.server_name: ")
	})
	t.Run("NoClientCertificate", func(t *testing.T) {
		t.Parallel()
		err := connect(tlsconf.Config{CAFile: ca.File})
		require.ErrorContains(t, err, "redis.tls.cert_file: the server refused the client certificate")
	})
	t.Run("ClientCertificateOfAnotherCA", func(t *testing.T) {
		t.Parallel()
		stranger := other.Client(t, "stranger")
		err := connect(tlsconf.Config{CAFile: ca.File, CertFile: stranger.CertFile, KeyFile: stranger.KeyFile})
		require.ErrorContains(t, err, "redis.tls.cert_file: ")
	})
	t.Run("OtherErrorsPassThrough", func(t *testing.T) {
		t.Parallel()
		err := errors.New("connection refused")
		require.Same(t, err, tlsconf.Explain(err, names))
		require.NoError(t, tlsconf.Explain(nil, names))
		_, err = net.Dial("tcp", testenv.RefusedAddr(t).String())
		require.Equal(t, err, tlsconf.Explain(err, names))
	})
}

func TestAFailedReReadIsLoggedOncePerNewError(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t, "test CA")
	client := ca.Client(t, "vecron")
	dir := t.TempDir()
	caFile, keyFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "tls.key")
	testenv.CopyFile(t, ca.File, caFile)
	testenv.CopyFile(t, client.KeyFile, keyFile)
	cl, err := tlsconf.New("nats.tls", tlsconf.Config{CAFile: caFile, CertFile: client.CertFile, KeyFile: keyFile})
	require.NoError(t, err)
	var logs testenv.LogBuffer
	cl.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	lines := func() int { return strings.Count(logs.String(), "tls files do not read") }
	key, err := os.ReadFile(client.KeyFile)
	require.NoError(t, err)
	const junk = "half-written-secret-content"

	// A CA file that no longer parses: the last good certificates stay, one line says so.
	require.NoError(t, os.WriteFile(caFile, []byte("-----BEGIN CERTIFICATE-----\n"+junk+"\n-----END CERTIFICATE-----\n"), 0o600))
	for range 3 {
		pool, err := cl.RootCAs()
		require.NoError(t, err)
		require.NotNil(t, pool)
	}
	require.Equal(t, 1, lines())
	require.Contains(t, logs.String(), "nats.tls.ca_file")
	// Another error is news.
	require.NoError(t, os.Remove(caFile))
	_, err = cl.RootCAs()
	require.NoError(t, err)
	require.Equal(t, 2, lines())
	// Mended, then broken the same way again: that is news too.
	testenv.CopyFile(t, ca.File, caFile)
	_, err = cl.RootCAs()
	require.NoError(t, err)
	require.NoError(t, os.Remove(caFile))
	_, err = cl.RootCAs()
	require.NoError(t, err)
	require.Equal(t, 3, lines())

	// A key file half rewritten: the last good pair stays, one line says so, and not the key.
	require.NoError(t, os.WriteFile(keyFile, append([]byte(junk), key[:len(key)/2]...), 0o600))
	for range 3 {
		pair, err := cl.Certificate()
		require.NoError(t, err)
		require.NotEmpty(t, pair.Certificate)
	}
	require.Equal(t, 4, lines())
	require.Contains(t, logs.String(), "nats.tls.cert_file, nats.tls.key_file")
	require.NotContains(t, logs.String(), junk)
	require.NotContains(t, logs.String(), string(key[30:60]))
}
