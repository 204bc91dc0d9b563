package check_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/vecron/vecron/deploy/check"
	"github.com/vecron/vecron/functions/contract"
)

// tickEnv returns the tick's env in r by name.
func tickEnv(t *testing.T, r rendered) map[string]corev1.EnvVar {
	t.Helper()
	for _, w := range check.Workloads(r.objects) {
		if w.Function == "tick" {
			out := map[string]corev1.EnvVar{}
			for _, e := range w.Pod.Containers[0].Env {
				out[e.Name] = e
			}
			return out
		}
	}
	t.Fatal("no tick rendered")
	return nil
}

// TestTickPrewarm: tick.prewarm is rendered as the tick's VECRON_TICK__PREWARM__* settings (the
// contract's names, which CheckWorkload holds), with a lead per mode above tick.lookahead, and
// only where executors scale from zero.
func TestTickPrewarm(t *testing.T) {
	t.Parallel()
	sets := valueSets(t)
	for _, tc := range []struct {
		name  string
		files []string
		want  map[string]string // env name → value; "" for absent
	}{
		{"Knative", []string{sets["knative-default"]},
			map[string]string{"VECRON_TICK__PREWARM__ENABLED": "true", "VECRON_TICK__PREWARM__LEAD": "5s", "VECRON_TICK__PREWARM__KEEP": "", "VECRON_TICK__PREWARM__KINDS": ""}},
		{"KEDA", []string{sets["deployment-keda"]},
			map[string]string{"VECRON_TICK__PREWARM__ENABLED": "true", "VECRON_TICK__PREWARM__LEAD": "20s"}},
		{"KEDAPolling", []string{sets["deployment-keda"], writeValues(t, "keda:\n  pollingInterval: 30")},
			map[string]string{"VECRON_TICK__PREWARM__LEAD": "45s"}},
		{"WithoutKEDA", []string{sets["deployment-no-keda"]},
			map[string]string{"VECRON_TICK__PREWARM__ENABLED": "", "VECRON_TICK__PREWARM__LEAD": ""}},
		{"Off", []string{sets["knative-default"], writeValues(t, "tick:\n  prewarm:\n    enabled: false")},
			map[string]string{"VECRON_TICK__PREWARM__ENABLED": "", "VECRON_TICK__PREWARM__LEAD": ""}},
		{"UnderTheLead", []string{sets["knative-default"], writeValues(t, "settings:\n  tick:\n    tick.lookahead: 4s")},
			map[string]string{"VECRON_TICK__PREWARM__LEAD": "5s", "VECRON_TICK__LOOKAHEAD": "4s"}},
		{"MicrosecondsUnderTheLead", []string{sets["knative-default"], writeValues(t, "settings:\n  tick:\n    tick.lookahead: 4999999us")},
			map[string]string{"VECRON_TICK__PREWARM__LEAD": "5s", "VECRON_TICK__LOOKAHEAD": "4999999us"}},
		{"PartsUnderTheLead", []string{sets["knative-default"], writeValues(t, "settings:\n  tick:\n    tick.lookahead: 4s999ms999999ns")},
			map[string]string{"VECRON_TICK__PREWARM__LEAD": "5s", "VECRON_TICK__LOOKAHEAD": "4s999ms999999ns"}},
		{"LookaheadWithoutPrewarm", []string{sets["deployment-no-keda"], writeValues(t, "settings:\n  tick:\n    tick.lookahead: 1m")},
			map[string]string{"VECRON_TICK__PREWARM__LEAD": "", "VECRON_TICK__LOOKAHEAD": "1m"}},
		{"Given", []string{sets["knative-default"], writeValues(t, "tick:\n  prewarm:\n    lead: 8s\n    keep: 30s\n    kinds: [sql]")},
			map[string]string{"VECRON_TICK__PREWARM__LEAD": "8s", "VECRON_TICK__PREWARM__KEEP": "30s", "VECRON_TICK__PREWARM__KINDS": "sql"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := renderSet(t, tc.files...)
			env := tickEnv(t, r)
			for name, want := range tc.want {
				if want == "" {
					require.NotContains(t, env, name)
					continue
				}
				require.Equal(t, want, env[name].Value, name)
			}
			fns := contract.Functions(r.values.NATSPrefix())
			for _, w := range check.Workloads(r.objects) {
				require.NoError(t, check.CheckWorkload(w, fns, r.values.Expect()))
			}
		})
	}
	t.Run("Refused", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []struct{ values, want string }{
			{"tick:\n  prewarm:\n    lead: soon", "lead"},
			{"tick:\n  prewarm:\n    kinds: [grpc]", "kinds"},
			{"tick:\n  prewarm:\n    early: true", "early"},
			{"settings:\n  tick:\n    tick.prewarm.lead: 1s", "tick.prewarm.lead"},
			{"settings:\n  tick:\n    tick.lookahead: 5s", "tick.prewarm.lead (5s) must be longer than tick.lookahead (5s)"},
			{"settings:\n  all:\n    tick.lookahead: 1m", "tick.prewarm.lead (5s) must be longer than tick.lookahead (1m)"},
			{"settings:\n  tick:\n    tick.lookahead: 2500ms\ntick:\n  prewarm:\n    lead: 2.5s", "tick.prewarm.lead (2.5s) must be longer than tick.lookahead (2500ms)"},
			{"settings:\n  tick:\n    tick.lookahead: 5000000us", "tick.prewarm.lead (5s) must be longer than tick.lookahead (5000000us)"},
			{"settings:\n  tick:\n    tick.lookahead: 5000000000ns", "tick.prewarm.lead (5s) must be longer than tick.lookahead (5000000000ns)"},
			{"settings:\n  tick:\n    tick.lookahead: 1m\ntick:\n  prewarm:\n    lead: 59.999999s", "tick.prewarm.lead (59.999999s) must be longer"},
			// Not Go durations: each read as 0 before, so they passed the comparison.
			{"settings:\n  tick:\n    tick.lookahead: 9000", `tick.lookahead: "9000" is not a Go duration`},
			{"settings:\n  tick:\n    tick.lookahead: \"9000\"", `tick.lookahead: "9000" is not a Go duration`},
			{"settings:\n  tick:\n    tick.lookahead: 9sec", `tick.lookahead: "9sec" is not a Go duration`},
			{"settings:\n  tick:\n    tick.lookahead: 1d", `tick.lookahead: "1d" is not a Go duration`},
			{"settings:\n  all:\n    tick.lookahead: 6s 1", `tick.lookahead: "6s 1" is not a Go duration`},
			{"settings:\n  tick:\n    tick.lookahead: 1s\ntick:\n  prewarm:\n    lead: \"5\"", "lead"},
		} {
			f := filepath.Join(t.TempDir(), "bad.yaml")
			require.NoError(t, os.WriteFile(f, []byte(bad.values+"\n"), 0o600))
			_, err := helm.Template(t.Context(), chart, "vecron", "vecron-system", sets["knative-default"], f)
			require.Error(t, err, bad.values)
			require.Contains(t, err.Error(), bad.want)
		}
	})
}
