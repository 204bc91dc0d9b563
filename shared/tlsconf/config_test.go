package tlsconf_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/tlsconf"
)

func TestNewRefusesBadSettingsNamingThem(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t, "CA")
	client, other := ca.Client(t, "vecron"), ca.Client(t, "other")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	// Secret-looking content that must never reach an error.
	const secret = "s3cret-key-material"
	garbageKey := write("garbage.key", "-----BEGIN PRIVATE KEY-----\n"+secret+"\n-----END PRIVATE KEY-----\n")
	plainKey := write("plain.key", secret)
	notPEM := write("not.pem", secret)

	tests := map[string]struct {
		cfg  tlsconf.Config
		want string
	}{
		"CertWithoutKey":           {tlsconf.Config{CertFile: client.CertFile}, "redis.tls.key_file: is required with redis.tls.cert_file"},
		"KeyWithoutCert":           {tlsconf.Config{KeyFile: client.KeyFile}, "redis.tls.cert_file: is required with redis.tls.key_file"},
		"InsecureOutsideDev":       {tlsconf.Config{InsecureSkipVerify: true}, "redis.tls.insecure_skip_verify: is refused outside vecron dev"},
		"InsecureWithCA":           {tlsconf.Config{InsecureSkipVerify: true, Development: true, CAFile: ca.File}, "redis.tls.insecure_skip_verify: set it or redis.tls.ca_file, not both"},
		"ServerNameWithSpace":      {tlsconf.Config{ServerName: "redis example"}, "redis.tls.server_name: is not a host name"},
		"ServerNameWithWildcard":   {tlsconf.Config{ServerName: "*.example.com"}, "redis.tls.server_name: is not a host name"},
		"ServerNameWithControl":    {tlsconf.Config{ServerName: "a\nb"}, "redis.tls.server_name: is not a host name"},
		"OldVersion":               {tlsconf.Config{MinVersion: "1.1"}, `redis.tls.min_version: "1.1" is not 1.2 or 1.3`},
		"MissingCAFile":            {tlsconf.Config{CAFile: filepath.Join(dir, "none.pem")}, "redis.tls.ca_file: open " + filepath.Join(dir, "none.pem")},
		"CAFileWithoutCertificate": {tlsconf.Config{CAFile: notPEM}, "redis.tls.ca_file: " + notPEM + " holds no PEM certificate"},
		"CAFileHoldingAKey":        {tlsconf.Config{CAFile: client.KeyFile}, "holds no PEM certificate"},
		"MissingKeyFile":           {tlsconf.Config{CertFile: client.CertFile, KeyFile: filepath.Join(dir, "none.key")}, "redis.tls.key_file: open "},
		"KeyOfAnotherCertificate":  {tlsconf.Config{CertFile: client.CertFile, KeyFile: other.KeyFile}, "redis.tls.cert_file, redis.tls.key_file: the key does not belong to the certificate"},
		"GarbageKey":               {tlsconf.Config{CertFile: client.CertFile, KeyFile: garbageKey}, "the key file holds no PEM private key"},
		"KeyNotPEM":                {tlsconf.Config{CertFile: client.CertFile, KeyFile: plainKey}, "the key file holds no PEM private key"},
		"CertificateIsAKey":        {tlsconf.Config{CertFile: client.KeyFile, KeyFile: client.KeyFile}, "the certificate file holds no PEM certificate"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := tlsconf.New("redis.tls", tt.cfg)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), secret)
		})
	}
}

func TestNewAcceptsGoodSettings(t *testing.T) {
	t.Parallel()
	ca := testenv.NewCA(t, "CA")
	client := ca.Client(t, "vecron")

	cl, err := tlsconf.New("nats.tls", tlsconf.Config{CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile,
		ServerName: "nats.vecron.svc.cluster.local", MinVersion: "1.3"})
	require.NoError(t, err)
	require.Equal(t, "nats.tls", cl.Section())
	tc := cl.TLSConfig()
	require.Equal(t, uint16(tls.VersionTLS13), tc.MinVersion)
	require.Equal(t, "nats.vecron.svc.cluster.local", tc.ServerName)
	require.NotNil(t, tc.RootCAs)
	require.NotNil(t, tc.GetClientCertificate)
	require.False(t, tc.InsecureSkipVerify)

	// Nothing set: the system roots, TLS 1.2 at least, no client certificate.
	cl, err = tlsconf.New("nats.tls", tlsconf.Config{})
	require.NoError(t, err)
	tc = cl.TLSConfig()
	require.Equal(t, uint16(tls.VersionTLS12), tc.MinVersion)
	require.Nil(t, tc.RootCAs)
	require.Nil(t, tc.GetClientCertificate)
	pool, err := cl.RootCAs()
	require.NoError(t, err)
	require.Nil(t, pool)

	// vecron dev may skip verification, for a local server with a self-signed certificate.
	cl, err = tlsconf.New("nats.tls", tlsconf.Config{InsecureSkipVerify: true, Development: true})
	require.NoError(t, err)
	require.True(t, cl.TLSConfig().InsecureSkipVerify)
}

func TestEnabled(t *testing.T) {
	t.Parallel()
	require.False(t, tlsconf.Config{}.Enabled())
	require.False(t, tlsconf.Config{Development: true}.Enabled(), "vecron dev alone asks for nothing")
	for _, c := range []tlsconf.Config{{CAFile: "x"}, {CertFile: "x"}, {KeyFile: "x"}, {ServerName: "x"},
		{InsecureSkipVerify: true}, {MinVersion: "1.3"}} {
		require.True(t, c.Enabled(), "%+v", c)
	}
}
