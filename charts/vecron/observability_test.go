// Package vecron_test checks the chart's observability files against the code: every metric a
// dashboard panel or an alert rule names is one shared/metric's catalog declares, with the type
// and labels the expression assumes. The catalog is the one list; these tests never list names.
package vecron_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/metric"
)

// An expression, with where it came from for the failure message.
type expr struct{ where, text string }

func dashboardExprs(t *testing.T) []expr {
	t.Helper()
	b, err := os.ReadFile("files/grafana-dashboard.json")
	require.NoError(t, err)
	var d struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Type    string `json:"type"`
			Title   string `json:"title"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
	}
	require.NoError(t, json.Unmarshal(b, &d), "the dashboard is not JSON")
	require.NotEmpty(t, d.Title)
	require.NotEmpty(t, d.UID)
	var out []expr
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		require.NotEmpty(t, p.Targets, "panel %q has no query", p.Title)
		for _, tg := range p.Targets {
			require.NotEmpty(t, tg.Expr, "panel %q query %s is empty", p.Title, tg.RefID)
			out = append(out, expr{where: "panel " + strconv.Quote(p.Title), text: tg.Expr})
		}
	}
	return out
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func rules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile("files/prometheus-rules.yaml")
	require.NoError(t, err)
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(&f), "the rules are not Prometheus rule groups")
	var out []rule
	for _, g := range f.Groups {
		require.NotEmpty(t, g.Name)
		out = append(out, g.Rules...)
	}
	require.NotEmpty(t, out)
	return out
}

func TestAlertRulesAreComplete(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range rules(t) {
		require.NotEmpty(t, r.Alert)
		require.False(t, seen[r.Alert], "alert %s is defined twice", r.Alert)
		seen[r.Alert] = true
		require.NotEmpty(t, r.Expr, r.Alert)
		require.Regexp(t, `^[0-9]+[smh]$`, r.For, "%s: for", r.Alert)
		require.Contains(t, []string{"page", "ticket"}, r.Labels["severity"], "%s: labels.severity", r.Alert)
		require.NotEmpty(t, r.Annotations["summary"], "%s: annotations.summary", r.Alert)
	}
	for _, want := range []string{"VecronLatenessSLOBurn", "VecronMissedFires", "VecronDeadLettersGrowing",
		"VecronBreakerOpenLong", "VecronOutboxBacklog", "VecronNoTickShards"} {
		require.True(t, seen[want], "the issue asks for alert %s", want)
	}
}

// The shard alert counts the shards the code splits jobs into.
func TestNoTickShardsAlertCountsEveryShard(t *testing.T) {
	t.Parallel()
	for _, r := range rules(t) {
		if r.Alert == "VecronNoTickShards" {
			require.Contains(t, r.Expr, "< "+strconv.Itoa(domain.ShardCount))
			return
		}
	}
	t.Fatal("no VecronNoTickShards rule")
}

var (
	metricRef   = regexp.MustCompile(`vecron_[a-z0-9_]+`)
	rateOf      = regexp.MustCompile(`\b(rate|irate|increase|delta|idelta|deriv)\(\s*(vecron_[a-z0-9_]+)`)
	matchers    = regexp.MustCompile(`(vecron_[a-z0-9_]+)\s*\{([^}]*)\}`)
	matcherName = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)`)
	grouping    = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// family resolves a series name to its catalog family: a histogram's _bucket, _sum and _count
// series name the histogram.
func family(name string) (metric.Desc, string, bool) {
	if d, ok := metric.Lookup(metric.Name(name)); ok {
		return d, "", true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if d, ok := metric.Lookup(metric.Name(base)); ok {
				return d, suffix, true
			}
		}
	}
	return metric.Desc{}, "", false
}

func labelsOf(d metric.Desc, suffix string) []string {
	var out []string
	for _, l := range d.Labels {
		out = append(out, l.Name)
	}
	if suffix == "_bucket" {
		out = append(out, "le")
	}
	return out
}

// Target labels every scraped series has, besides its own.
var targetLabels = []string{"instance", "job", "pod"}

// tb is what checkExpr needs of a test, so its own test can watch it fail.
type tb interface {
	require.TestingT
	Helper()
}

type fakeT struct{ failed bool }

func (f *fakeT) Errorf(string, ...any) { f.failed = true }
func (f *fakeT) FailNow()              { f.failed = true; panic("stop") }
func (f *fakeT) Helper()               {}

func checkExpr(t tb, e expr) {
	t.Helper()
	names := metricRef.FindAllString(e.text, -1)
	require.NotEmpty(t, names, "%s: %q names no vecron metric", e.where, e.text)
	var known []string
	for _, n := range names {
		d, suffix, ok := family(n)
		require.True(t, ok, "%s: %s is not a family the code registers (shared/metric catalog)", e.where, n)
		if suffix != "" {
			require.Equal(t, metric.TypeHistogram, d.Type, "%s: %s is a %s, it has no %s series", e.where, d.Name, d.Type, suffix)
		}
		known = append(known, labelsOf(d, suffix)...)
	}
	for _, m := range rateOf.FindAllStringSubmatch(e.text, -1) {
		d, suffix, _ := family(m[2])
		require.True(t, d.Type == metric.TypeCounter || suffix != "",
			"%s: %s(%s) on a %s; rates are for counters and histogram series", e.where, m[1], m[2], d.Type)
	}
	for _, m := range matchers.FindAllStringSubmatch(e.text, -1) {
		d, suffix, _ := family(m[1])
		for _, l := range matcherName.FindAllStringSubmatch(m[2], -1) {
			require.Contains(t, append(labelsOf(d, suffix), targetLabels...), l[1], "%s: %s has no label %s", e.where, m[1], l[1])
		}
	}
	for _, m := range grouping.FindAllStringSubmatch(e.text, -1) {
		for l := range strings.SplitSeq(m[1], ",") {
			l = strings.TrimSpace(l)
			if l == "" {
				continue
			}
			require.True(t, slices.Contains(known, l) || slices.Contains(targetLabels, l),
				"%s: grouping by %s, a label none of %v has", e.where, l, names)
		}
	}
}

func TestDashboardNamesOnlyRegisteredMetrics(t *testing.T) {
	t.Parallel()
	for _, e := range dashboardExprs(t) {
		checkExpr(t, e)
	}
}

func TestAlertRulesNameOnlyRegisteredMetrics(t *testing.T) {
	t.Parallel()
	for _, r := range rules(t) {
		checkExpr(t, expr{where: "alert " + r.Alert, text: r.Expr})
	}
}

// The checker itself: a misspelt metric, a counter's _bucket, a rate of a gauge and an unknown
// label are each caught.
func TestTheCheckerCatchesWhatItShould(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		`rate(vecron_missed_fire_total[5m])`,
		`vecron_missed_fires_total_bucket`,
		`rate(vecron_tick_shards_owned[5m])`,
		`vecron_missed_fires_total{kind="http"}`,
		`sum by (host) (vecron_missed_fires_total)`,
		`up`,
	} {
		ft := &fakeT{}
		func() {
			defer func() { _ = recover() }()
			checkExpr(ft, expr{where: "test", text: bad})
		}()
		require.True(t, ft.failed, "the checker let %q through", bad)
	}
	checkExpr(t, expr{where: "test", text: `sum by (stage) (increase(vecron_missed_fires_total{stage="unclaimed"}[10m]))`})
}
