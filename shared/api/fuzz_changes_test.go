package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
)

// FuzzChangeFilter feeds arbitrary queries to GET /api/v1/changes's parser: it never panics,
// every rejection names only parameters it reads, and what it accepts is what the store may be
// given (a namespace name, a job id, a cursor id, a known status, a limit in range).
func FuzzChangeFilter(f *testing.F) {
	f.Add("namespace=team-a&status=pending&limit=10")
	f.Add("job_id=0193b7c4-0000-7000-8000-000000000001&cursor=0193b7c4-0000-7000-8000-000000000002")
	f.Add("status=expired&namespace=*")
	f.Add("limit=-1&cursor=%00")
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/changes", nil)
		r.URL.RawQuery = query
		p, err := parseChangeFilter(r)
		if err != nil {
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("rejection without a field: %v", err)
			}
			for _, fe := range verr.Fields {
				if !slices.Contains([]string{"namespace", "job_id", "status", "cursor", "limit"}, fe.Field) || fe.Reason == "" {
					t.Fatalf("rejection of %q: %+v", query, fe)
				}
			}
			return
		}
		if p.Namespace != "" && !domain.ValidNamespace(p.Namespace) {
			t.Fatalf("accepted namespace %q", p.Namespace)
		}
		for _, id := range []string{p.JobID, p.After} {
			if id != "" && uuid.Validate(id) != nil {
				t.Fatalf("accepted id %q", id)
			}
		}
		if p.Status != "" && !slices.Contains(domain.ChangeStatuses(), p.Status) {
			t.Fatalf("accepted status %q", p.Status)
		}
		if p.Limit < 1 || p.Limit > limitMax {
			t.Fatalf("accepted limit %d", p.Limit)
		}
	})
}

// FuzzNamespaceSettingsRequest: any body of PUT …/settings is decoded or refused naming a field;
// nothing panics, and four_eyes is never taken as false when it was not given.
func FuzzNamespaceSettingsRequest(f *testing.F) {
	f.Add(`{"four_eyes":true,"change_expiry":"168h"}`)
	f.Add(`{"four_eyes":"yes"}`)
	f.Add(`{"change_expiry":7}`)
	f.Add(`{}`)
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPut, "/api/v1/namespaces/a/settings", strings.NewReader(body))
		var in namespaceSettingsRequest
		err := decodeBody(httptest.NewRecorder(), r, &in)
		if err != nil {
			var verr *domain.ValidationError
			if !errors.As(err, &verr) || len(verr.Fields) == 0 {
				t.Fatalf("rejection without a field: %v", err)
			}
			return
		}
		// JSON matches keys without regard to case, and a key may be written with escapes.
		if in.FourEyes != nil && !strings.Contains(strings.ToLower(body), "four_eyes") && !strings.Contains(body, `\u`) {
			t.Fatalf("four_eyes set from %q", body)
		}
	})
}
