// Package dashboardtest runs the api function — REST API and dashboard, wired as in production
// by apifn.Run — in-process on a real listener, over a database schema, Redis key prefix and
// NATS streams of the test's own; and starts a headless Chromium for browser tests. Tests only.
package dashboardtest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// Server is a running api function.
type Server struct {
	// URL is where it listens, http://127.0.0.1:port.
	URL string
	// Store reaches its database, to set up what the API cannot.
	Store *store.Store
	// Clock is its clock: a fake one when Options.Clock was.
	Clock clockwork.Clock
	// JS and Names reach its NATS streams, to publish events as the executors do.
	JS    jetstream.JetStream
	Names event.Names
	// settings are what it runs with, for the workers a test starts beside it.
	settings apifn.Settings
}

// Options change the server's settings.
type Options struct {
	// Clock drives the server; nil is the real clock.
	Clock clockwork.Clock
	// Settings, when not nil, changes the settings before the server starts.
	Settings func(*apifn.Settings)
}

// Start runs the api function until t ends.
func Start(t *testing.T, o Options) *Server {
	t.Helper()
	clock := o.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	_, js, names := testenv.NATS(t)
	redisURL, prefix := testenv.RedisURL(t)
	secretKey, err := secret.NewKey("test")
	if err != nil {
		t.Fatal(err)
	}
	auditKey := testfactory.AuditKey(t)
	s := apifn.DefaultSettings()
	s.Database.URL = testenv.PostgresURL(t)
	s.Redis.URL, s.Redis.KeyPrefix = redisURL, prefix
	s.NATS.URL, s.NATS.Prefix = testenv.NATSURL(t), names.Prefix
	s.Secrets.Keys, s.Audit.Keys, s.Auth.SigningKeys = secretKey, auditKey, testfactory.SigningKey(t)
	s.Host, s.Port, s.ShutdownGrace = "127.0.0.1", 0, time.Second
	// Many tests run an api in this process: none serves metrics unless it asks for them.
	s.Admin.Addr = ""
	if o.Settings != nil {
		o.Settings(&s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() { done <- apifn.Run(ctx, clock, s, testenv.Logger(t), func(a net.Addr) { ready <- a }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api function: %v", err)
		}
	})
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("api function did not start: %v", err)
	case <-time.After(testenv.Timeout(60 * time.Second)):
		t.Fatal("api function did not start within a minute")
	}
	st, err := store.Open(context.Background(), store.Config{URL: s.Database.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	keys, err := audit.Config{Keys: auditKey}.Load()
	if err != nil {
		t.Fatal(err)
	}
	st.UseAudit(keys)
	return &Server{URL: "http://" + addr.String(), Store: st, Clock: clock, JS: js, Names: names, settings: s}
}

// User creates a database user holding role in namespace ns ("" for every namespace; role ""
// for none). Their password is testfactory.Password.
func (s *Server) User(t *testing.T, role, ns string) *domain.User {
	t.Helper()
	return testfactory.User(t, s.Store, testfactory.UserOpts{Role: role, Namespace: ns})
}

// Token returns an API token of user u with every permission u holds.
func (s *Server) Token(t *testing.T, u *domain.User) string {
	t.Helper()
	return testfactory.APIToken(t, s.Store, u.ID, domain.AllNamespaces, nil)
}

// API sends a request to the REST API with token and returns the status and the body.
func (s *Server) API(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
