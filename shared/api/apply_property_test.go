package api

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// trickyText draws a string that YAML and JSON writers must take care with, or any string.
func trickyText(t *rapid.T, label string) string {
	tricky := []string{"", "yes", "No", "on", "1:30", "null", "~", "- a", "#x", " lead", "trail ", "a: b", "\t", "'", `"`,
		"0x1F", "1e3", "2026-01-01", "2026-01-01T00:00:00Z", "line\nbreak\n", "\u2028", "\x7f", "{{ var.TOKEN }}", "<<", "&a", "*a", "!tag", "%x", "@x", "`x"}
	s := rapid.OneOf(rapid.SampledFrom(tricky), rapid.String()).Draw(t, label)
	return strings.ReplaceAll(s, "\x00", "") // the database cannot hold a NUL, so no export has one
}

func genDefinitionJob(t *rapid.T) *domain.Job {
	j := &domain.Job{
		Namespace: "ops", Name: trickyText(t, "name"), Description: trickyText(t, "description"), Enabled: rapid.Bool().Draw(t, "enabled"),
		Schedule: domain.Schedule{Cron: trickyText(t, "cron"), ExcludedDates: rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return trickyText(t, "date") }), 0, 2).Draw(t, "dates")},
		Timeout:  domain.Duration(rapid.Int64Range(0, int64(time.Hour)).Draw(t, "timeout")),
		Retry:    domain.RetryPolicy{MaxAttempts: rapid.IntRange(0, 3).Draw(t, "attempts")},
	}
	if rapid.Bool().Draw(t, "anchor") {
		at := time.Unix(rapid.Int64Range(0, 4e9).Draw(t, "at"), rapid.Int64Range(0, 999_999_999).Draw(t, "ns")).In(time.FixedZone("", 7*3600))
		j.Schedule.Anchor = &at
	}
	if rapid.Bool().Draw(t, "http") {
		j.HTTP = &domain.HTTPSpec{Method: trickyText(t, "method"), URL: trickyText(t, "url"), Body: trickyText(t, "body"),
			Headers: rapid.MapOfN(rapid.Custom(func(t *rapid.T) string { return trickyText(t, "key") }), rapid.Custom(func(t *rapid.T) string { return trickyText(t, "value") }), 0, 3).Draw(t, "headers")}
	} else {
		param := rapid.Custom(func(t *rapid.T) any {
			switch rapid.IntRange(0, 3).Draw(t, "type") {
			case 0:
				return trickyText(t, "param")
			case 1:
				return rapid.Float64Range(-1e15, 1e15).Draw(t, "number")
			case 2:
				return rapid.Bool().Draw(t, "bool")
			}
			return nil
		})
		j.SQL = &domain.SQLSpec{Driver: domain.DriverPostgres, DSN: trickyText(t, "dsn"),
			Statements: []domain.SQLStatement{{SQL: trickyText(t, "sql"), Params: rapid.SliceOfN(param, 0, 3).Draw(t, "params"),
				NamedParams: rapid.MapOfN(rapid.Custom(func(t *rapid.T) string { return trickyText(t, "pname") }), param, 0, 2).Draw(t, "named")}}}
	}
	return j
}

// TestExportReadsBackAsItself: whatever jobs an export writes, in JSON or in YAML, the apply
// parser reads back the same definitions, each with its enabled state said.
func TestExportReadsBackAsItself(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		list := rapid.SliceOfN(rapid.Custom(genDefinitionJob), 0, 4).Draw(t, "jobs")
		defs := make([]jobs.Definition, len(list))
		for i, j := range list {
			defs[i] = jobs.DefinitionOf(j)
		}
		for _, asYAML := range []bool{false, true} {
			rec := httptest.NewRecorder()
			e := &exportWriter{w: rec, yaml: asYAML}
			if len(defs) > 0 {
				require.NoError(t, e.page(defs))
			}
			require.NoError(t, e.end())
			req, dryRun, err := parseApply(rec.Body.Bytes(), asYAML)
			require.NoError(t, err, "yaml %t:\n%s", asYAML, rec.Body.String())
			require.False(t, dryRun)
			require.Len(t, req.Items, len(list))
			for i, it := range req.Items {
				require.False(t, it.KeepEnabled)
				require.Empty(t, jobs.Diff(list[i], it.Job), "yaml %t:\n%s", asYAML, rec.Body.String())
			}
		}
	})
}

// TestDefinitionIsWhatACreateTakes: an export writes every field a create takes and no other,
// so that a field added to jobs is exported (and applied) too, or this fails.
func TestDefinitionIsWhatACreateTakes(t *testing.T) {
	t.Parallel()
	names := func(typ reflect.Type) []string {
		var out []string
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out = append(out, name)
		}
		return out
	}
	require.ElementsMatch(t, names(reflect.TypeFor[jobRequest]()), names(reflect.TypeFor[jobs.Definition]()))
}
