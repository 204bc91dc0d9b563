package sqljob_test

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/testenv"
)

// unknownUser returns tg's DSN logging in as a user the server does not know.
func unknownUser(t *testing.T, tg target) string {
	t.Helper()
	if tg.driver == domain.DriverMySQL {
		cfg, err := mysql.ParseDSN(tg.dsn)
		require.NoError(t, err)
		cfg.User, cfg.Passwd = "vecron_no_such_user", "wrong"
		return cfg.FormatDSN()
	}
	u, err := url.Parse(tg.dsn)
	require.NoError(t, err)
	u.User = url.UserPassword("vecron_no_such_user", "wrong")
	return u.String()
}

// refusedDSN returns a DSN of tg's driver at an address nothing listens on.
func refusedDSN(t *testing.T, tg target) string {
	t.Helper()
	addr := testenv.RefusedAddr(t).String()
	if tg.driver == domain.DriverMySQL {
		return "u:p@tcp(" + addr + ")/x"
	}
	return "postgres://u:p@" + addr + "/x?sslmode=disable"
}

// TestEveryFailureHasAReason: each way a sql job can fail names one reason of the closed set,
// and a success names none, so the failure metrics never see an empty or unknown label.
func TestEveryFailureHasAReason(t *testing.T) {
	t.Parallel()
	for _, tg := range targets(t) {
		t.Run(tg.driver, func(t *testing.T) {
			t.Parallel()
			r := newRunner(t, sqljob.Config{})
			denying := newRunnerWith(t, egress.Config{}, sqljob.Config{})
			tests := []struct {
				name    string
				runner  *sqljob.Runner
				spec    *domain.SQLSpec
				timeout time.Duration
				want    domain.FailReason
			}{
				{name: "Succeeded", spec: &domain.SQLSpec{Statements: stmts("SELECT 1")}},
				{name: "NoStatements", spec: &domain.SQLSpec{}, want: domain.FailOther},
				{name: "UnknownDriver", spec: &domain.SQLSpec{Driver: "sqlite", Statements: stmts("SELECT 1")}, want: domain.FailOther},
				{name: "UnacceptedDSN", spec: &domain.SQLSpec{DSN: "::not a dsn::", Statements: stmts("SELECT 1")}, want: domain.FailOther},
				{name: "SyntaxError", spec: &domain.SQLSpec{Statements: stmts("SELEC nothing")}, want: domain.FailSQLError},
				{name: "MissingTable", spec: &domain.SQLSpec{Statements: stmts("SELECT * FROM vecron_no_such_table")}, want: domain.FailSQLError},
				{name: "RefusedBeforeRunning", spec: &domain.SQLSpec{Transaction: true, Statements: stmts("SELECT 1", "COMMIT")}, want: domain.FailSQLError},
				{name: "StatementTimeout", spec: &domain.SQLSpec{StatementTimeout: domain.Duration(200 * time.Millisecond), Statements: stmts(tg.sleep)}, want: domain.FailTimeout},
				{name: "AttemptDeadline", spec: &domain.SQLSpec{Statements: stmts(tg.sleep)}, timeout: 200 * time.Millisecond, want: domain.FailTimeout},
				{name: "UnknownUser", spec: &domain.SQLSpec{DSN: unknownUser(t, tg), Statements: stmts("SELECT 1")}, want: domain.FailAuth},
				{name: "ConnectionRefused", spec: &domain.SQLSpec{DSN: refusedDSN(t, tg), Statements: stmts("SELECT 1")}, want: domain.FailConnect},
				{name: "EgressDenied", runner: denying, spec: &domain.SQLSpec{Statements: stmts("SELECT 1")}, want: domain.FailEgressDenied},
			}
			if tg.driver == domain.DriverPostgres {
				tests = append(tests, struct {
					name    string
					runner  *sqljob.Runner
					spec    *domain.SQLSpec
					timeout time.Duration
					want    domain.FailReason
				}{name: "SystemDatabase", spec: &domain.SQLSpec{DSN: otherAlias(t, testenv.PostgresURL(t)), Statements: stmts("SELECT 1")}, want: domain.FailEgressDenied})
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					t.Parallel()
					spec := *tt.spec
					spec.Driver, spec.DSN = cmpOr(spec.Driver, tg.driver), cmpOr(spec.DSN, tg.dsn)
					if tt.name == "NoStatements" {
						spec.Statements = nil
					}
					ctx := t.Context()
					if tt.timeout > 0 {
						var cancel context.CancelFunc
						ctx, cancel = context.WithTimeout(ctx, tt.timeout)
						defer cancel()
					}
					res := cmpOr(tt.runner, r).Run(ctx, event.Due{JobID: "j", Kind: domain.KindSQL, SQL: &spec})
					assert.Equal(t, tt.want, res.Reason, res.Error)
					if tt.want == "" {
						assert.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
						return
					}
					assert.NotEqual(t, domain.StatusSucceeded, res.Status)
					assert.True(t, slices.Contains(domain.FailReasons(), res.Reason))
				})
			}
		})
	}
}

func cmpOr[T comparable](v, fallback T) T {
	var zero T
	if v == zero {
		return fallback
	}
	return v
}
