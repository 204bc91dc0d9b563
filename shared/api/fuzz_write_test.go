package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// FuzzWriteRoutes sends arbitrary bodies to every write route of the table, as an admin of every
// namespace, over real objects: whatever the body, the answer is never a 500 (which a panic
// becomes too). Bad input is a 4xx that names the field.
func FuzzWriteRoutes(f *testing.F) {
	e := newAccessEnv(f)
	admin := testfactory.User(f, e.st, testfactory.UserOpts{Role: rbac.RoleAdmin})
	token := e.token(admin)
	var writes []route
	for _, rt := range e.s.routes() {
		if rt.method != http.MethodGet {
			writes = append(writes, rt)
		}
	}
	nasty := []string{
		`{"name":"x\u0000y","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a/"}}`,
		`{"name":"n","description":"\u0000","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a/","body":"\u0000"}}`,
		`{"name":"t","timeout":"1ns","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a/"}}`,
		`{"name":"d","name":"e","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a/"}}`,
		`{"name":"h","schedule":{"cron":"* * * * * *"},"http":{"url":"http://a/","headers":{"Host":"b","Content-Length":"9"}}}`,
		`{"name":"s","kind":"sql","schedule":{"cron":"* * * * * *"},"sql":{"driver":"postgres","dsn":"host=a\u0000","statements":[{"sql":"SELECT $1","params":["\u0000"]}]}}`,
		`{"from":"2026-01-01T00:00:00Z","to":"2026-01-01T00:00:05Z","rate":1e-300}`,
		`{"from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z"}`,
		`{"value":"a\u0000b"}`, `{"name":"V\u0000","value":"x"}`, `{"username":"\u0000","password":"\u0000"}`,
		`{"refresh_token":"vcrr_\u0000"}`, `{"permissions":["job:read","\u0000"]}`, `{"role":"viewer","group":"\u0000","namespace":"*"}`,
		`{"name":"t","scopes":["job:read"],"expires_at":"0001-01-01T00:00:00Z"}`, `{"schedule":{"cron":"0 0 0 31 2 ?"},"count":1000000}`,
		`[]`, `null`, `"x"`, `1e999`, `{"a":`, ``,
	}
	for i, rt := range writes {
		m := matrix[rt.method+" "+rt.pattern]
		if m.body != nil {
			f.Add(uint8(i), []byte(m.body(&fixture{caller: admin, target: admin, ns: ownNS})))
		}
		for _, b := range nasty {
			f.Add(uint8(i), []byte(b))
		}
	}
	fx := e.fixture(f, admin, ownNS)
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		rt := writes[int(which)%len(writes)]
		rec := e.call(t, rt.method, fx.path(rt.pattern), token, string(body))
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", rt.method, rt.pattern, body, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
	})
}
