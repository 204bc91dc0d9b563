// Package oracle teaches sqljob to run sql jobs against Oracle Database (19c and later) through
// the pure-Go go-ora driver: a runner given Dialect runs the "oracle" driver of sql jobs. The
// driver adds about 14 MB to a binary, so the slim execute-db does not link this package; the
// execute-db-oracle build (the same function, built with the "oracle" tag) and `vecron dev` do.
package oracle

import (
	"cmp"
	"context"
	"database/sql/driver"
	"errors"
	"net"
	"strconv"
	"strings"

	goora "github.com/sijms/go-ora/v2"
	"github.com/sijms/go-ora/v2/network"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/sqljob"
)

// DefaultPort is the Oracle listener's usual port.
const DefaultPort = 1521

// Dialect returns the dialect of Oracle, for sqljob.New.
func Dialect() sqljob.Dialect {
	return sqljob.Dialect{
		Driver:     domain.DriverOracle,
		DriverName: "oracle",
		Source:     Source,
		Connector:  Connector,
		Target:     Target,
		Hosts:      Hosts,
		Database:   Database,
		Classify:   Classify,
		Reason:     Reason,
		// go-ora refuses database/sql's ReadOnly option; Oracle's own statement enforces it.
		ReadOnlyStatement: "SET TRANSACTION READ ONLY",
		ReturnsRows:       returnsRows,
		Named:             sqljob.NamedSQL,
		// Oracle commits before and after DDL, and a PL/SQL block may commit: a read-only job
		// runs queries only.
		ReadOnlyAllows: returnsRows,
	}
}

// Source returns the go-ora connection URL of spec: its DSN (oracle://user:password@host:port/service),
// checked, or one built from its host, port, database (the service name), user and password.
// Errors never include the DSN, which may hold a password.
func Source(spec *domain.SQLSpec) (string, error) {
	if spec.DSN == "" {
		switch {
		case spec.Host == "":
			return "", errors.New("sql.host: is required when sql.dsn is not given")
		case spec.Database == "":
			return "", errors.New("sql.database: is required for Oracle: the service name, such as ORCLPDB1")
		case spec.User == "" || spec.Password == "":
			return "", errors.New("sql.user, sql.password: are required for Oracle: without them the driver logs in as the executor's OS user")
		}
		built := goora.BuildUrl(spec.Host, cmp.Or(spec.Port, DefaultPort), spec.Database, spec.User, spec.Password, nil)
		if err := sqljob.CheckOracleDSN(built); err != nil {
			return "", errors.New("sql.host: not a host name or address")
		}
		return built, nil
	}
	if err := sqljob.CheckOracleDSN(spec.DSN); err != nil {
		return "", err
	}
	cfg, err := goora.ParseConfig(spec.DSN)
	if err != nil {
		return "", errors.New("sql.dsn: not a valid Oracle connection URL")
	}
	// The driver falls back to the executor's OS identity when either is missing.
	if cfg.UserID == "" || cfg.Password == "" {
		return "", errors.New("sql.dsn: names no user or no password: without them the driver logs in as the executor's OS user")
	}
	return spec.DSN, nil
}

// Connector returns the connector of a checked connection URL: go-ora dials every server it
// tries, the listener's redirections included, through c.Dial.
func Connector(dsn string, c sqljob.Connect) (driver.Connector, error) {
	conn, ok := goora.NewConnector(dsn).(*goora.OracleConnector)
	if !ok {
		return nil, errors.New("sql.dsn: the Oracle driver gave no connector")
	}
	conn.Dialer(dialer(c.Dial))
	return conn, nil
}

// dialer is a dial function as go-ora's dialer.
type dialer func(ctx context.Context, network, address string) (net.Conn, error)

func (d dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	return d(ctx, network, address)
}

// Target names the first server of dsn for the circuit breaker: "oracle://host:1521".
func Target(dsn string) string {
	cfg, err := goora.ParseConfig(dsn)
	if err != nil || len(cfg.Servers) == 0 {
		return ""
	}
	s := cfg.Servers[0]
	return "oracle://" + net.JoinHostPort(s.Addr, strconv.Itoa(cmp.Or(s.Port, DefaultPort)))
}

// Database names the service (or, without one, the SID) dsn connects to.
func Database(dsn string) string {
	cfg, err := goora.ParseConfig(dsn)
	if err != nil {
		return ""
	}
	return cmp.Or(cfg.ServiceName, cfg.SID)
}

// Hosts names every server of dsn, the first and those go-ora fails over to.
func Hosts(dsn string) []string {
	cfg, err := goora.ParseConfig(dsn)
	if err != nil {
		return nil
	}
	var hosts []string
	for _, s := range cfg.Servers {
		hosts = append(hosts, net.JoinHostPort(s.Addr, strconv.Itoa(cmp.Or(s.Port, DefaultPort))))
	}
	return hosts
}

// Classify sorts Oracle's errors. Deadlocks, serialization failures, busy resources, lost
// connections, listener and instance trouble are worth retrying; ORA-01013 is a statement
// cancelled at its timeout. Every other ORA error — syntax, missing objects, privileges,
// constraints, bad data, writes in a read-only transaction — will fail again the same way.
func Classify(err error) (ours, permanent, timedOut bool) {
	var oe *network.OracleError
	if !errors.As(err, &oe) {
		return false, false, false
	}
	if oe.ErrCode == 1013 {
		return true, false, true
	}
	return true, !transient[oe.ErrCode], false
}

// Reason names a refused login — ORA-01017 (invalid username or password), ORA-28000 (account
// locked), ORA-28001 (password expired), ORA-01045 (no CREATE SESSION privilege) — and the
// listener and connection errors; "" for the rest, which are the statements' errors.
func Reason(err error) domain.FailReason {
	var oe *network.OracleError
	if !errors.As(err, &oe) {
		return ""
	}
	switch oe.ErrCode {
	case 1017, 28000, 28001, 1045:
		return domain.FailAuth
	case 3113, 3114, 3135, 12170, 12505, 12514, 12528, 12537, 12541, 12543:
		return domain.FailConnect
	}
	return ""
}

// transient are the ORA codes a retry can get past.
var transient = map[int]bool{
	18: true, 20: true, // maximum sessions, processes exceeded
	51:    true, // timeout waiting for a resource
	54:    true, // resource busy (NOWAIT)
	60:    true, // deadlock detected
	1033:  true, // initialization or shutdown in progress
	1034:  true, // ORACLE not available
	1089:  true, // immediate shutdown in progress
	1090:  true, // shutdown in progress
	2396:  true, // exceeded maximum idle time
	3113:  true, // end-of-file on communication channel
	3114:  true, // not connected to ORACLE
	3135:  true, // connection lost contact
	4068:  true, // existing state of packages discarded
	8176:  true, // consistent read failure; rollback data not available
	8177:  true, // can't serialize access for this transaction
	12170: true, // connect timeout
	12500: true, // listener failed to start a dedicated server process
	12514: true, // listener does not currently know of the service
	12516: true, // listener could not find an available handler
	12519: true, // no appropriate service handler found
	12520: true, // listener could not find an available handler for the server type
	12528: true, // all instances are blocking new connections
	12537: true, // TNS connection closed
	12541: true, // no listener
	12547: true, // lost contact
	12571: true, // packet writer failure
	25408: true, // cannot safely replay call
	30006: true, // resource busy; acquire with WAIT timeout expired
}

// returnsRows is Oracle's rule: only SELECT and WITH return rows. CALL, PL/SQL blocks and DML
// (whose RETURNING … INTO binds out-parameters) report a count.
func returnsRows(q string) bool {
	f := strings.Fields(strings.ToUpper(strings.TrimLeft(q, "( \t\r\n")))
	return len(f) > 0 && (f[0] == "SELECT" || f[0] == "WITH")
}
