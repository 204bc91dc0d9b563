package apifn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/telemetry"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// startLogged runs a function with the production logger (text, debug) into a buffer of its own.
func startLogged(t *testing.T, run func(ctx context.Context, log *slog.Logger) error) *testenv.LogBuffer {
	t.Helper()
	logs := &testenv.LogBuffer{}
	log, err := telemetry.NewLogger(logs, telemetry.LogConfig{Format: "text", Level: "debug"})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, log) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the function stopped with an error: %v\n%s", err, logs.String())
		}
	})
	return logs
}

// TestNoSecretReachesALogLineOrMetrics starts the api, the tick and execute-http with a known
// secret in every secret setting — secrets.keys, auth.signing_keys, audit.keys, the database
// URL's password, an alert webhook's header and URL token, an smtp channel's password — and
// runs a job whose secret variable goes to its target, which fails and echoes it back, so
// that the job alerts. No secret is in any function's log output, at debug level, or in any
// /metrics body.
func TestNoSecretReachesALogLineOrMetrics(t *testing.T) {
	t.Parallel()
	keys, err := secret.NewKey("sec")
	require.NoError(t, err)
	signing, audit := testfactory.SigningKey(t), testfactory.AuditKey(t)
	const (
		dbPassword   = "dbpw-Zq81xK"
		hookToken    = "hooktok-Vb93Lm"
		hookPath     = "pathtok-Hc71Rw"
		smtpPassword = "smtppw-Qe54Ty"
		varSecret    = "varsec-Nw26Pj"
	)
	// The test server trusts local connections: a password in the URL is sent and not checked,
	// which is all this test needs of it. One already there is a secret too.
	u, err := url.Parse(testenv.PostgresURL(t))
	require.NoError(t, err)
	dbSecret := dbPassword
	if pw, ok := u.User.Password(); ok && pw != "" {
		dbSecret = pw
	} else {
		u.User = url.UserPassword(cmpOr(u.User.Username(), "postgres"), dbPassword)
	}
	dbURL := u.String()

	var hookCalls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookCalls.Add(1)
		// Echo what came: a channel's error must not carry it to a log line.
		http.Error(w, r.Header.Get("Authorization")+" "+r.URL.Path, http.StatusInternalServerError)
	}))
	t.Cleanup(hook.Close)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "refused "+r.Header.Get("Authorization"), http.StatusInternalServerError)
	}))
	t.Cleanup(target.Close)
	closedSMTP := testenv.FreePort(t)
	channels := filepath.Join(t.TempDir(), "channels.yaml")
	require.NoError(t, os.WriteFile(channels, fmt.Appendf(nil, `
channels:
  - {name: hook, type: webhook, url: %q, headers: {Authorization: "Bearer ${env:HOOK_TOKEN}"}}
  - {name: mail, type: smtp, host: 127.0.0.1, port: %d, from: a@example.com, to: [b@example.com], username: u, password: "${env:SMTP_PASSWORD}", insecure_plain: true}
`, hook.URL+"/hooks/"+hookPath, closedSMTP), 0o600))

	_, _, names := testenv.NATS(t)
	natsCfg := queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	redisURL, redisPrefix := testenv.RedisURL(t)

	as := apifn.DefaultSettings()
	as.Database.URL, as.Host, as.Port, as.ShutdownGrace, as.Secrets.Keys = dbURL, "127.0.0.1", 0, 5*time.Second, keys
	as.Auth.SigningKeys, as.Audit.Keys = signing, audit
	as.Redis.URL, as.Redis.KeyPrefix, as.NATS = redisURL, redisPrefix, natsCfg
	as.Admin.Addr, as.Egress = "127.0.0.1:0", egress.Loopback()
	as.Alerts.ChannelsFile, as.Alerts.Interval = channels, 100*time.Millisecond
	as.Environ = []string{"HOOK_TOKEN=" + hookToken, "SMTP_PASSWORD=" + smtpPassword}
	ready := make(chan net.Addr, 1)
	apiLogs := startLogged(t, func(ctx context.Context, log *slog.Logger) error {
		return apifn.Run(ctx, clockwork.NewRealClock(), as, log, func(a net.Addr) { ready <- a })
	})
	var api string
	select {
	case a := <-ready:
		api = "http://" + a.String()
	case <-time.After(testenv.Timeout(30 * time.Second)):
		t.Fatalf("api did not start:\n%s", apiLogs.String())
	}

	ts := tickfn.DefaultSettings()
	ts.Database.URL, ts.NATS, ts.Port, ts.Tick.Instance, ts.Admin.Addr = dbURL, natsCfg, 0, "secrets", "127.0.0.1:0"
	tickLogs := startLogged(t, func(ctx context.Context, log *slog.Logger) error {
		return tickfn.Run(ctx, clockwork.NewRealClock(), ts, log)
	})
	hs := httpfn.DefaultSettings()
	hs.Database.URL, hs.NATS, hs.Executor.WorkerID, hs.Port, hs.Admin.Addr = dbURL, natsCfg, "secrets-worker", 0, "127.0.0.1:0"
	hs.Redis.URL, hs.Redis.KeyPrefix = redisURL, redisPrefix
	hs.Secrets.Keys, hs.Egress = keys, egress.Loopback()
	execLogs := startLogged(t, func(ctx context.Context, log *slog.Logger) error {
		return httpfn.Run(ctx, clockwork.NewRealClock(), hs, log)
	})

	st, err := store.Open(t.Context(), store.Config{URL: dbURL, MaxConns: 2})
	require.NoError(t, err)
	t.Cleanup(st.Close)
	token := testfactory.AdminToken(t, st)
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, api+path, strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, b
	}

	code, b := call(http.MethodPut, "/api/v1/variables/API_TOKEN", `{"value":"`+varSecret+`","is_secret":true}`)
	require.Less(t, code, 300, string(b))
	code, b = call(http.MethodPost, "/api/v1/jobs", `{"name":"leaky","schedule":{"cron":"0 0 2 * * *"},"retry":{"max_attempts":1},
		"alert":{"after_failures":1},
		"http":{"method":"GET","url":"`+target.URL+`/run","headers":{"Authorization":"Bearer {{ var.API_TOKEN }}"}}}`)
	require.Equal(t, http.StatusCreated, code, string(b))
	var job struct{ ID string }
	require.NoError(t, json.Unmarshal(b, &job))
	code, b = call(http.MethodPost, "/api/v1/jobs/"+job.ID+"/trigger", `{}`)
	require.Equal(t, http.StatusAccepted, code, string(b))
	testenv.EventuallyWithin(t, 60*time.Second, "the run failed", func() bool {
		_, b := call(http.MethodGet, "/api/v1/jobs/"+job.ID+"/executions", "")
		return strings.Contains(string(b), `"status":"failed"`) || strings.Contains(string(b), `"status":"dead_lettered"`)
	})
	testenv.EventuallyWithin(t, 60*time.Second, "the alert went to the webhook, which refused it", func() bool {
		return hookCalls.Load() > 0 && strings.Contains(apiLogs.String(), "alert not delivered")
	})

	secrets := map[string]string{"secrets.keys": keys, "auth.signing_keys": signing, "audit.keys": audit,
		"database.url password": dbSecret, "webhook header": hookToken, "webhook URL": hookPath, "smtp password": smtpPassword,
		"secret variable": varSecret, "API token": token}
	for name, logs := range map[string]*testenv.LogBuffer{"api": apiLogs, "tick": tickLogs, "execute-http": execLogs} {
		out := logs.String()
		_, body := testenv.Get(t, "http://"+logs.AdminAddr(t)+"/metrics")
		require.Contains(t, body, "vecron_build_info")
		for what, s := range secrets {
			for _, part := range secretParts(s) {
				require.NotContains(t, out, part, "%s's log holds the %s", name, what)
				require.NotContains(t, body, part, "%s's /metrics holds the %s", name, what)
			}
		}
	}
}

// secretParts returns what of a setting's value is secret: each comma-separated key, without the
// id before its colon.
func secretParts(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		if _, v, ok := strings.Cut(k, ":"); ok && len(v) >= 8 {
			k = v
		}
		if k = strings.TrimSpace(k); len(k) >= 8 {
			out = append(out, k)
		}
	}
	return out
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
