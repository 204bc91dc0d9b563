package dashboard

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

// operatorKey finds the keys of the operators' pages that Go code names as string literals
// (in maps and views, where TestCatalogs' patterns do not look).
var operatorKey = regexp.MustCompile(`"((?:history|execution|deadletters|variables|audit|admin|confirm)\.[a-z_.]*[a-z_])"`)

// TestOperatorKeys fails when a key the operators' pages use, written out or made from a value,
// is missing from a catalog.
func TestOperatorKeys(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	used := map[string]string{}
	for _, name := range []string{"pages.go", "executions.go", "deadletters.go", "variables.go", "audit.go", "admin.go"} {
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		for _, m := range operatorKey.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".html") {
				used[m[1]] = name
			}
		}
	}
	for _, tr := range domain.Triggers() {
		used[keyOf("history.trigger.", string(tr))] = "executions.go"
	}
	for _, r := range []string{"paused", "deleted", "rescheduled", "forbid", "misfire", "deadline", "frozen", "other"} {
		used[keyOf("execution.skip.", r)] = "executions.go"
	}
	for _, s := range []string{domain.DeadLetterPending, domain.DeadLetterReplayed, domain.DeadLetterDiscarded, "all"} {
		used[keyOf("deadletters.state.", s)] = "deadletters.go"
	}
	for _, f := range []string{"actor", "action", "object_kind", "object_id", "namespace", "since", "until", "zone"} {
		used[keyOf("audit.f.", f)] = "audit.go"
	}
	require.Greater(t, len(used), 30, "the scan finds the keys")
	for k, where := range used {
		for code, c := range cat {
			_, ok := c[k]
			require.True(t, ok, "%s uses %q, missing from i18n/%s.json", where, k, code)
		}
	}
}

func TestSkipReason(t *testing.T) {
	t.Parallel()
	for detail, want := range map[string]string{
		"skipped: the job was paused before this fire started":                                                   "paused",
		"skipped: the job was deleted before this fire started":                                                  "deleted",
		"skipped: the job's schedule was changed before this fire started, and has no fire at this instant":      "rescheduled",
		"execution x:1 of this job was still running (concurrency policy forbid)":                                "forbid",
		"missed by 5s; misfire policy skip":                                                                      "misfire",
		"every fire from 2026-01-01T00:00:00Z until 2026-01-02T00:00:00Z: missed by 1h0m0s; misfire policy skip": "misfire",
		"could not start within its starting deadline 30s (late by 45s)":                                         "deadline",
		"frozen: year-end (freeze abc until 2026-12-31T00:00:00Z)":                                               "frozen",
		"something else": "other",
	} {
		require.Equal(t, want, skipReason(detail), detail)
	}
}

func TestParseLocal(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	want := time.Date(2026, 12, 31, 23, 59, 0, 0, loc)
	for _, tc := range []struct{ raw, lang string }{
		{"2026-12-31T23:59", "en"}, {"2026-12-31 23:59", "en"}, {"31/12/2026 23:59", "vi"}, {"2026-12-31T16:59:00Z", "en"},
	} {
		got, ok := parseLocal(tc.raw, tc.lang, loc)
		require.True(t, ok, tc.raw)
		require.True(t, want.Equal(got), "%s: %s", tc.raw, got)
	}
	for _, tc := range []struct{ raw, lang string }{{"31/12/2026 23:59", "en"}, {"tomorrow", "vi"}, {"", "en"}} {
		_, ok := parseLocal(tc.raw, tc.lang, loc)
		require.False(t, ok, tc.raw)
	}
}
