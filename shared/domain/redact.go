package domain

import (
	"maps"
	"net/url"
	"regexp"
	"strings"
)

// Redacted is what stands for a credential a job holds in clear.
const Redacted = "******"

// Redacted returns a copy of j with the credentials written into it in clear replaced by
// Redacted: the SQL password, a password in the DSN or in a URL, and the values of headers and
// query parameters whose names say they carry one. References to variables ({{ var.X }}) are
// kept, since they show where a secret comes from without showing it. The audit log, which
// keeps what it is given forever, records jobs only this way.
func (j *Job) Redacted() *Job {
	if j == nil {
		return nil
	}
	out := *j
	if j.SQL != nil {
		sql := *j.SQL
		if typedIn(sql.Password) {
			sql.Password = Redacted
		}
		sql.DSN = redactDSN(sql.DSN)
		out.SQL = &sql
	}
	if j.HTTP != nil {
		h := *j.HTTP
		h.URL = redactURL(h.URL)
		h.Headers = maps.Clone(h.Headers)
		for k, v := range h.Headers {
			if sensitiveName(k) && typedIn(v) {
				h.Headers[k] = Redacted
			}
		}
		out.HTTP = &h
	}
	return &out
}

// typedIn reports whether v holds something other than variable references: a credential typed
// in.
func typedIn(v string) bool {
	return v != "" && !strings.Contains(v, "{{")
}

// SensitiveHeader reports whether a header named name carries a credential: it is redacted
// from records and stays behind when a redirect changes host.
func SensitiveHeader(name string) bool { return sensitiveName(name) }

// sensitiveName reports whether a header or parameter named name carries a credential.
func sensitiveName(name string) bool {
	n := strings.ToLower(name)
	if n == "authorization" || n == "proxy-authorization" || n == "cookie" {
		return true
	}
	for _, part := range []string{"token", "secret", "password", "passwd", "api-key", "api_key", "apikey", "signature", "auth"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

var (
	// dsnKeyValue matches a password in a key=value DSN (PostgreSQL, ODBC style).
	dsnKeyValue = regexp.MustCompile(`(?i)\b(password|pwd)\s*=\s*('(?:[^'\\]|\\.)*'|[^\s;]*)`)
	// dsnMySQL matches the password of a go-sql-driver DSN: user:password@protocol(address)/db.
	dsnMySQL = regexp.MustCompile(`^([^:@/]*):(.*)@([a-z0-9]*\(|/)`)
)

func redactDSN(dsn string) string {
	if dsn == "" {
		return dsn
	}
	if strings.Contains(dsn, "://") {
		return redactURL(dsn)
	}
	dsn = dsnKeyValue.ReplaceAllStringFunc(dsn, func(m string) string {
		k, v, _ := strings.Cut(m, "=")
		if !typedIn(strings.TrimSpace(v)) {
			return m
		}
		return k + "=" + Redacted
	})
	if m := dsnMySQL.FindStringSubmatchIndex(dsn); m != nil && typedIn(dsn[m[4]:m[5]]) {
		dsn = dsn[:m[4]] + Redacted + dsn[m[5]:]
	}
	return dsn
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Not a URL we can read: keep nothing after the scheme that could be a credential.
		if i := strings.Index(raw, "@"); i >= 0 && typedIn(raw[:i]) {
			return Redacted + raw[i:]
		}
		return raw
	}
	changed := false
	if p, ok := u.User.Password(); ok && typedIn(p) {
		u.User = url.UserPassword(u.User.Username(), Redacted)
		changed = true
	}
	q := u.Query()
	for k, vs := range q {
		for i, v := range vs {
			if sensitiveName(k) && typedIn(v) {
				vs[i] = Redacted
				changed = true
			}
		}
	}
	if !changed {
		return raw
	}
	u.RawQuery = q.Encode()
	return u.String()
}
