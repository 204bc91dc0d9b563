package jobs_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// genJob draws a job as a user might write it: fields left out or given, in any case or zone,
// from small sets so that two draws are often the same definition.
func genJob(t *rapid.T) *domain.Job {
	instant := func(label string) *time.Time {
		if !rapid.Bool().Draw(t, label+"Set") {
			return nil
		}
		at := time.Unix(rapid.Int64Range(1e9, 4e9).Draw(t, label), 0)
		zone := time.FixedZone("", rapid.SampledFrom([]int{0, 7 * 3600, -5 * 3600}).Draw(t, label+"Zone"))
		at = at.In(zone)
		return &at
	}
	durations := func(label string) []domain.Duration {
		if rapid.Bool().Draw(t, label+"Nil") {
			return nil
		}
		return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) domain.Duration {
			return domain.Duration(rapid.SampledFrom([]time.Duration{time.Second, time.Minute, 1500 * time.Microsecond}).Draw(t, "d"))
		}), 0, 3).Draw(t, label)
	}
	j := &domain.Job{
		Namespace:   rapid.SampledFrom([]string{"", "default", " ops ", "ops"}).Draw(t, "namespace"),
		Name:        rapid.SampledFrom([]string{"a", " a", "b", "ünïcode ✓"}).Draw(t, "name"),
		Description: rapid.SampledFrom([]string{"", "x", "line\nbreak"}).Draw(t, "description"),
		Tags:        rapid.SliceOfN(rapid.SampledFrom([]string{"a", " a", "b", "team:ops", "B"}), 0, 3).Draw(t, "tags"),
		Enabled:     rapid.Bool().Draw(t, "enabled"),
		Schedule: domain.Schedule{
			Kind:          rapid.SampledFrom([]domain.ScheduleKind{"", domain.ScheduleCron, domain.ScheduleFixedRate}).Draw(t, "kind"),
			Cron:          rapid.SampledFrom([]string{"", "@hourly", "0 0 * * * *"}).Draw(t, "cron"),
			Every:         domain.Duration(rapid.SampledFrom([]time.Duration{0, time.Minute}).Draw(t, "every")),
			Anchor:        instant("anchor"),
			EndAt:         instant("endAt"),
			ExcludedDates: rapid.SliceOfN(rapid.SampledFrom([]string{"2026-01-01", "2026-09-02"}), 0, 2).Draw(t, "excluded"),
		},
		Timezone:          rapid.SampledFrom([]string{"", domain.DefaultTimezone, "UTC"}).Draw(t, "timezone"),
		Timeout:           domain.Duration(rapid.SampledFrom([]time.Duration{0, jobs.TimeoutDefault, 1500 * time.Microsecond, time.Millisecond, 500 * time.Microsecond}).Draw(t, "timeout")),
		MisfirePolicy:     rapid.SampledFrom([]string{"", domain.MisfireFireOnce, domain.MisfireSkip}).Draw(t, "misfire"),
		MaxCatchup:        rapid.SampledFrom([]int{0, jobs.MaxCatchupDefault, 3}).Draw(t, "maxCatchup"),
		StartingDeadline:  domain.Duration(rapid.SampledFrom([]time.Duration{0, time.Minute, time.Minute + time.Microsecond}).Draw(t, "deadline")),
		ConcurrencyPolicy: rapid.SampledFrom([]string{"", domain.ConcurrencyAllow, domain.ConcurrencyForbid}).Draw(t, "concurrency"),
		Retry:             domain.RetryPolicy{MaxAttempts: rapid.IntRange(0, 2).Draw(t, "attempts"), Backoff: durations("backoff")},
	}
	if rapid.Bool().Draw(t, "http") {
		j.HTTP = &domain.HTTPSpec{
			Method: rapid.SampledFrom([]string{"", "get", "GET", "post"}).Draw(t, "method"),
			URL:    rapid.SampledFrom([]string{"https://x.test/", "https://x.test/?token=abc"}).Draw(t, "url"),
			Headers: rapid.MapOfN(rapid.SampledFrom([]string{"X-Team", "Authorization"}),
				rapid.SampledFrom([]string{"ops", "Bearer {{ var.T }}", "Bearer typed-in"}), 0, 2).Draw(t, "headers"),
			Body: rapid.SampledFrom([]string{"", "{}"}).Draw(t, "body"),
		}
	} else {
		params := rapid.SliceOfN(rapid.SampledFrom([]any{1.5, "x", true, nil}), 0, 2).Draw(t, "params")
		j.SQL = &domain.SQLSpec{
			Driver: domain.DriverPostgres, DSN: rapid.SampledFrom([]string{"{{ var.DSN }}", "host=db password=hunter2"}).Draw(t, "dsn"),
			Statements: []domain.SQLStatement{{SQL: "select 1", Params: params}},
			MaxRows:    rapid.IntRange(0, 2).Draw(t, "maxRows"),
		}
	}
	return j
}

func definitionJSON(t *rapid.T, j *domain.Job) string {
	b, err := json.Marshal(jobs.DefinitionOf(j))
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// TestNormalizeIsStableAndLeavesItsInputAlone: normalising twice is normalising once, the
// definition of a job does not differ from itself or its normal form, and the job normalised is
// not changed.
func TestNormalizeIsStableAndLeavesItsInputAlone(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		j := genJob(t)
		before, err := json.Marshal(j)
		require.NoError(t, err)
		n := jobs.Normalize(j)
		after, err := json.Marshal(j)
		require.NoError(t, err)
		require.JSONEq(t, string(before), string(after), "Normalize changed its input")
		require.Equal(t, definitionJSON(t, n), definitionJSON(t, jobs.Normalize(n)))
		require.Empty(t, jobs.Diff(j, j))
		require.Empty(t, jobs.Diff(j, n))
		require.Empty(t, jobs.Diff(n, j))
	})
}

// TestDiffIsEmptyExactlyWhenDefinitionsAreTheSame: two jobs' diff is empty exactly when their
// normal definitions are equal; otherwise it names each changed field once.
func TestDiffIsEmptyExactlyWhenDefinitionsAreTheSame(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		a, b := genJob(t), genJob(t)
		same := rapid.Bool().Draw(t, "same")
		if same {
			// The same definition, written otherwise: its instants in another zone.
			b = jobs.Normalize(a)
			zone := time.FixedZone("", rapid.IntRange(-12, 14).Draw(t, "zone")*3600)
			for _, at := range []**time.Time{&b.Schedule.Anchor, &b.Schedule.EndAt} {
				if *at != nil {
					moved := (*at).In(zone)
					*at = &moved
				}
			}
		}
		diff := jobs.Diff(a, b)
		if same {
			require.Empty(t, diff)
		}
		require.Equal(t, definitionJSON(t, a) == definitionJSON(t, b), len(diff) == 0, "%v", diff)
		paths := make([]string, len(diff))
		for i, c := range diff {
			paths[i] = c.Path
			require.NotEmpty(t, c.Path)
		}
		slices.Sort(paths)
		require.Equal(t, len(paths), len(slices.Compact(paths)), "a field named twice: %v", diff)
		require.Len(t, jobs.Diff(b, a), len(diff), "a diff has as many fields both ways")
	})
}

// TestDefinitionSurvivesTheWire: a definition written as JSON and read back as a job is the
// same definition, so an export applied back is a no-op.
func TestDefinitionSurvivesTheWire(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		j := genJob(t)
		var back domain.Job
		require.NoError(t, json.Unmarshal([]byte(definitionJSON(t, j)), &back))
		require.Empty(t, jobs.Diff(j, &back))
		require.Equal(t, definitionJSON(t, j), definitionJSON(t, &back))
	})
}

// TestDiffShowsNoCredential: a credential typed into a job (kept from before the rule that
// refuses it) shows in a diff as the audit log shows it, redacted; references stay.
func TestDiffShowsNoCredential(t *testing.T) {
	t.Parallel()
	a := &domain.Job{Name: "a", Schedule: domain.Schedule{Cron: "@daily"},
		HTTP: &domain.HTTPSpec{URL: "https://x.test/", Headers: map[string]string{"Authorization": "Bearer old-secret"}}}
	b := jobs.Normalize(a)
	b.HTTP.Headers["Authorization"] = "Bearer {{ var.TOKEN }}"
	diff := jobs.Diff(a, b)
	require.Equal(t, []jobs.FieldChange{{Path: "http.headers.Authorization", Old: domain.Redacted, New: "Bearer {{ var.TOKEN }}"}}, diff)
	require.Equal(t, "Bearer old-secret", a.HTTP.Headers["Authorization"])
}

// TestDiffShowsTagsAsOneList: the tags are a set; a diff shows the list before and after as one
// field, not each position that an insertion moved.
func TestDiffShowsTagsAsOneList(t *testing.T) {
	t.Parallel()
	a := &domain.Job{Name: "a", Schedule: domain.Schedule{Cron: "@daily"}, HTTP: &domain.HTTPSpec{URL: "https://x.test/"},
		Tags: []string{"c", "a"}}
	b := jobs.Normalize(a)
	b.Tags = []string{"b", "a", "c", "b"}
	require.Equal(t, []jobs.FieldChange{{Path: "tags", Old: []any{"a", "c"}, New: []any{"a", "b", "c"}}}, jobs.Diff(a, b))
	b.Tags = nil
	require.Equal(t, []jobs.FieldChange{{Path: "tags", Old: []any{"a", "c"}}}, jobs.Diff(a, b))
	require.Equal(t, []jobs.FieldChange{{Path: "tags", New: []any{"a", "c"}}}, jobs.Diff(b, a))
	b.Tags = []string{" a ", "c", "a"}
	require.Empty(t, jobs.Diff(a, b), "the same set, written otherwise")
}
