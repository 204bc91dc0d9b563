package api

import (
	"errors"
	"testing"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// FuzzApplyRequest feeds arbitrary bodies, JSON and YAML, through the apply parser and its
// checks: they never panic, a body over a limit is a 413 naming it, and every other rejection
// names a field of the request.
func FuzzApplyRequest(f *testing.F) {
	f.Add([]byte(`{"jobs":[{"namespace":"ops","name":"a","schedule":{"cron":"@daily"},"http":{"url":"https://x.test"}}],"prune":true,"dry_run":true}`), false)
	f.Add([]byte(`{"jobs":[],"namespaces":["ops","bad ns"],"prune":true}`), false)
	f.Add([]byte(`{"jobs":[{"name":"a"},{"name":"a"},42,null]}`), false)
	f.Add([]byte("jobs:\n  - name: a\n    schedule: {cron: '@daily'}\n    http: {url: https://x.test}\n"), true)
	f.Add([]byte("a: &x [1]\nb: *x\n"), true)
	f.Add([]byte("jobs: [{timeout: .inf, max_catchup: 0x10, enabled: yes}]\n"), true)
	f.Add([]byte("jobs: !!binary aGk=\n"), true)
	f.Add([]byte(`{"":true}`), false)
	f.Add([]byte(`{"":[],""}`), true)
	f.Fuzz(func(t *testing.T, body []byte, asYAML bool) {
		req, _, err := parseApply(body, asYAML)
		if err == nil {
			_, err = jobs.CheckApply(req)
		}
		if err == nil {
			return
		}
		var big *tooLarge
		if errors.As(err, &big) {
			if big.field != "jobs" || big.reason == "" {
				t.Fatalf("413 without its field: %v", err)
			}
			return
		}
		var verr *domain.ValidationError
		if !errors.As(err, &verr) || len(verr.Fields) == 0 {
			t.Fatalf("rejection without a field: %v", err)
		}
		for _, f := range verr.Fields {
			if f.Reason == "" {
				t.Fatalf("field %q rejected without a reason", f.Field)
			}
			if f.Field == "" {
				t.Fatalf("a rejection names no field: %v", err)
			}
		}
	})
}
