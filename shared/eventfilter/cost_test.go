package eventfilter_test

import (
	"fmt"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/eventfilter"
)

// TestLikeWorkIsBoundedOnWrite: a long LIKE pattern, CONCAT_WS, and LIKEs whose work adds up
// past the trigger's budget are refused on the filter's field; what is accepted is within the
// budget.
func TestLikeWorkIsBoundedOnWrite(t *testing.T) {
	t.Parallel()
	long := "x LIKE '%" + strings.Repeat("a", 4000) + "b%'"
	require.Less(t, len(long), eventfilter.MaxCESQL, "within the length a CESQL expression may have")
	for name, tc := range map[string]struct {
		filters []domain.EventFilter
		field   string
	}{
		"LongPattern": {[]domain.EventFilter{{Any: []domain.EventFilter{{CESQL: "type = 'a'"}, {CESQL: long}}}}, "f[0].any[1].cesql"},
		"ConcatWS":    {[]domain.EventFilter{{CESQL: "concat_ws(x, x, x) = 'a'"}}, "f[0].cesql"},
		"ManyLikes": {func() []domain.EventFilter {
			var fs []domain.EventFilter
			for range 8 {
				fs = append(fs, domain.EventFilter{CESQL: "x LIKE '%" + strings.Repeat("a", 250) + "%'"})
			}
			return fs
		}(), "f[4].cesql"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := eventfilter.Compile("f", tc.filters)
			var v *domain.ValidationError
			require.ErrorAs(t, err, &v)
			require.Equal(t, tc.field, v.Fields[0].Field, v.Fields[0].Reason)
		})
	}
	steps, err := eventfilter.LikeSteps("subject LIKE '%/orders/%'")
	require.NoError(t, err)
	require.Equal(t, (10+1)*(eventfilter.MaxValueLen+11*len("subject LIKE '%/orders/%'")), steps)
	_, err = eventfilter.Compile("f", worstAccepted())
	require.NoError(t, err, "the worst case the benchmark measures is a trigger one may write")
}

// worstAccepted is a trigger near the LIKE budget: patterns that fail only at their last byte,
// the backtracking scan's worst case.
func worstAccepted() []domain.EventFilter {
	f := domain.EventFilter{CESQL: "x LIKE '%" + strings.Repeat("a", 253) + "b%'"}
	return []domain.EventFilter{{Any: []domain.EventFilter{f, f, f}}}
}

// TestOversizedAttributesMatchNothing: an event with an attribute over MaxValueLen (which the
// ingest refuses) matches nothing and reports a failure, so the bound holds whoever calls Match.
func TestOversizedAttributesMatchNothing(t *testing.T) {
	t.Parallel()
	m := compile(t, `[]`)
	ok, failed := m.Match(event(map[string]string{"x": strings.Repeat("a", eventfilter.MaxValueLen+1)}))
	require.False(t, ok)
	require.True(t, failed)
	ok, failed = m.Match(event(map[string]string{"x": strings.Repeat("a", eventfilter.MaxValueLen)}))
	require.True(t, ok)
	require.False(t, failed)
}

// BenchmarkWorstLikeTrigger measures one event of the largest attributes against the worst
// trigger the budget admits (before it, one 200 kB attribute against a 4 kB pattern took
// seconds).
func BenchmarkWorstLikeTrigger(b *testing.B) {
	m, err := eventfilter.Compile("f", worstAccepted())
	if err != nil {
		b.Fatal(err)
	}
	ev := cloudevents.NewEvent()
	ev.SetID("1")
	ev.SetSource("/s")
	ev.SetType("t")
	ev.SetExtension("x", strings.Repeat("a", eventfilter.MaxValueLen))
	steps, _ := eventfilter.LikeSteps(worstAccepted()[0].Any[0].CESQL)
	b.Run(fmt.Sprintf("steps=%d", 3*steps), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, _ := m.Match(ev); ok {
				b.Fatal("matched")
			}
		}
	})
}
