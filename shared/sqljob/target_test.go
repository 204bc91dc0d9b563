package sqljob_test

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/testenv"
)

// countingListener listens on 127.0.0.1 and counts the connections it accepts, until t ends.
func countingListener(t *testing.T) (port int, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	accepted = new(atomic.Int32)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

// TestEgressPolicyRefusesTargetsBeforeConnecting runs jobs at loopback addresses with the
// default policy (loopback denied): each fails for good, saying which rule refused it, and
// nothing is dialed — a port something listens on and one nothing listens on fail alike, so a
// job cannot scan ports. A name resolving to a denied address is refused too.
func TestEgressPolicyRefusesTargetsBeforeConnecting(t *testing.T) {
	t.Parallel()
	listening, accepted := countingListener(t)
	closed := testenv.RefusedAddr(t).Port
	r := newRunnerWith(t, egress.Config{}, sqljob.Config{})
	for _, c := range []struct{ driver, dsn string }{
		{domain.DriverPostgres, "postgres://u:p@127.0.0.1:%d/x"},
		{domain.DriverPostgres, "host=127.0.0.1 port=%d user=u sslmode=disable"},
		{domain.DriverPostgres, "postgres://u:p@localhost:%d/x?sslmode=require"},
		{domain.DriverMySQL, "u:p@tcp(127.0.0.1:%d)/x"},
		{domain.DriverMySQL, "u:p@tcp(localhost:%d)/x"},
	} {
		var errs []string
		for _, port := range []int{listening, closed} {
			dsn := fmt.Sprintf(c.dsn, port)
			res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: c.driver, DSN: dsn, Statements: stmts("SELECT 1")}})
			require.Equal(t, domain.StatusFailed, res.Status, dsn)
			require.True(t, res.Permanent, "%s: a refused destination stays refused", dsn)
			require.Regexp(t, `^connect: egress policy refuses (127\.0\.0\.1 \(default rule: loopback 127\.0\.0\.0/8\)|::1 \(default rule: loopback ::1/128\))$`, res.Error, dsn)
			errs = append(errs, res.Error)
		}
		require.Equal(t, errs[0], errs[1], "%s: the same answer whether something listens or not", c.dsn)
	}
	require.Zero(t, accepted.Load(), "no connection was attempted")

	// Allowed explicitly, the same address is reached.
	r = newRunnerWith(t, egress.Config{Allow: []string{"127.0.0.1/32"}}, sqljob.Config{})
	res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &domain.SQLSpec{Driver: domain.DriverMySQL,
		DSN: fmt.Sprintf("u:p@tcp(127.0.0.1:%d)/x", listening), Statements: stmts("SELECT 1")}})
	require.Equal(t, domain.StatusFailed, res.Status, "the listener speaks no MySQL")
	require.NotContains(t, res.Error, "egress policy")
	testenv.Eventually(t, "the allowed connection reached the listener", func() bool { return accepted.Load() > 0 })
}

// otherAlias returns url with its host written another way that reaches the same server:
// localhost for 127.0.0.1, and 127.0.0.1 for any other name.
func otherAlias(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	host := "localhost"
	if u.Hostname() == "localhost" {
		host = "127.0.0.1"
	}
	u.Host = net.JoinHostPort(host, u.Port())
	return u.String()
}

// TestSystemDatabaseIsRefusedHoweverItIsNamed points a job at the database the tests' stores live
// in — vecron's system database for this runner — by another name of the same server: the
// runner recognises it by what the server reports, refuses it for good, and runs nothing there,
// unless an operator allows it. Another database of the same server stays a fine target.
func TestSystemDatabaseIsRefusedHoweverItIsNamed(t *testing.T) {
	t.Parallel()
	system := testenv.PostgresURL(t)
	job := domain.SQLSpec{Driver: domain.DriverPostgres, DSN: otherAlias(t, system), Statements: stmts("SELECT count(*) FROM pg_catalog.pg_namespace")}

	r := newRunner(t, sqljob.Config{})
	res := r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &job})
	require.Equal(t, domain.StatusFailed, res.Status)
	require.True(t, res.Permanent, "the system database stays refused")
	id := testenv.PostgresIdentity(t, system)
	require.Equal(t, "connect: the target is vecron's own system database ("+id.Database+" on the same server, however it is named); "+
		"jobs may not use it unless an operator sets sql.allow_system_database", res.Error)
	require.Contains(t, []string{"", "null"}, res.Excerpt, "no statement ran")

	r = newRunner(t, sqljob.Config{AllowSystemDatabase: true})
	res = r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &job})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)

	r = newRunner(t, sqljob.Config{})
	other := job
	other.DSN = otherAlias(t, testenv.PostgresTargetURL(t))
	res = r.Run(t.Context(), event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &other})
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
}
