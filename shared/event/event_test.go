package event_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

const testSource = "/vecron/tick/tick-0"

// sampleDue returns a complete due fire of an http job.
func sampleDue() event.Due {
	at := time.Date(2025, 3, 10, 2, 0, 0, 123_000_000, time.UTC)
	return event.Due{
		JobID:      "0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
		JobVersion: 3,
		JobName:    "nightly-report",
		Namespace:  "billing",
		Kind:       domain.KindHTTP,
		HTTP: &domain.HTTPSpec{
			Method:  "POST",
			URL:     "https://example.com/hooks/report",
			Headers: map[string]string{"Content-Type": "application/json", "X-Team": "billing"},
			Body:    `{"full":true}`,
		},
		Timezone:       "Asia/Ho_Chi_Minh",
		Timeout:        domain.Duration(45 * time.Second),
		ScheduledAt:    at,
		Trigger:        domain.TriggerSchedule,
		IdempotencyKey: domain.ScheduledKey("0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", at),
	}
}

func TestNewDue(t *testing.T) {
	t.Parallel()
	d := sampleDue()
	ev, err := event.NewDue(d, testSource)
	require.NoError(t, err)
	require.NoError(t, ev.Validate())

	assert.Equal(t, d.IdempotencyKey, ev.ID())
	assert.Equal(t, event.TypeJobDue, ev.Type())
	assert.Equal(t, testSource, ev.Source())
	assert.Equal(t, d.JobID, ev.Subject())
	assert.True(t, d.ScheduledAt.Equal(ev.Time()), "time %s, want %s", ev.Time(), d.ScheduledAt)
	assert.Equal(t, cloudevents.ApplicationJSON, ev.DataContentType())
	assert.Equal(t, "http", ev.Extensions()[event.ExtJobKind])
	assert.Equal(t, "schedule", ev.Extensions()[event.ExtTrigger])
	assert.Equal(t, 1, event.Attempt(ev))

	var data map[string]any
	require.NoError(t, json.Unmarshal(ev.Data(), &data))
	assert.Equal(t, d.JobID, data["job_id"])
	assert.Equal(t, "45s", data["timeout"])
	assert.Equal(t, "2025-03-10T02:00:00.123Z", data["scheduled_at"])
	assert.Equal(t, d.IdempotencyKey, data["idempotency_key"])
}

func TestNewDueParseDueRoundTrip(t *testing.T) {
	t.Parallel()
	d := sampleDue()
	ev, err := event.NewDue(d, testSource)
	require.NoError(t, err)
	got, err := event.ParseDue(ev)
	require.NoError(t, err)
	assert.Equal(t, d, got)
}

func TestDueFor(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	job := &domain.Job{
		ID: "job-1", Namespace: "default", Name: "ping", Kind: domain.KindHTTP, Version: 7,
		HTTP:     &domain.HTTPSpec{Method: "GET", URL: "https://example.com/"},
		Timezone: "Asia/Ho_Chi_Minh", Timeout: domain.Duration(time.Minute),
	}
	at := time.Date(2025, 3, 10, 9, 0, 0, 0, loc)
	d := event.DueFor(job, at, domain.TriggerManual, "key-1")
	assert.Equal(t, event.Due{
		JobID: "job-1", JobVersion: 7, JobName: "ping", Namespace: "default", Kind: domain.KindHTTP,
		HTTP: job.HTTP, Timezone: "Asia/Ho_Chi_Minh", Timeout: domain.Duration(time.Minute),
		ScheduledAt: time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC), Trigger: domain.TriggerManual,
		IdempotencyKey: "key-1",
	}, d)
	assert.Equal(t, time.UTC, d.ScheduledAt.Location())
	assert.Equal(t, event.DueMeta{Key: "key-1", JobID: "job-1", Kind: domain.KindHTTP, Trigger: domain.TriggerManual, ScheduledAt: d.ScheduledAt}, d.Meta())
}

func TestParseDueFillsMissingKeyFromID(t *testing.T) {
	t.Parallel()
	d := sampleDue()
	key := d.IdempotencyKey
	d.IdempotencyKey = ""
	data, err := json.Marshal(d)
	require.NoError(t, err)
	m := d.Meta()
	m.Key = key
	got, err := event.ParseDue(event.NewDueEncoded(m, data, testSource))
	require.NoError(t, err)
	assert.Equal(t, key, got.IdempotencyKey)
}

func TestParseDueAcceptsOtherKinds(t *testing.T) {
	t.Parallel()
	d := sampleDue()
	d.Kind, d.HTTP = domain.KindSQL, nil
	ev, err := event.NewDue(d, testSource)
	require.NoError(t, err)
	got, err := event.ParseDue(ev)
	require.NoError(t, err)
	assert.Equal(t, d, got)
}

func TestParseDueRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		build   func(t *testing.T) cloudevents.Event
		wantErr []string // substrings of the error
	}{
		{
			name: "WrongType",
			build: func(t *testing.T) cloudevents.Event {
				ev := mustDue(t, sampleDue())
				ev.SetType(event.TypeExecutionSucceeded)
				return ev
			},
			wantErr: []string{`has type "io.vecron.execution.succeeded"`, `want "io.vecron.job.due"`},
		},
		{
			name: "MissingSource",
			build: func(t *testing.T) cloudevents.Event {
				ev := mustDue(t, sampleDue())
				ev.SetSource("")
				return ev
			},
			wantErr: []string{"source"},
		},
		{
			name: "DataNotJSON",
			build: func(t *testing.T) cloudevents.Event {
				ev := mustDue(t, sampleDue())
				ev.DataEncoded = []byte("not json")
				return ev
			},
			wantErr: []string{"decode due data"},
		},
		{
			name: "DataWrongShape",
			build: func(t *testing.T) cloudevents.Event {
				ev := mustDue(t, sampleDue())
				ev.DataEncoded = []byte(`{"job_id": 42}`)
				return ev
			},
			wantErr: []string{"decode due data"},
		},
		{
			name: "MissingJobID",
			build: func(t *testing.T) cloudevents.Event {
				d := sampleDue()
				d.JobID = ""
				return mustDue(t, d)
			},
			wantErr: []string{"data.job_id \"\" is not a job id"},
		},
		{
			name: "MissingScheduledAt",
			build: func(t *testing.T) cloudevents.Event {
				d := sampleDue()
				key := d.IdempotencyKey
				d.ScheduledAt = time.Time{}
				ev := mustDue(t, d)
				ev.SetTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
				ev.SetID(key)
				return ev
			},
			wantErr: []string{"data.scheduled_at is empty"},
		},
		{
			name: "MismatchedIdempotencyKey",
			build: func(t *testing.T) cloudevents.Event {
				ev := mustDue(t, sampleDue())
				ev.SetID("someone-else:1")
				return ev
			},
			wantErr: []string{"data.idempotency_key", "differs from the event id", `"someone-else:1"`},
		},
		{
			name: "HTTPKindWithoutSpec",
			build: func(t *testing.T) cloudevents.Event {
				d := sampleDue()
				d.HTTP = nil
				return mustDue(t, d)
			},
			wantErr: []string{"data.http is missing"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := tt.build(t)
			_, err := event.ParseDue(ev)
			require.Error(t, err)
			for _, want := range tt.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func mustDue(t *testing.T, d event.Due) cloudevents.Event {
	t.Helper()
	ev, err := event.NewDue(d, testSource)
	require.NoError(t, err)
	return ev
}

func TestAttempt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value any // nil: no extension
		want  int
	}{
		{name: "Absent", value: nil, want: 1},
		{name: "Int", value: 3, want: 3},
		{name: "Int32", value: int32(4), want: 4},
		{name: "String", value: "5", want: 5},
		{name: "StringNotANumber", value: "five", want: 1},
		{name: "EmptyString", value: "", want: 1},
		{name: "Zero", value: 0, want: 1},
		{name: "Negative", value: -2, want: 1},
		{name: "NegativeString", value: "-7", want: 1},
		{name: "Bool", value: true, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := cloudevents.NewEvent()
			if tt.value != nil {
				ev.SetExtension(event.ExtAttempt, tt.value)
			}
			assert.Equal(t, tt.want, event.Attempt(ev))
		})
	}
}

func TestNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		names          event.Names
		dueStream      string
		dueSubject     string
		dueSubjects    string
		eventsStream   string
		eventsSubjects string
		succeeded      string
	}{
		{
			name:         "DefaultPrefix",
			names:        event.Names{},
			dueStream:    "VECRON_DUE",
			dueSubject:   "vecron.due.http",
			dueSubjects:  "vecron.due.>",
			eventsStream: "VECRON_EVENTS", eventsSubjects: "vecron.events.>",
			succeeded: "vecron.events.execution.succeeded",
		},
		{
			name:         "ExplicitDefault",
			names:        event.Names{Prefix: event.DefaultPrefix},
			dueStream:    "VECRON_DUE",
			dueSubject:   "vecron.due.http",
			dueSubjects:  "vecron.due.>",
			eventsStream: "VECRON_EVENTS", eventsSubjects: "vecron.events.>",
			succeeded: "vecron.events.execution.succeeded",
		},
		{
			name:         "CustomPrefix",
			names:        event.Names{Prefix: "test_7f3a"},
			dueStream:    "TEST_7F3A_DUE",
			dueSubject:   "test_7f3a.due.http",
			dueSubjects:  "test_7f3a.due.>",
			eventsStream: "TEST_7F3A_EVENTS", eventsSubjects: "test_7f3a.events.>",
			succeeded: "test_7f3a.events.execution.succeeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := tt.names
			assert.Equal(t, tt.dueStream, n.DueStream())
			assert.Equal(t, tt.dueSubject, n.DueSubject(domain.KindHTTP))
			assert.Equal(t, tt.dueSubjects, n.DueSubjects())
			assert.Equal(t, tt.eventsStream, n.EventsStream())
			assert.Equal(t, tt.eventsSubjects, n.EventsSubjects())
			assert.Equal(t, tt.succeeded, n.EventSubject(event.TypeExecutionSucceeded))
			assert.Equal(t, "execute-http", n.DueConsumer(domain.KindHTTP))

			// Every subject falls under the wildcard of its stream.
			assert.True(t, subjectMatches(n.DueSubjects(), n.DueSubject(domain.KindHTTP)))
			assert.True(t, subjectMatches(n.DueSubjects(), n.DueSubject(domain.KindSQL)))
			for _, typ := range []string{event.TypeExecutionStarted, event.TypeExecutionSucceeded, event.TypeExecutionFailed} {
				s := n.EventSubject(typ)
				assert.True(t, subjectMatches(n.EventsSubjects(), s), "%s under %s", s, n.EventsSubjects())
				assert.False(t, subjectMatches(n.DueSubjects(), s), "%s must not be captured by the due stream", s)
			}
		})
	}
}

func TestEventSubject(t *testing.T) {
	t.Parallel()
	n := event.Names{}
	tests := map[string]string{
		event.TypeExecutionStarted:   "vecron.events.execution.started",
		event.TypeExecutionSucceeded: "vecron.events.execution.succeeded",
		event.TypeExecutionFailed:    "vecron.events.execution.failed",
		event.TypeJobDue:             "vecron.events.job.due",
		"com.example.other":          "vecron.events.com.example.other",
	}
	for typ, want := range tests {
		assert.Equal(t, want, n.EventSubject(typ), "type %s", typ)
	}
}

func TestPrefixesDoNotOverlap(t *testing.T) {
	t.Parallel()
	a, b := event.Names{}, event.Names{Prefix: "vecron2"}
	assert.False(t, subjectMatches(a.DueSubjects(), b.DueSubject(domain.KindHTTP)))
	assert.False(t, subjectMatches(b.DueSubjects(), a.DueSubject(domain.KindHTTP)))
	assert.NotEqual(t, a.DueStream(), b.DueStream())
	assert.NotEqual(t, a.EventsStream(), b.EventsStream())
}

// subjectMatches reports whether the NATS subject matches pattern, with "*" and ">" wildcards.
func subjectMatches(pattern, subject string) bool {
	ps, ss := splitTokens(pattern), splitTokens(subject)
	for i, p := range ps {
		if p == ">" {
			return len(ss) > i
		}
		if i >= len(ss) || (p != "*" && p != ss[i]) {
			return false
		}
	}
	return len(ps) == len(ss)
}

func splitTokens(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestSource(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "/vecron/tick/tick-7d9f-abc", event.Source("tick", "tick-7d9f-abc"))
	ev := cloudevents.NewEvent()
	ev.SetID("x")
	ev.SetType(event.TypeJobDue)
	ev.SetSource(event.Source("executor-http", "pod-1"))
	assert.NoError(t, ev.Validate(), "a Source is a valid CloudEvents source")
}

func TestNewExecution(t *testing.T) {
	t.Parallel()
	started := time.Date(2025, 3, 10, 2, 0, 1, 0, time.UTC)
	e := &domain.Execution{
		ID: "exec-1", JobID: "job-1", IdempotencyKey: "job-1:1741572000000", Trigger: domain.TriggerRetry,
		ScheduledAt: time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC), StartedAt: &started,
		Status: domain.StatusFailed, Attempt: 2, HTTPStatus: 503, Error: "target answered 503 Service Unavailable",
	}
	d := event.Due{Kind: domain.KindHTTP, Namespace: "billing", JobName: "nightly"}
	ev, err := event.NewExecution(event.TypeExecutionFailed, e, d, testSource)
	require.NoError(t, err)
	require.NoError(t, ev.Validate())
	assert.Equal(t, "exec-1:2:failed", ev.ID())
	assert.Equal(t, event.TypeExecutionFailed, ev.Type())
	assert.Equal(t, "job-1", ev.Subject())
	assert.True(t, e.ScheduledAt.Equal(ev.Time()))
	assert.Equal(t, "http", ev.Extensions()[event.ExtJobKind])
	assert.Equal(t, "retry", ev.Extensions()[event.ExtTrigger])
	assert.Equal(t, "billing", ev.Extensions()[event.ExtNamespace])
	assert.Equal(t, "nightly", ev.Extensions()[event.ExtJobName])
	assert.Equal(t, 2, event.Attempt(ev))
	var got domain.Execution
	require.NoError(t, json.Unmarshal(ev.Data(), &got))
	assert.Equal(t, *e, got)

	// A later attempt of the same execution is a different event.
	e.Attempt = 3
	ev3, err := event.NewExecution(event.TypeExecutionFailed, e, d, testSource)
	require.NoError(t, err)
	assert.NotEqual(t, ev.ID(), ev3.ID())
}

// A wake is a valid CloudEvent without data whose id names its kind and instant, so that tick
// replicas that see the same fire publish one; it survives both encodings an executor reads,
// and it is never mistaken for a due event.
func TestNewWake(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 2, 1, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	ev := event.NewWake(domain.KindSQL, at, "/vecron/tick/t-1")
	require.NoError(t, ev.Validate())
	require.Equal(t, "wake:sql:"+strconv.FormatInt(at.UnixMilli(), 10), ev.ID())
	require.Equal(t, event.WakeID(domain.KindSQL, at.UTC()), ev.ID())
	require.Equal(t, event.TypeWake, ev.Type())
	require.Equal(t, at.UTC(), ev.Time())
	require.Equal(t, "sql", ev.Extensions()[event.ExtJobKind])
	require.Empty(t, ev.Data())
	require.True(t, event.IsWake(ev))
	require.NotEqual(t, event.WakeID(domain.KindHTTP, at), ev.ID())

	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	back, err := event.FromNATS(t.Context(), msg)
	require.NoError(t, err)
	require.True(t, event.IsWake(back))
	require.Equal(t, ev.ID(), back.ID())

	_, err = event.ParseDue(ev)
	require.Error(t, err, "a wake is not a due event")
	require.NotContains(t, event.LifecycleTypes(), event.TypeWake)
}
