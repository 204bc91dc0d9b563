package store

import (
	"crypto/tls"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// WarnUnverifiedTLS logs one warning when database.url lets a connection to a host of another
// machine go without a verified certificate: sslmode disable, allow, prefer (pgx's default, which
// falls back to plaintext) or require (TLS that trusts any certificate). It does not refuse: a
// cluster's own network, the chart's trial mode included, commonly carries PostgreSQL in
// plaintext, and that is the operator's decision (docs/deploy.md §7). A loopback host, a Unix
// socket and `vecron dev` (Development) are quiet. The line names the mode and hosts, never the URL,
// which may hold the password; a URL that does not parse is left to Open to report.
func (c Config) WarnUnverifiedTLS(log *slog.Logger) {
	if c.Development || c.URL == "" {
		return
	}
	pcfg, err := pgconn.ParseConfig(c.URL)
	if err != nil {
		return
	}
	modes, hosts := unverifiedTLS(pcfg)
	if len(modes) == 0 {
		return
	}
	log.Warn("database.url (sslmode): the server's certificate is not verified, so whoever sits on the network path can read or change the traffic; set sslmode=verify-full (or verify-ca) and sslrootcert",
		"sslmode", strings.Join(modes, ","), "hosts", strings.Join(hosts, ","))
}

// unverifiedTLS returns the libpq sslmode that pgx applies to each remote host of cfg (its
// attempts in order: pgx implements allow and prefer as two attempts of one host) when that mode
// does not verify the server's certificate, and those hosts.
func unverifiedTLS(cfg *pgconn.Config) (modes, hosts []string) {
	type attempt struct {
		addr string
		tls  *tls.Config
	}
	all := []attempt{{net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.TLSConfig}}
	for _, f := range cfg.Fallbacks {
		all = append(all, attempt{net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port))), f.TLSConfig})
	}
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].addr == all[i].addr {
			j++
		}
		host, _, _ := net.SplitHostPort(all[i].addr)
		var tlss []*tls.Config
		for _, a := range all[i:j] {
			tlss = append(tlss, a.tls)
		}
		i = j
		if local(host) {
			continue
		}
		if mode := sslmode(tlss); mode != "verify-ca" && mode != "verify-full" {
			if !slices.Contains(modes, mode) {
				modes = append(modes, mode)
			}
			hosts = append(hosts, host)
		}
	}
	return modes, hosts
}

// local reports whether host is this machine: a Unix socket's directory, localhost or a loopback
// address. No one else is on that path.
func local(host string) bool {
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// sslmode names the libpq mode pgx turned into the TLS configurations of one host's attempts
// (pgconn's configTLS).
func sslmode(attempts []*tls.Config) string {
	switch {
	case len(attempts) == 2 && attempts[0] == nil:
		return "allow"
	case len(attempts) == 2:
		return "prefer"
	case attempts[0] == nil:
		return "disable"
	case !attempts[0].InsecureSkipVerify:
		return "verify-full"
	case attempts[0].VerifyPeerCertificate != nil:
		// Also require with sslrootcert, which libpq and pgx treat as verify-ca.
		return "verify-ca"
	default:
		return "require"
	}
}
