package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/ratelimit"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/redisconn"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/variables"
)

// newEventClient is newClient with the jobs service on clk and, with limiter, the event rate
// limiter in Redis.
func newEventClient(t *testing.T, clk clockwork.Clock, limiter bool) *client {
	t.Helper()
	st, dbURL := testfactory.Store(t)
	key, err := secret.NewKey("test")
	require.NoError(t, err)
	keys, err := secret.ParseKeys(key)
	require.NoError(t, err)
	ident := testfactory.Identity(t, st, testfactory.AuthConfig(t), time.Now)
	d := api.Deps{Jobs: jobs.New(st, clk.Now), Vars: variables.New(st, keys, time.Now), Store: st, Identity: ident,
		Checks: []server.Check{{Name: "postgres", Fn: st.Ping}}}
	if limiter {
		url, prefix := testenv.RedisURL(t)
		rdb, err := redisconn.Open(redisconn.Config{URL: url}, "ratelimit", nil, nil)
		require.NoError(t, err)
		t.Cleanup(func() { _ = rdb.Close() })
		d.EventLimiter = ratelimit.NewEvents(rdb, prefix)
	}
	srv := httptest.NewServer(api.New(d, clk.Now, testenv.Logger(t)))
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, st: st, dbURL: dbURL, token: testfactory.AdminToken(t, st)}
}

type eventAnswer struct {
	Executions []jobs.EventExecution `json:"executions"`
}

// structured is a CloudEvent in structured mode with data.
func structured(id, source, typ, extra, data string) string {
	return fmt.Sprintf(`{"specversion":"1.0","id":%q,"source":%q,"type":%q%s,"datacontenttype":"application/json","data":%s}`,
		id, source, typ, extra, data)
}

// publish posts body to /events with header pairs and expects want.
func (c *client) publish(want int, body string, header ...string) eventAnswer {
	c.t.Helper()
	code, _, b := c.do(http.MethodPost, "/events", body, append([]string{"Content-Type", "application/cloudevents+json"}, header...)...)
	require.Equal(c.t, want, code, string(b))
	var out eventAnswer
	require.NoError(c.t, json.Unmarshal(b, &out))
	require.NotNil(c.t, out.Executions, "the list is there, empty or not")
	return out
}

// eventJob creates a job in ns that runs on events alone, with the trigger's JSON.
func (c *client) eventJob(ns, name, trigger string) *domain.Job {
	c.t.Helper()
	j, _ := c.createJob(fmt.Sprintf(`{"namespace":%q,"name":%q,"http":{"method":"POST","url":"https://example.test/hook","body":"{{ trigger.event.data }}"},"triggers":[{"event":%s}]}`,
		ns, name, trigger))
	return j
}

// jobsRun returns the ids of the jobs an answer started.
func jobsRun(a eventAnswer) []string {
	var out []string
	for _, x := range a.Executions {
		out = append(out, x.JobID)
	}
	return out
}

func executionIDs(a eventAnswer) []string {
	var out []string
	for _, x := range a.Executions {
		out = append(out, x.ExecutionID)
	}
	return out
}

// TestEventsRefuseHostileCallers: no credential is 401, a caller without event:publish 403; an
// event matching jobs in namespaces the caller may not execute in starts none of them and
// answers as if nothing matched.
func TestEventsRefuseHostileCallers(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	theirs := c.eventJob("team-b", "theirs", `{"filters":[{"exact":{"type":"com.shop.order.paid"}}]}`)
	body := structured("o-1", "/shop", "com.shop.order.paid", "", `{}`)

	anon := *c
	anon.token = ""
	anon.problem(http.MethodPost, "/events", body, http.StatusUnauthorized, "Content-Type", "application/cloudevents+json")
	bad := *c
	bad.token = "vct_not-a-token"
	bad.problem(http.MethodPost, "/events", body, http.StatusUnauthorized, "Content-Type", "application/cloudevents+json")

	viewer := c.as(rbac.RoleViewer, "team-b")
	p := viewer.problem(http.MethodPost, "/events", body, http.StatusForbidden, "Content-Type", "application/cloudevents+json")
	require.Contains(t, p.Detail, "event:publish")
	operator := c.as(rbac.RoleOperator, "team-b") // may execute, may not publish
	operator.problem(http.MethodPost, "/events", body, http.StatusForbidden, "Content-Type", "application/cloudevents+json")

	editorA := c.as(rbac.RoleEditor, "team-a")
	out := editorA.publish(http.StatusOK, body)
	require.Empty(t, out.Executions, "a job of another namespace is neither started nor revealed")
	publishOnly := c.as(rbac.RoleEditor, "team-b", domain.PermEventPublish)
	require.Empty(t, publishOnly.publish(http.StatusOK, body).Executions, "event:publish without job:execute starts nothing")

	page, err := c.st.ListExecutions(t.Context(), theirs.ID, domain.ExecutionFilter{}, nil, 10)
	require.NoError(t, err)
	require.Empty(t, page, "nothing was recorded for the job of the other namespace")

	// Where the caller holds both, the same event runs the job.
	scoped := c.as(rbac.RoleEditor, "team-b", domain.PermEventPublish, domain.PermJobExecute)
	require.Equal(t, []string{theirs.ID}, jobsRun(scoped.publish(http.StatusAccepted, body)))
}

// TestEventsInEveryModeAndFilterKind: binary, structured and batch modes reach the jobs whose
// filters (each kind) match, one queued execution each, with the event in the fire's payload;
// the same event delivered again, even concurrently, runs once.
func TestEventsInEveryModeAndFilterKind(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	ns := "shop"
	exact := c.eventJob(ns, "exact", `{"filters":[{"exact":{"type":"com.shop.order.paid"}}]}`)
	prefix := c.eventJob(ns, "prefix", `{"filters":[{"prefix":{"source":"/shop/eu"}}]}`)
	suffix := c.eventJob(ns, "suffix", `{"filters":[{"suffix":{"subject":"-vip"}}]}`)
	all := c.eventJob(ns, "all", `{"filters":[{"all":[{"exact":{"type":"com.shop.order.paid"}},{"exact":{"region":"vn"}}]}]}`)
	anyJob := c.eventJob(ns, "any", `{"filters":[{"any":[{"exact":{"region":"th"}},{"exact":{"type":"com.shop.order.refunded"}}]}]}`)
	not := c.eventJob(ns, "not", `{"filters":[{"exact":{"type":"com.shop.order.paid"}},{"not":{"exact":{"region":"vn"}}}]}`)
	cesql := c.eventJob(ns, "cesql", `{"filters":[{"cesql":"type = 'com.shop.order.paid' AND INT(amount) > 1000"}]}`)
	require.Equal(t, domain.StateOnEvent, exact.State)
	require.Nil(t, exact.NextRunAt, "the tick never claims a job without a schedule")

	// Binary mode: attributes in ce- headers, the data as the body.
	out := c.publish(http.StatusAccepted, `{"order":1}`, "Content-Type", "application/json", "Ce-Specversion", "1.0",
		"Ce-Id", "b-1", "Ce-Source", "/shop/eu/web", "Ce-Type", "com.shop.order.paid", "Ce-Region", "vn", "Ce-Amount", "5000")
	require.ElementsMatch(t, []string{exact.ID, prefix.ID, all.ID, cesql.ID}, jobsRun(out))
	for _, x := range out.Executions {
		require.Equal(t, domain.StatusQueued, x.Status)
		require.Equal(t, domain.EventKey(x.JobID, "/shop/eu/web", "b-1"), x.IdempotencyKey)
		e := c.execution(x.ExecutionID)
		require.Equal(t, domain.TriggerEvent, e.Trigger)
		require.Equal(t, domain.StatusQueued, e.Status)
	}

	// Structured mode.
	out = c.publish(http.StatusAccepted, structured("s-1", "/shop/asia", "com.shop.order.paid", `,"subject":"cust-vip","region":"th"`, `{"order":2}`))
	require.ElementsMatch(t, []string{exact.ID, suffix.ID, anyJob.ID, not.ID}, jobsRun(out))

	// Batch mode: one request, several events.
	batch := "[" + structured("k-1", "/crm", "com.shop.order.refunded", "", `{}`) + "," +
		structured("k-2", "/crm", "com.shop.order.shipped", "", `{}`) + "]"
	out = c.publish(http.StatusAccepted, batch, "Content-Type", "application/cloudevents-batch+json")
	require.Equal(t, []string{anyJob.ID}, jobsRun(out))

	// Nothing matches: 200 with none.
	require.Empty(t, c.publish(http.StatusOK, structured("n-1", "/crm", "com.other", "", `{}`)).Executions)

	// The fire carries the event: templates read trigger.event.*.
	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Minute), 100)
	require.NoError(t, err)
	var found bool
	for _, f := range fires {
		if f.Key != domain.EventKey(cesql.ID, "/shop/eu/web", "b-1") {
			continue
		}
		found = true
		var d struct {
			Trigger domain.Trigger  `json:"trigger"`
			Payload json.RawMessage `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(f.Payload, &d))
		require.Equal(t, domain.TriggerEvent, d.Trigger)
		var ev map[string]any
		require.NoError(t, json.Unmarshal(d.Payload, &ev))
		require.Equal(t, "b-1", ev["id"])
		require.Equal(t, "vn", ev["region"])
		require.Equal(t, map[string]any{"order": float64(1)}, ev["data"])
	}
	require.True(t, found, "the cesql job's fire is queued")

	// The same event again — and again, concurrently — runs once.
	body := structured("s-1", "/shop/asia", "com.shop.order.paid", `,"subject":"cust-vip","region":"th"`, `{"order":2}`)
	first := map[string]string{}
	for _, x := range c.publish(http.StatusAccepted, body).Executions {
		first[x.JobID] = x.ExecutionID
		require.True(t, x.Replayed)
	}
	var wg sync.WaitGroup
	fresh := structured("r-1", "/shop/asia", "com.shop.order.paid", `,"region":"vn"`, `{}`)
	answers := make([]eventAnswer, 5)
	for i := range answers {
		wg.Go(func() {
			code, _, b := c.do(http.MethodPost, "/events", fresh, "Content-Type", "application/cloudevents+json")
			if code == http.StatusAccepted {
				_ = json.Unmarshal(b, &answers[i])
			}
		})
	}
	wg.Wait()
	for _, a := range answers {
		require.ElementsMatch(t, []string{exact.ID, all.ID}, jobsRun(a))
		require.ElementsMatch(t, executionIDs(answers[0]), executionIDs(a), "concurrent deliveries share one execution per job")
	}
	page, err := c.st.ListExecutions(t.Context(), exact.ID, domain.ExecutionFilter{}, nil, 100)
	require.NoError(t, err)
	require.Len(t, page, 3, "b-1, s-1 and r-1 once each")

	rows, err := c.st.ListAudit(t.Context(), store.AuditFilter{Limit: 500, Action: "job.event"})
	require.NoError(t, err)
	require.NotEmpty(t, rows, "an event's run is audited")
}

// TestEventsRefuseBadInputNamingTheAttribute: a body that is not a CloudEvent, or an event
// missing what vecron needs, is a 400 naming it — never a 500; too much is a 413.
func TestEventsRefuseBadInputNamingTheAttribute(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	c.eventJob("default", "any", `{"filters":[]}`)
	ce := "application/cloudevents+json"
	for name, tc := range map[string]struct {
		body, ctype string
		header      []string
		field       string
	}{
		"NotJSON":         {`{"specversion":`, ce, nil, "body"},
		"NoAttributes":    {`{}`, ce, nil, "body"},
		"MissingSource":   {`{"specversion":"1.0","id":"1","type":"t"}`, ce, nil, "source"},
		"MissingID":       {`{"specversion":"1.0","source":"/s","type":"t"}`, ce, nil, "id"},
		"OldSpec":         {`{"specversion":"0.3","id":"1","source":"/s","type":"t"}`, ce, nil, "specversion"},
		"LongSource":      {structured("1", "/"+strings.Repeat("s", 256), "t", "", "{}"), ce, nil, "source"},
		"ControlInID":     {`{"specversion":"1.0","id":"a\u0001b","source":"/s","type":"t"}`, ce, nil, "id"},
		"LongID":          {structured(strings.Repeat("i", 129), "/s", "t", "", "{}"), ce, nil, "id"},
		"BinaryNoType":    {`{}`, "application/json", []string{"Ce-Specversion", "1.0", "Ce-Id", "1", "Ce-Source", "/s"}, "type"},
		"BatchBadEvent":   {"[" + structured("1", "/s", "t", "", "{}") + `,{"specversion":"1.0","source":"/s","type":"t"}]`, "application/cloudevents-batch+json", nil, "events[1].id"},
		"BatchEmpty":      {`[]`, "application/cloudevents-batch+json", nil, "events"},
		"BatchNotAList":   {`{"a":1}`, "application/cloudevents-batch+json", nil, "body"},
		"InvalidUTF8Body": {"\xff\xfe", ce, nil, "body"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := c.in(t).problem(http.MethodPost, "/events", tc.body, http.StatusBadRequest, append([]string{"Content-Type", tc.ctype}, tc.header...)...)
			require.Contains(t, fields(p), tc.field, p.Detail)
		})
	}
	// Plain JSON without ce- headers is no CloudEvent mode at all.
	p := c.problem(http.MethodPost, "/events", `{"a":1}`, http.StatusUnsupportedMediaType, "Content-Type", "application/json")
	require.Contains(t, p.Detail, "binary mode")
	big := structured("1", "/s", "t", "", `"`+strings.Repeat("x", jobs.MaxEventData+10)+`"`)
	p = c.problem(http.MethodPost, "/events", big, http.StatusRequestEntityTooLarge, "Content-Type", ce)
	require.Equal(t, []string{"data"}, fields(p))
	huge := `"` + strings.Repeat("x", 1<<20) + `"`
	c.problem(http.MethodPost, "/events", huge, http.StatusRequestEntityTooLarge, "Content-Type", ce)
	var many []string
	for i := range 101 {
		many = append(many, structured(fmt.Sprint(i), "/s", "t", "", "{}"))
	}
	p = c.problem(http.MethodPost, "/events", "["+strings.Join(many, ",")+"]", http.StatusRequestEntityTooLarge, "Content-Type", "application/cloudevents-batch+json")
	require.Equal(t, []string{"events"}, fields(p))
	fires, err := c.st.DueQueued(t.Context(), time.Now().Add(time.Minute), 10)
	require.NoError(t, err)
	require.Empty(t, fires, "a refused request starts nothing")
}

// TestEventTriggersAreCheckedOnWrite: bad filters, CESQL that does not parse, a second event
// trigger and bad debounce or rate settings are refused, naming the field.
func TestEventTriggersAreCheckedOnWrite(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	job := func(triggers string) string {
		return `{"name":"j","http":{"url":"https://example.test/"},"triggers":` + triggers + `}`
	}
	for name, tc := range map[string]struct{ body, field string }{
		"CESQL":          {job(`[{"event":{"filters":[{"exact":{"type":"a"}},{"cesql":"type = "}]}}]`), "triggers[0].event.filters[1].cesql"},
		"EmptyPrefix":    {job(`[{"event":{"filters":[{"exact":{"type":"a"}},{"prefix":{"type":""}}]}}]`), "triggers[0].event.filters[1].prefix.type"},
		"TwoKinds":       {job(`[{"event":{"filters":[{"exact":{"type":"a"},"suffix":{"type":"b"}}]}}]`), "triggers[0].event.filters[0]"},
		"TwoEvents":      {job(`[{"event":{"filters":[]}},{"event":{"filters":[]}}]`), "triggers[1].event"},
		"NoKind":         {job(`[{}]`), "triggers[0]"},
		"Debounce":       {job(`[{"event":{"filters":[],"debounce":"10ms"}}]`), "triggers[0].event.debounce"},
		"RateEvents":     {job(`[{"event":{"filters":[],"max_rate":{"events":0,"per":"1m"}}}]`), "triggers[0].event.max_rate.events"},
		"RatePer":        {job(`[{"event":{"filters":[],"max_rate":{"events":5,"per":"1ms"}}}]`), "triggers[0].event.max_rate.per"},
		"UnknownField":   {job(`[{"event":{"filters":[],"delay":"1m"}}]`), "delay"},
		"HalfASchedule":  {`{"name":"j","http":{"url":"https://example.test/"},"schedule":{"excluded_dates":["2026-01-01"]},"triggers":[{"event":{"filters":[]}}]}`, "schedule"},
		"NoScheduleNoEv": {`{"name":"j","http":{"url":"https://example.test/"}}`, "schedule.cron"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := c.in(t).problem(http.MethodPost, "/api/v1/jobs", tc.body, http.StatusBadRequest)
			require.Contains(t, fields(p), tc.field, p.Detail)
		})
	}
	// Beside a schedule, a trigger keeps the job scheduled.
	j, _ := c.createJob(`{"name":"both","schedule":{"cron":"@hourly"},"http":{"url":"https://example.test/"},"triggers":[{"event":{"filters":[{"exact":{"type":"a"}}]}}]}`)
	require.Equal(t, domain.StateScheduled, j.State)
	require.NotNil(t, j.NextRunAt)
	require.Len(t, j.Triggers, 1)
}

// TestEventMaxRateSkipsTheExcess: events beyond a job's max_rate are recorded skipped with
// reason rate, across requests (the allowance is in Redis).
func TestEventMaxRateSkipsTheExcess(t *testing.T) {
	t.Parallel()
	c := newEventClient(t, clockwork.NewRealClock(), true)
	j := c.eventJob("default", "limited", `{"filters":[{"exact":{"type":"tick"}}],"max_rate":{"events":2,"per":"1h"}}`)
	var statuses []domain.ExecutionStatus
	for i := range 4 {
		out := c.publish(http.StatusAccepted, structured(fmt.Sprint("e-", i), "/s", "tick", "", "{}"))
		require.Len(t, out.Executions, 1)
		statuses = append(statuses, out.Executions[0].Status)
		if i == 3 {
			e := c.execution(out.Executions[0].ExecutionID)
			require.Equal(t, domain.StatusSkipped, e.Status)
			require.Contains(t, e.Error, "rate")
		}
	}
	require.Equal(t, []domain.ExecutionStatus{domain.StatusQueued, domain.StatusQueued, domain.StatusSkipped, domain.StatusSkipped}, statuses)
	_ = j

	// Without a limiter, an event for a rate-limited job is refused, not let through.
	bare := newClient(t)
	bare.eventJob("default", "limited", `{"filters":[],"max_rate":{"events":2,"per":"1h"}}`)
	code, h, b := bare.do(http.MethodPost, "/events", structured("x", "/s", "tick", "", "{}"), "Content-Type", "application/cloudevents+json")
	require.Equal(t, http.StatusServiceUnavailable, code, string(b))
	require.NotEmpty(t, h.Get("Retry-After"))
}

// TestEventDebounceCoalescesOnTheClock: events within a job's debounce window make one
// execution, due when the window closes, that sees the last event; the window lives in the
// outbox, so the test moves the clock instead of waiting.
func TestEventDebounceCoalescesOnTheClock(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Millisecond))
	c := newEventClient(t, clk, false)
	j := c.eventJob("default", "debounced", `{"filters":[{"exact":{"type":"changed"}}],"debounce":"1m"}`)
	send := func(id string) jobs.EventExecution {
		out := c.publish(http.StatusAccepted, structured(id, "/cms", "changed", "", fmt.Sprintf(`{"n":%q}`, id)))
		require.Len(t, out.Executions, 1)
		return out.Executions[0]
	}
	start := clk.Now()
	first := send("d-1")
	e := c.execution(first.ExecutionID)
	require.Equal(t, domain.StatusQueued, e.Status)
	require.True(t, e.ScheduledAt.Equal(start.Add(time.Minute)), "due when the window closes: %s", e.ScheduledAt)

	clk.Advance(20 * time.Second)
	second := send("d-2")
	require.Equal(t, first.ExecutionID, second.ExecutionID, "coalesced into the window's execution")
	clk.Advance(20 * time.Second)
	require.Equal(t, first.ExecutionID, send("d-3").ExecutionID)
	require.Equal(t, first.ExecutionID, send("d-2").ExecutionID, "a redelivery is answered by its receipt")

	fires, err := c.st.DueQueued(t.Context(), start.Add(59*time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, fires, "nothing is published before the window closes")
	fires, err = c.st.DueQueued(t.Context(), start.Add(time.Minute), 10)
	require.NoError(t, err)
	require.Len(t, fires, 1, "one fire for the window")
	require.Equal(t, domain.EventKey(j.ID, "/cms", "d-1"), fires[0].Key)
	var d struct {
		Payload struct {
			ID string `json:"id"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(fires[0].Payload, &d))
	require.Equal(t, "d-3", d.Payload.ID, "the execution sees the last event")

	// After the window: a new one.
	clk.Advance(time.Minute)
	next := send("d-4")
	require.NotEqual(t, first.ExecutionID, next.ExecutionID)
}

// TestEventOfADeletedOrPausedJob: a paused job is not matched; an unknown job id never leaks.
func TestEventOfAPausedJobStartsNothing(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	j := c.eventJob("default", "paused", `{"filters":[]}`)
	code, _, b := c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/disable", "")
	require.Equal(t, http.StatusOK, code, string(b))
	require.Empty(t, c.publish(http.StatusOK, structured(uuid.NewString(), "/s", "t", "", "{}")).Executions)
	code, _, b = c.do(http.MethodPost, "/api/v1/jobs/"+j.ID+"/enable", "")
	require.Equal(t, http.StatusOK, code, string(b))
	require.Len(t, c.publish(http.StatusAccepted, structured(uuid.NewString(), "/s", "t", "", "{}")).Executions, 1)
}

// TestEventTriggersTravelInExportAndApply: an export carries a job's triggers, an apply of
// that export changes nothing, and an apply that edits them is planned and stored.
func TestEventTriggersTravelInExportAndApply(t *testing.T) {
	t.Parallel()
	c := newClient(t)
	item := `{"namespace":"ops","name":"on-paid","http":{"url":"https://example.test/paid"},"triggers":[{"event":{"filters":[{"prefix":{"type":"com.shop."}}],"debounce":"30s"}}]}`
	c.apply(applyBody(false, false, item))
	j := c.jobsIn("ops")["on-paid"]
	require.NotNil(t, j)
	require.Equal(t, "com.shop.", j.EventTrigger().Filters[0].Prefix["type"])
	require.Equal(t, domain.Duration(30*time.Second), j.EventTrigger().Debounce)

	code, _, b := c.do(http.MethodGet, "/api/v1/jobs/export?namespace=ops", "")
	require.Equal(t, http.StatusOK, code, string(b))
	var doc struct {
		Jobs []domain.JobDefinition `json:"jobs"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	require.Len(t, doc.Jobs, 1)
	require.Equal(t, j.Triggers, doc.Jobs[0].Triggers, "the export carries the triggers")

	again, err := json.Marshal(map[string]any{"jobs": doc.Jobs})
	require.NoError(t, err)
	c.apply(string(again))
	require.Equal(t, j.Version, c.jobsIn("ops")["on-paid"].Version, "applying the export changes nothing")

	c.apply(applyBody(false, false, strings.Replace(item, `"30s"`, `"1m"`, 1)))
	require.Equal(t, domain.Duration(time.Minute), c.jobsIn("ops")["on-paid"].EventTrigger().Debounce)
}
