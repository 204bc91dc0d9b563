package queue_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/tlsconf"
)

// natsPassword is the password of the user/password server; no error or log line may quote it.
const natsPassword = "pw-Nats-5ecret"

// startTLSNATS runs a NATS server with JetStream in this process, listening with TLS only and
// verifying client certificates against ca; auth adds its users (or operator). It returns
// host:port.
func startTLSNATS(t *testing.T, ca *testenv.CA, auth func(*server.Options)) string {
	t.Helper()
	crt := ca.Server(t)
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: crt.CertFile, KeyFile: crt.KeyFile, CaFile: ca.File, Verify: true})
	require.NoError(t, err)
	opts := &server.Options{
		Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(),
		TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 5,
	}
	auth(opts)
	ns, err := server.NewServer(opts)
	require.NoError(t, err)
	ns.SetLoggerV2(serverLog{testenv.Logger(t)}, false, false, false)
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	require.True(t, ns.ReadyForConnections(10*time.Second), "the NATS server did not come up")
	return ns.Addr().String()
}

// serverLog shows the embedded server's warnings and errors with the test's output.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Noticef(string, ...any) {}
func (l serverLog) Debugf(string, ...any)  {}
func (l serverLog) Tracef(string, ...any)  {}
func (l serverLog) Warnf(f string, v ...any) {
	l.log.Warn("nats server", "detail", fmt.Sprintf(f, v...))
}
func (l serverLog) Errorf(f string, v ...any) {
	l.log.Error("nats server", "detail", fmt.Sprintf(f, v...))
}
func (l serverLog) Fatalf(f string, v ...any) {
	l.log.Error("nats server fatal", "detail", fmt.Sprintf(f, v...))
}

func writeSecret(t *testing.T, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, content, 0o600))
	return p
}

// userSeed returns a new NKey user's seed file and public key.
func userSeed(t *testing.T) (file, public string, seed []byte) {
	t.Helper()
	kp, err := nkeys.CreateUser()
	require.NoError(t, err)
	seed, err = kp.Seed()
	require.NoError(t, err)
	public, err = kp.PublicKey()
	require.NoError(t, err)
	return writeSecret(t, "user.nk", seed), public, seed
}

// operator is a NATS operator with one account that may use JetStream, as nsc would make it.
type operator struct {
	claims  *jwt.OperatorClaims
	account nkeys.KeyPair
	pub     string
	jwt     string
	// The system account, which JetStream needs in operator mode.
	sysPub, sysJWT string
}

func newOperator(t *testing.T) operator {
	t.Helper()
	okp, err := nkeys.CreateOperator()
	require.NoError(t, err)
	opub, err := okp.PublicKey()
	require.NoError(t, err)
	skp, err := nkeys.CreateAccount()
	require.NoError(t, err)
	spub, err := skp.PublicKey()
	require.NoError(t, err)
	oc := jwt.NewOperatorClaims(opub)
	oc.Name = "vecron-test"
	oc.SystemAccount = spub
	_, err = oc.Encode(okp) // sets the issuer the server checks the accounts against
	require.NoError(t, err)
	sc := jwt.NewAccountClaims(spub)
	sc.Name = "SYS"
	sjwt, err := sc.Encode(okp)
	require.NoError(t, err)
	akp, err := nkeys.CreateAccount()
	require.NoError(t, err)
	apub, err := akp.PublicKey()
	require.NoError(t, err)
	ac := jwt.NewAccountClaims(apub)
	ac.Name = "VECRON"
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	ajwt, err := ac.Encode(okp)
	require.NoError(t, err)
	return operator{claims: oc, account: akp, pub: apub, jwt: ajwt, sysPub: spub, sysJWT: sjwt}
}

// creds returns a credentials file of a new user of the operator's account.
func (o operator) creds(t *testing.T) (file string, seed []byte) {
	t.Helper()
	return credsOf(t, o.account)
}

func credsOf(t *testing.T, account nkeys.KeyPair) (file string, seed []byte) {
	t.Helper()
	ukp, err := nkeys.CreateUser()
	require.NoError(t, err)
	upub, err := ukp.PublicKey()
	require.NoError(t, err)
	uc := jwt.NewUserClaims(upub)
	uc.Name = "vecron"
	ujwt, err := uc.Encode(account)
	require.NoError(t, err)
	seed, err = ukp.Seed()
	require.NoError(t, err)
	b, err := jwt.FormatUserConfig(ujwt, seed)
	require.NoError(t, err)
	return writeSecret(t, "user.creds", b), seed
}

func (o operator) serve(opts *server.Options) {
	opts.TrustedOperators = []*jwt.OperatorClaims{o.claims}
	r := &server.MemAccResolver{}
	_ = r.Store(o.pub, o.jwt) // a map's store: never fails
	_ = r.Store(o.sysPub, o.sysJWT)
	opts.AccountResolver = r
	opts.SystemAccount = o.sysPub
}

// connectAndUse connects with cfg, makes vecron's streams, publishes a due event and pulls it.
func connectAndUse(t *testing.T, cfg queue.ConnConfig, log *slog.Logger) error {
	t.Helper()
	ctx := t.Context()
	nc, js, err := queue.Connect(ctx, cfg, "vecron-test", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	names := cfg.Names()
	require.NoError(t, queue.EnsureStreams(ctx, js, names, queue.StreamsConfig{}))
	_, err = js.Publish(ctx, names.DueSubject(domain.KindHTTP), []byte("due"))
	require.NoError(t, err)
	cons, err := js.CreateOrUpdateConsumer(ctx, names.DueStream(), jetstream.ConsumerConfig{
		Durable: names.DueConsumer(domain.KindHTTP), FilterSubject: names.DueSubject(domain.KindHTTP), AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(10*time.Second))
	require.NoError(t, err)
	n := 0
	for msg := range batch.Messages() {
		require.Equal(t, "due", string(msg.Data()))
		require.NoError(t, msg.Ack())
		n++
	}
	require.NoError(t, batch.Error())
	require.Equal(t, 1, n)
	return nil
}

func TestNATSOverTLS(t *testing.T) {
	t.Parallel()
	ca, other := testenv.NewCA(t, "nats CA"), testenv.NewCA(t, "other CA")
	client := ca.Client(t, "vecron")
	tlsOK := tlsconf.Config{CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile}
	var logs testenv.LogBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	secrets := []string{natsPassword}
	t.Cleanup(func() {
		for _, s := range secrets {
			require.NotContains(t, logs.String(), s)
		}
	})
	requireFails := func(t *testing.T, err error, want string, secret []byte) {
		t.Helper()
		require.ErrorContains(t, err, want)
		require.NotContains(t, err.Error(), natsPassword)
		if secret != nil {
			require.NotContains(t, err.Error(), string(secret))
		}
	}

	t.Run("UserAndPassword", func(t *testing.T) {
		t.Parallel()
		addr := startTLSNATS(t, ca, func(o *server.Options) {
			o.Users = []*server.User{{Username: "vecron", Password: natsPassword}}
		})
		url := "nats://vecron:" + natsPassword + "@" + addr
		require.NoError(t, connectAndUse(t, queue.ConnConfig{URL: url, Prefix: testenv.Name(t), TLS: tlsOK}, log))
		// The same server by its tls:// scheme, asking for TLS 1.3.
		tls13 := tlsOK
		tls13.MinVersion = "1.3"
		require.NoError(t, connectAndUse(t, queue.ConnConfig{URL: "tls://vecron:" + natsPassword + "@" + addr, Prefix: testenv.Name(t), TLS: tls13}, log))

		t.Run("WrongCA", func(t *testing.T) {
			_, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: url, TLS: tlsconf.Config{CAFile: other.File,
				CertFile: client.CertFile, KeyFile: client.KeyFile}}, "vecron-test", log)
			requireFails(t, err, "nats.tls.ca_file: the server's certificate is not signed by a CA trusted there", nil)
		})
		t.Run("NoClientCertificate", func(t *testing.T) {
			_, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: url, TLS: tlsconf.Config{CAFile: ca.File}}, "vecron-test", log)
			requireFails(t, err, "nats.tls.cert_file: ", nil)
		})
		t.Run("ClientCertificateOfAnotherCA", func(t *testing.T) {
			stranger := other.Client(t, "vecron")
			_, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: url, TLS: tlsconf.Config{CAFile: ca.File,
				CertFile: stranger.CertFile, KeyFile: stranger.KeyFile}}, "vecron-test", log)
			requireFails(t, err, "nats.tls.cert_file: ", nil)
		})
		t.Run("NoTLSSettings", func(t *testing.T) {
			// The system roots do not hold the test CA.
			_, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: "tls://vecron:" + natsPassword + "@" + addr}, "vecron-test", log)
			requireFails(t, err, "nats.tls.ca_file: ", nil)
		})
		t.Run("WrongPassword", func(t *testing.T) {
			_, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: "nats://vecron:wrong-" + natsPassword + "@" + addr, TLS: tlsOK}, "vecron-test", log)
			requireFails(t, err, "nats.url (user and password, or token): the server refused the credentials", nil)
		})
	})

	t.Run("NKey", func(t *testing.T) {
		t.Parallel()
		seedFile, public, seed := userSeed(t)
		addr := startTLSNATS(t, ca, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: public}} })
		url := "nats://" + addr
		require.NoError(t, connectAndUse(t, queue.ConnConfig{URL: url, Prefix: testenv.Name(t), TLS: tlsOK, NkeyFile: seedFile}, log))

		t.Run("WrongNKey", func(t *testing.T) {
			stranger, _, strangerSeed := userSeed(t)
			_, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: url, TLS: tlsOK, NkeyFile: stranger}, "vecron-test", log)
			requireFails(t, err, "nats.nkey_file: the server refused the credentials", strangerSeed)
			require.NotContains(t, logs.String(), string(strangerSeed))
		})
		t.Run("NoNKey", func(t *testing.T) {
			_, _, err := queue.Connect(t.Context(), queue.ConnConfig{URL: url, TLS: tlsOK}, "vecron-test", log)
			requireFails(t, err, "the server refused the credentials", nil)
		})
		require.NotContains(t, logs.String(), string(seed))
	})

	t.Run("OperatorModeCreds", func(t *testing.T) {
		t.Parallel()
		op := newOperator(t)
		credsFile, seed := op.creds(t)
		addr := startTLSNATS(t, ca, op.serve)
		url := "tls://" + addr
		require.NoError(t, connectAndUse(t, queue.ConnConfig{URL: url, Prefix: testenv.Name(t), TLS: tlsOK, CredsFile: credsFile}, log))

		t.Run("UserOfAnUnknownAccount", func(t *testing.T) {
			unknown, err := nkeys.CreateAccount()
			require.NoError(t, err)
			strangerCreds, strangerSeed := credsOf(t, unknown)
			_, _, err = queue.Connect(t.Context(), queue.ConnConfig{URL: url, TLS: tlsOK, CredsFile: strangerCreds}, "vecron-test", log)
			requireFails(t, err, "nats.creds_file: the server refused the credentials", strangerSeed)
		})
		require.NotContains(t, logs.String(), string(seed))
	})
}

func TestConnectRefusesCredentialSettingsThatCannotApply(t *testing.T) {
	t.Parallel()
	seedFile, _, seed := userSeed(t)
	op := newOperator(t)
	credsFile, credsSeed := op.creds(t)
	jwtOnly := writeSecret(t, "jwt-only.creds", []byte("-----BEGIN NATS USER JWT-----\neyJhbGciOi.e30.sig\n------END NATS USER JWT------\n"))
	garbage := writeSecret(t, "garbage", []byte("SUnot-a-seed-"+natsPassword))
	akp, err := nkeys.CreateAccount()
	require.NoError(t, err)
	aseed, err := akp.Seed()
	require.NoError(t, err)
	accountSeed := writeSecret(t, "account.nk", aseed)
	url := "nats://" + testenv.RefusedAddr(t).String()
	tests := map[string]struct {
		cfg  queue.ConnConfig
		want string
	}{
		"CredsAndNKey":        {queue.ConnConfig{CredsFile: credsFile, NkeyFile: seedFile}, "nats.creds_file: set it or nats.nkey_file, not both"},
		"CredsAndURLUser":     {queue.ConnConfig{URL: "nats://a:4222,nats://vecron:" + natsPassword + "@b:4222", CredsFile: credsFile}, "nats.url: holds a user, password or token; with nats.creds_file give none"},
		"NKeyAndURLToken":     {queue.ConnConfig{URL: "nats://" + natsPassword + "@b:4222", NkeyFile: seedFile}, "nats.url: holds a user, password or token; with nats.nkey_file give none"},
		"MissingCreds":        {queue.ConnConfig{CredsFile: "/nonexistent/user.creds"}, "nats.creds_file: cannot be read: open /nonexistent/user.creds"},
		"CredsWithoutJWT":     {queue.ConnConfig{CredsFile: seedFile}, "nats.creds_file: holds no user JWT"},
		"CredsWithoutSeed":    {queue.ConnConfig{CredsFile: jwtOnly}, "nats.creds_file: holds no user NKey seed"},
		"MissingNKey":         {queue.ConnConfig{NkeyFile: "/nonexistent/user.nk"}, "nats.nkey_file: cannot be read: open /nonexistent/user.nk"},
		"NKeyNotASeed":        {queue.ConnConfig{NkeyFile: garbage}, "nats.nkey_file: holds no NKey user seed"},
		"NKeyOfAnAccount":     {queue.ConnConfig{NkeyFile: accountSeed}, "nats.nkey_file: holds no NKey user seed"},
		"NKeyIsADirectory":    {queue.ConnConfig{NkeyFile: t.TempDir()}, "nats.nkey_file: cannot be read: read "},
		"CredsIsADirectory":   {queue.ConnConfig{CredsFile: t.TempDir()}, "nats.creds_file: cannot be read: read "},
		"CredsPathWithTilde":  {queue.ConnConfig{CredsFile: "~/vecron-none/user.creds"}, "nats.creds_file: open ~/vecron-none/user.creds: no such file or directory (the path is used as written: $ and ~ are not expanded)"},
		"NKeyPathWithVar":     {queue.ConnConfig{NkeyFile: "$HOME/vecron-none/user.nk"}, "(the path is used as written: $ and ~ are not expanded)"},
		"InsecureOutsideDev":  {queue.ConnConfig{TLS: tlsconf.Config{InsecureSkipVerify: true}}, "nats.tls.insecure_skip_verify: is refused outside vecron dev"},
		"CertWithoutKey":      {queue.ConnConfig{TLS: tlsconf.Config{CertFile: seedFile}}, "nats.tls.key_file: is required with nats.tls.cert_file"},
		"MissingCAFile":       {queue.ConnConfig{TLS: tlsconf.Config{CAFile: "/nonexistent/ca.pem"}}, "nats.tls.ca_file: open /nonexistent/ca.pem"},
		"ServerNameWithSpace": {queue.ConnConfig{TLS: tlsconf.Config{ServerName: "a b"}}, "nats.tls.server_name: is not a host name"},
	}
	if os.Geteuid() != 0 { // root reads any file
		unreadable := writeSecret(t, "unreadable.nk", seed)
		require.NoError(t, os.Chmod(unreadable, 0))
		tests["NKeyUnreadable"] = struct {
			cfg  queue.ConnConfig
			want string
		}{queue.ConnConfig{NkeyFile: unreadable}, "nats.nkey_file: cannot be read: open " + unreadable + ": permission denied"}
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			if cfg.URL == "" {
				cfg.URL = url
			}
			_, _, err := queue.Connect(t.Context(), cfg, "vecron-test", slog.New(slog.DiscardHandler))
			require.Error(t, err)
			require.ErrorContains(t, err, tt.want)
			for _, s := range []string{natsPassword, string(seed), string(credsSeed), string(aseed)} {
				require.NotContains(t, err.Error(), s)
			}
		})
	}
}

func TestCredentialFilesAreReadAtEveryConnection(t *testing.T) {
	t.Parallel()
	// A server that knows one NKey user; the mounted seed file first holds another user's seed
	// (a Secret not yet rotated), then the right one. Connect reads it at each attempt.
	seedFile, public, _ := userSeed(t)
	ca := testenv.NewCA(t, "nats CA")
	client := ca.Client(t, "vecron")
	addr := startTLSNATS(t, ca, func(o *server.Options) { o.Nkeys = []*server.NkeyUser{{Nkey: public}} })
	right, err := os.ReadFile(seedFile)
	require.NoError(t, err)
	_, _, wrong := userSeed(t)
	mounted := writeSecret(t, "mounted.nk", wrong)
	cfg := queue.ConnConfig{URL: "nats://" + addr, Prefix: testenv.Name(t), NkeyFile: mounted,
		TLS: tlsconf.Config{CAFile: ca.File, CertFile: client.CertFile, KeyFile: client.KeyFile}}
	_, _, err = queue.Connect(t.Context(), cfg, "vecron-test", slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "nats.nkey_file: the server refused the credentials")

	require.NoError(t, os.WriteFile(mounted+".new", right, 0o600))
	require.NoError(t, os.Rename(mounted+".new", mounted))
	require.NoError(t, connectAndUse(t, cfg, slog.New(slog.DiscardHandler)))
}
