package api

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testfactory"
)

// BenchmarkGuard measures what sign-in adds to a request: the guard alone, around a handler
// that does nothing, with each kind of credential (the user's roles warm in the cache, as they
// are for every request but one in CacheTTL).
func BenchmarkGuard(b *testing.B) {
	e := newAccessEnv(b)
	u := testfactory.User(b, e.st, testfactory.UserOpts{Role: rbac.RoleEditor, Namespace: "team-a"})
	noop := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }
	for _, c := range []struct {
		name, token string
		access      access
	}{
		{"Public", "", public},
		{"AccessToken", e.token(u), need(domain.PermJobRead)},
		{"APIToken", testfactory.APIToken(b, e.st, u.ID, "team-a", nil), need(domain.PermJobRead)},
	} {
		b.Run(c.name, func(b *testing.B) {
			h := e.s.guard(c.access, noop)
			req := httptest.NewRequest(http.MethodGet, "/api/v1/jobs", nil)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusNoContent {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
