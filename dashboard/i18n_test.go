package dashboard

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
)

var (
	// componentKey finds v.T("key") and w.T("key") in templ components.
	componentKey = regexp.MustCompile(`\bT\("([a-z_]+\.[a-z_.]+)"`)
	// codeKey finds tr(lang, "key") and errorPage(…, "key") in Go code.
	codeKey = regexp.MustCompile(`(?:\.tr\([a-zA-Z]+, |errorPage\([^"]*?, )"([a-z_]+\.[a-z_.]+)"`)
	// literalKey finds the other keys Go code names as string literals ("jobs.paused").
	literalKey = regexp.MustCompile(`"((?:jobs|job|login|error|nav|sessions)\.[a-z_.]+)"`)
)

// TestCatalogs fails when a key used in a component or in Go code is missing from a catalog, when
// the catalogs do not have the same keys, or when a text is empty.
func TestCatalogs(t *testing.T) {
	t.Parallel()
	cat, err := loadCatalogs(files)
	require.NoError(t, err)
	en, vi := cat["en"], cat["vi"]
	require.NotEmpty(t, en)
	require.ElementsMatch(t, slices.Collect(maps.Keys(en)), slices.Collect(maps.Keys(vi)), "the catalogs have the same keys")
	for code, c := range cat {
		for k, v := range c {
			require.NotEmpty(t, strings.TrimSpace(v), "%s: %s is empty", code, k)
			require.Equal(t, strings.Count(en[k], "%"), strings.Count(v, "%"), "%s: %s has the placeholders of en", code, k)
		}
	}

	used := map[string]string{}
	components, err := filepath.Glob("*.templ")
	require.NoError(t, err)
	for _, name := range components {
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		for _, m := range componentKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = name
		}
	}
	code, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range code {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		b, err := os.ReadFile(name)
		require.NoError(t, err)
		for _, re := range []*regexp.Regexp{codeKey, literalKey} {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if !strings.HasSuffix(m[1], ".html") {
					used[m[1]] = name
				}
			}
		}
	}
	// Keys made from values: a state, a kind and an execution status each have a label.
	for _, s := range []string{domain.StateScheduled, domain.StatePaused, domain.StateWaiting, domain.StateCompleted, domain.StateEnded} {
		used["state."+s] = "jobs.go"
	}
	for _, k := range []domain.JobKind{domain.KindHTTP, domain.KindSQL} {
		used["kind."+string(k)] = "jobs.go"
	}
	for _, s := range []domain.ExecutionStatus{domain.StatusQueued, domain.StatusRunning, domain.StatusSucceeded, domain.StatusFailed,
		domain.StatusTimedOut, domain.StatusSkipped, domain.StatusCancelled, domain.StatusDeadLettered} {
		used["status."+string(s)] = "jobs.go"
	}
	for _, tr := range []domain.Trigger{domain.TriggerSchedule, domain.TriggerManual, domain.TriggerWebhook, domain.TriggerEvent,
		domain.TriggerRetry, domain.TriggerReplay, domain.TriggerBackfill} {
		used["live.trigger."+string(tr)] = "live.go"
	}
	require.Greater(t, len(used), 60, "the scan finds the keys")
	for k, where := range used {
		for code, c := range cat {
			_, ok := c[k]
			require.True(t, ok, "%s uses %q, missing from i18n/%s.json", where, k, code)
		}
	}
}

func TestLangOf(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{"": "en", "vi": "vi", "vi-VN,vi;q=0.9": "vi", "en-US,en;q=0.9,vi;q=0.8": "en",
		"fr-FR,fr;q=0.9": "en", "fr;q=0.9,vi;q=0.5": "vi", "garbage;;;": "en"} {
		r := httptestRequest(header, "")
		require.Equal(t, want, langOf(r), header)
	}
	require.Equal(t, "vi", langOf(httptestRequest("en", "vi")))
	require.Equal(t, "en", langOf(httptestRequest("en", "klingon")))
}
