package eventfilter_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/eventfilter"
)

func event(attrs map[string]string) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID("1")
	ev.SetSource("/test")
	ev.SetType("t")
	for k, v := range attrs {
		switch k {
		case "type":
			ev.SetType(v)
		case "source":
			ev.SetSource(v)
		case "subject":
			ev.SetSubject(v)
		default:
			ev.SetExtension(k, v)
		}
	}
	return ev
}

func compile(t *testing.T, js string) *eventfilter.Matcher {
	t.Helper()
	var fs []domain.EventFilter
	require.NoError(t, jsonUnmarshal(js, &fs))
	m, err := eventfilter.Compile("filters", fs)
	require.NoError(t, err)
	return m
}

func TestEachFilterKind(t *testing.T) {
	t.Parallel()
	paid := event(map[string]string{"type": "com.shop.order.paid", "source": "/shop/eu", "subject": "order-7", "region": "vn"})
	for _, tc := range []struct {
		name, filters string
		want          bool
	}{
		{"Empty", `[]`, true},
		{"Exact", `[{"exact":{"type":"com.shop.order.paid"}}]`, true},
		{"ExactOther", `[{"exact":{"type":"com.shop.order.refunded"}}]`, false},
		{"ExactExtension", `[{"exact":{"region":"vn"}}]`, true},
		{"ExactMissing", `[{"exact":{"tenant":"a"}}]`, false},
		{"Prefix", `[{"prefix":{"type":"com.shop."}}]`, true},
		{"Suffix", `[{"suffix":{"subject":"-7"}}]`, true},
		{"SuffixMissesOther", `[{"suffix":{"subject":"-8"}}]`, false},
		{"All", `[{"all":[{"prefix":{"source":"/shop"}},{"exact":{"region":"vn"}}]}]`, true},
		{"AllOneFails", `[{"all":[{"prefix":{"source":"/shop"}},{"exact":{"region":"th"}}]}]`, false},
		{"Any", `[{"any":[{"exact":{"region":"th"}},{"exact":{"region":"vn"}}]}]`, true},
		{"AnyNone", `[{"any":[{"exact":{"region":"th"}},{"exact":{"region":"la"}}]}]`, false},
		{"Not", `[{"not":{"exact":{"region":"th"}}}]`, true},
		{"NotMatch", `[{"not":{"exact":{"region":"vn"}}}]`, false},
		{"CESQL", `[{"cesql":"type LIKE 'com.shop.%' AND region = 'vn'"}]`, true},
		{"CESQLFalse", `[{"cesql":"region IN ('th', 'la')"}]`, false},
		{"TopLevelIsAll", `[{"exact":{"region":"vn"}},{"exact":{"subject":"order-8"}}]`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, failed := compile(t, tc.filters).Match(paid)
			require.Equal(t, tc.want, got)
			require.False(t, failed)
		})
	}
}

// TestCESQLRuntimeErrorIsNoMatch: an expression that fails on an event is false where it
// stands, and reported, as in Knative.
func TestCESQLRuntimeErrorIsNoMatch(t *testing.T) {
	t.Parallel()
	ev := event(map[string]string{"amount": "lots"})
	got, failed := compile(t, `[{"cesql":"INT(amount) > 10"}]`).Match(ev)
	require.False(t, got)
	require.True(t, failed)
	got, failed = compile(t, `[{"cesql":"missing = 'x'"}]`).Match(ev)
	require.False(t, got, "a missing attribute is no match")
	_ = failed
	got, _ = compile(t, `[{"cesql":"amount"}]`).Match(ev)
	require.False(t, got, "a value that is not a boolean is no match")
}

func TestCompileRefusesBadFiltersNamingTheField(t *testing.T) {
	t.Parallel()
	deep := `{"exact":{"type":"x"}}`
	for range eventfilter.MaxDepth {
		deep = `{"not":` + deep + `}`
	}
	for _, tc := range []struct{ filters, field string }{
		{`[{}]`, "filters[0]"},
		{`[{"exact":{"type":"a"},"prefix":{"type":"b"}}]`, "filters[0]"},
		{`[{"exact":{}}]`, "filters[0].exact"},
		{`[{"exact":{"type":"a","source":"b"}}]`, "filters[0].exact"},
		{`[{"exact":{"Type":"a"}}]`, "filters[0].exact"},
		{`[{"exact":{"type":"a"}},{"prefix":{"type":""}}]`, "filters[1].prefix.type"},
		{`[{"suffix":{"subject":""}}]`, "filters[0].suffix.subject"},
		{`[{"all":[]}]`, "filters[0].all"},
		{`[{"any":[{"exact":{"type":"a"}},{"cesql":"type ="}]}]`, "filters[0].any[1].cesql"},
		{`[{"not":{"cesql":"1 +"}}]`, "filters[0].not.cesql"},
		{`[{"cesql":"` + strings.Repeat("a", eventfilter.MaxCESQL+1) + `"}]`, "filters[0].cesql"},
		{`[` + deep + `]`, "filters[0]" + strings.Repeat(".not", eventfilter.MaxDepth)},
	} {
		var fs []domain.EventFilter
		require.NoError(t, jsonUnmarshal(tc.filters, &fs), tc.filters)
		_, err := eventfilter.Compile("filters", fs)
		var v *domain.ValidationError
		require.True(t, errors.As(err, &v), "%s: %v", tc.filters, err)
		var got []string
		for _, f := range v.Fields {
			got = append(got, f.Field)
		}
		require.Contains(t, got, tc.field, "%.80s: %v", tc.filters, err)
	}
}

// attrs and vals are small alphabets, so that random filters and events often meet.
var (
	attrs = []string{"type", "subject", "region", "tier"}
	vals  = []string{"a", "ab", "abc", "b", "ba", "bc"}
)

// tree is a random filter with its meaning, evaluated independently of the package.
type tree struct {
	f    domain.EventFilter
	eval func(map[string]string) bool
}

func genTree(depth int) *rapid.Generator[tree] {
	return rapid.Custom(func(t *rapid.T) tree {
		kinds := []string{"exact", "prefix", "suffix", "cesql-exact", "cesql-prefix"}
		if depth > 0 {
			kinds = append(kinds, "all", "any", "not")
		}
		a := rapid.SampledFrom(attrs).Draw(t, "attr")
		v := rapid.SampledFrom(vals).Draw(t, "val")
		get := func(m map[string]string) (string, bool) { s, ok := m[a]; return s, ok }
		switch k := rapid.SampledFrom(kinds).Draw(t, "kind"); k {
		case "exact":
			return tree{domain.EventFilter{Exact: map[string]string{a: v}}, func(m map[string]string) bool { s, ok := get(m); return ok && s == v }}
		case "prefix":
			return tree{domain.EventFilter{Prefix: map[string]string{a: v}}, func(m map[string]string) bool { s, ok := get(m); return ok && strings.HasPrefix(s, v) }}
		case "suffix":
			return tree{domain.EventFilter{Suffix: map[string]string{a: v}}, func(m map[string]string) bool { s, ok := get(m); return ok && strings.HasSuffix(s, v) }}
		case "cesql-exact":
			return tree{domain.EventFilter{CESQL: fmt.Sprintf("%s = '%s'", a, v)}, func(m map[string]string) bool { s, ok := get(m); return ok && s == v }}
		case "cesql-prefix":
			return tree{domain.EventFilter{CESQL: fmt.Sprintf("%s LIKE '%s%%'", a, v)}, func(m map[string]string) bool { s, ok := get(m); return ok && strings.HasPrefix(s, v) }}
		case "not":
			sub := genTree(depth-1).Draw(t, "sub")
			return tree{domain.EventFilter{Not: &sub.f}, func(m map[string]string) bool { return !sub.eval(m) }}
		default:
			subs := rapid.SliceOfN(genTree(depth-1), 1, 3).Draw(t, "subs")
			fs := make([]domain.EventFilter, len(subs))
			for i, s := range subs {
				fs[i] = s.f
			}
			f := domain.EventFilter{All: fs}
			if k == "any" {
				f = domain.EventFilter{Any: fs}
			}
			return tree{f, func(m map[string]string) bool {
				for _, s := range subs {
					if s.eval(m) != (k == "all") {
						return k != "all"
					}
				}
				return k == "all"
			}}
		}
	})
}

// TestFiltersMeanWhatTheySay: every filter kind, CESQL included, nested at random, matches
// exactly the events its meaning says, and CESQL agrees with the dialect's own filters.
func TestFiltersMeanWhatTheySay(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		trees := rapid.SliceOfN(genTree(3), 0, 3).Draw(t, "filters")
		fs := make([]domain.EventFilter, len(trees))
		for i, tr := range trees {
			fs[i] = tr.f
		}
		m, err := eventfilter.Compile("filters", fs)
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		attrsOf := map[string]string{"type": rapid.SampledFrom(vals).Draw(t, "type")}
		for _, a := range attrs[1:] {
			if rapid.Bool().Draw(t, "has "+a) {
				attrsOf[a] = rapid.SampledFrom(vals).Draw(t, a)
			}
		}
		want := true
		for _, tr := range trees {
			want = want && tr.eval(attrsOf)
		}
		got, _ := m.Match(event(attrsOf))
		if got != want {
			t.Fatalf("filters %+v on %v: got %v, want %v", fs, attrsOf, got, want)
		}
	})
}

// TestIndexedTypeIsRequired: whenever a trigger's filters name an indexed type, an event of
// another type never matches them — the store may skip such jobs without evaluating them.
func TestIndexedTypeIsRequired(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		trees := rapid.SliceOfN(genTree(2), 0, 3).Draw(t, "filters")
		fs := make([]domain.EventFilter, len(trees))
		for i, tr := range trees {
			fs[i] = tr.f
		}
		typ := (&domain.EventTrigger{Filters: fs}).IndexedType()
		m, err := eventfilter.Compile("filters", fs)
		if err != nil || typ == "" {
			return
		}
		ev := map[string]string{"type": rapid.SampledFrom(vals).Draw(t, "type"), "region": rapid.SampledFrom(vals).Draw(t, "region")}
		if got, _ := m.Match(event(ev)); got && ev["type"] != typ {
			t.Fatalf("filters %+v index type %q but match type %q", fs, typ, ev["type"])
		}
	})
}
