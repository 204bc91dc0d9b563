package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/eventfilter"
)

// binary returns the headers of a binary-mode event with content type ct and attributes
// header pairs on top of specversion, id, source and type.
func binary(ct, id string, header ...string) []string {
	return append([]string{"Content-Type", ct, "Ce-Specversion", "1.0", "Ce-Id", id, "Ce-Source", "/s", "Ce-Type", "t"}, header...)
}

// TestEventsRefuseAttributesThatWouldBeCostlyOrBroken: attributes over 1 KiB (which filters
// would scan), invalid UTF-8 anywhere, and data that is not the JSON its content type says are
// a 400 naming the attribute, never a 500; a LIKE pattern too long is refused on the job.
func TestEventsRefuseAttributesThatWouldBeCostlyOrBroken(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.eventJob("default", "any", `{"filters":[]}`)
	long := strings.Repeat("a", eventfilter.MaxValueLen+1)
	for name, tc := range map[string]struct {
		body   string
		header []string
		field  string
	}{
		"HugeExtension":      {fmt.Sprintf(`{"specversion":"1.0","id":"l-1","source":"/s","type":"t","x":%q}`, strings.Repeat("a", 900_000)), nil, "x"},
		"LongSubject":        {structured("l-2", "/s", "t", fmt.Sprintf(`,"subject":%q`, long), "{}"), nil, "subject"},
		"LongDataSchema":     {structured("l-3", "/s", "t", fmt.Sprintf(`,"dataschema":"https://x.test/%s"`, long), "{}"), nil, "dataschema"},
		"Base64NotJSON":      {`{"specversion":"1.0","id":"s-1","source":"/s","type":"t","datacontenttype":"application/json","data_base64":"dGhpcyB7bm90IGpzb24="}`, nil, "data"},
		"BinaryNotJSON":      {"this is {not json", binary("application/json", "b-1"), "data"},
		"BinaryNotPlusJSON":  {"this is {not json", binary("application/vnd.x+json; charset=utf-8", "b-2"), "data"},
		"BinaryBadExtension": {"hi", binary("text/plain", "u-1", "Ce-Myext", "\xff"), "myext"},
		"BinaryBadSubject":   {"hi", binary("text/plain", "u-2", "Ce-Subject", "\xff"), "subject"},
		"BinaryBadType":      {"hi", append(binary("text/plain", "u-3")[:8], "Ce-Type", "\xff"), "type"},
		"BinaryLongExt":      {"hi", binary("text/plain", "u-4", "Ce-Myext", long), "myext"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := tc.header
			if h == nil {
				h = []string{"Content-Type", "application/cloudevents+json"}
			}
			p := c.in(t).problem(http.MethodPost, "/events", tc.body, http.StatusBadRequest, h...)
			require.Contains(t, fields(p), tc.field, p.Detail)
		})
	}
	// Plain text data is not held to JSON; a JSON type with JSON data passes.
	for body, ct := range map[string]string{"not json": "text/plain", `{"a":1}`: "application/json"} {
		code, _, b := c.do(http.MethodPost, "/events", body, binary(ct, "ok-"+ct)...)
		require.Equal(t, http.StatusAccepted, code, string(b))
	}

	pattern := "x LIKE '%" + strings.Repeat("a", 4000) + "b%'"
	p := c.problem(http.MethodPost, "/api/v1/jobs", `{"name":"slow","http":{"url":"https://example.test/"},"triggers":[{"event":{"filters":[{"any":[{"cesql":`+
		fmt.Sprintf("%q", pattern)+`}]}]}}]}`, http.StatusBadRequest)
	require.Contains(t, fields(p), "triggers[0].event.filters[0].any[0].cesql", p.Detail)
	require.Contains(t, p.Detail, "LIKE pattern")
}

// TestEventKeysNeverCollide: (source a/b, id c) and (source a, id b/c) are two events, and the
// longest source and id make a key that is stored and queued like any other.
func TestEventKeysNeverCollide(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := c.eventJob("default", "any", `{"filters":[]}`)
	a := c.publish(http.StatusAccepted, structured("c", "a/b", "t", "", "{}"))
	b := c.publish(http.StatusAccepted, structured("b/c", "a", "t", "", "{}"))
	require.False(t, b.Executions[0].Replayed, "a different event is not a redelivery")
	require.NotEqual(t, a.Executions[0].IdempotencyKey, b.Executions[0].IdempotencyKey)

	source, id := strings.Repeat("/", 256), strings.Repeat("%", 128)
	out := c.publish(http.StatusAccepted, structured(id, source, "t", "", "{}"))
	key := domain.EventKey(j.ID, source, id)
	require.Equal(t, key, out.Executions[0].IdempotencyKey)
	require.Len(t, key, len(j.ID)+len(":event:")+3*256+1+128)
	again := c.publish(http.StatusAccepted, structured(id, source, "t", "", "{}"))
	require.True(t, again.Executions[0].Replayed)
}

// TestEventRedeliveriesSpendNoRate: redeliveries of an event are answered from its receipt
// before the rate limiter is asked, so they never turn a fresh event into a skip.
func TestEventRedeliveriesSpendNoRate(t *testing.T) {
	t.Parallel()
	c := newEventClient(t, clockwork.NewRealClock(), true)
	c.eventJob("default", "limited", `{"filters":[{"exact":{"type":"tick"}}],"max_rate":{"events":2,"per":"1h"}}`)
	first := c.publish(http.StatusAccepted, structured("e-0", "/s", "tick", "", "{}"))
	require.Equal(t, domain.StatusQueued, first.Executions[0].Status)
	for range 3 {
		r := c.publish(http.StatusAccepted, structured("e-0", "/s", "tick", "", "{}"))
		require.True(t, r.Executions[0].Replayed)
		require.Equal(t, first.Executions[0].ExecutionID, r.Executions[0].ExecutionID)
	}
	next := c.publish(http.StatusAccepted, structured("e-1", "/s", "tick", "", "{}"))
	require.Equal(t, domain.StatusQueued, next.Executions[0].Status, "the second event is within the rate of 2")
	third := c.publish(http.StatusAccepted, structured("e-2", "/s", "tick", "", "{}"))
	require.Equal(t, domain.StatusSkipped, third.Executions[0].Status, "the third is over it")
}

// TestEventsInAFrozenNamespaceAreSkipped: a freeze holds event runs as it holds scheduled
// fires: recorded skipped with the planner's frozen reason — a debounced one at the end of its
// window — and nothing is queued; no rate token is spent on them.
func TestEventsInAFrozenNamespaceAreSkipped(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Millisecond))
	c := newEventClient(t, clk, false)
	now := c.eventJob("default", "frozen", `{"filters":[{"exact":{"type":"now"}}]}`)
	later := c.eventJob("default", "debounced", `{"filters":[{"exact":{"type":"later"}}],"debounce":"1m"}`)
	ends := clk.Now().Add(2 * time.Hour).Format(time.RFC3339)
	code, _, b := c.do(http.MethodPost, "/api/v1/freezes", `{"namespace":"default","reason":"year-end close","ends_at":"`+ends+`"}`)
	require.Equal(t, http.StatusCreated, code, string(b))

	for _, tc := range []struct {
		job *domain.Job
		typ string
		at  time.Time
	}{{now, "now", clk.Now()}, {later, "later", clk.Now().Add(time.Minute)}} {
		out := c.publish(http.StatusAccepted, structured("f-"+tc.typ, "/s", tc.typ, "", "{}"))
		require.Equal(t, []string{tc.job.ID}, jobsRun(out))
		require.Equal(t, domain.StatusSkipped, out.Executions[0].Status)
		e := c.execution(out.Executions[0].ExecutionID)
		require.True(t, strings.HasPrefix(e.Error, "frozen: year-end close (freeze "), e.Error)
		require.True(t, e.ScheduledAt.Equal(tc.at), "recorded at %s, want %s", e.ScheduledAt, tc.at)
	}
	fires, err := c.st.DueQueued(t.Context(), clk.Now().Add(time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, fires, "a frozen namespace runs nothing")
}
