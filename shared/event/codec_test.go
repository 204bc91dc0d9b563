package event_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

func TestToNATSBinaryMode(t *testing.T) {
	t.Parallel()
	d := sampleDue()
	ev := mustDue(t, d)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)

	assert.Empty(t, msg.Subject, "the publisher sets the subject")
	want := map[string]string{
		"ce-specversion":     "1.0",
		"ce-id":              d.IdempotencyKey,
		"ce-type":            event.TypeJobDue,
		"ce-source":          testSource,
		"ce-subject":         d.JobID,
		"ce-time":            "2025-03-10T02:00:00.123Z",
		"ce-jobkind":         "http",
		"ce-trigger":         "schedule",
		"ce-attempt":         "1",
		"ce-datacontenttype": "application/json",
	}
	for k, v := range want {
		assert.Equal(t, []string{v}, msg.Header[k], "header %s", k)
	}

	// The body is the data itself, not a structured envelope.
	var body map[string]any
	require.NoError(t, json.Unmarshal(msg.Data, &body))
	assert.NotContains(t, body, "specversion")
	assert.NotContains(t, body, "data")
	assert.Equal(t, d.JobID, body["job_id"])
	var got event.Due
	require.NoError(t, json.Unmarshal(msg.Data, &got))
	assert.Equal(t, d, got)
}

func TestNATSRoundTrip(t *testing.T) {
	t.Parallel()
	d := sampleDue()
	ev := mustDue(t, d)
	ev.SetExtension(event.ExtAttempt, 4)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)

	got, err := event.FromNATS(t.Context(), msg)
	require.NoError(t, err)
	assert.Equal(t, ev.ID(), got.ID())
	assert.Equal(t, ev.Type(), got.Type())
	assert.Equal(t, ev.Source(), got.Source())
	assert.Equal(t, ev.Subject(), got.Subject())
	assert.Equal(t, ev.SpecVersion(), got.SpecVersion())
	assert.Equal(t, ev.DataContentType(), got.DataContentType())
	assert.True(t, ev.Time().Equal(got.Time()), "time %s, want %s", got.Time(), ev.Time())
	assert.Equal(t, "http", got.Extensions()[event.ExtJobKind])
	assert.Equal(t, "schedule", got.Extensions()[event.ExtTrigger])
	assert.Equal(t, 4, event.Attempt(got))
	assert.JSONEq(t, string(ev.Data()), string(got.Data()))

	due, err := event.ParseDue(got)
	require.NoError(t, err)
	assert.Equal(t, d, due)
}

func TestFromNATSStructuredMode(t *testing.T) {
	t.Parallel()
	ev := mustDue(t, sampleDue())
	envelope, err := json.Marshal(ev)
	require.NoError(t, err)

	got, err := event.FromNATS(t.Context(), &nats.Msg{Data: envelope})
	require.NoError(t, err)
	assert.Equal(t, ev.ID(), got.ID())
	assert.Equal(t, 1, event.Attempt(got))
	due, err := event.ParseDue(got)
	require.NoError(t, err)
	assert.Equal(t, sampleDue(), due)
}

func TestFromNATSRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  *nats.Msg
	}{
		{name: "EmptyMessage", msg: &nats.Msg{}},
		{name: "BodyNotAnEnvelope", msg: &nats.Msg{Data: []byte("hello")}},
		{name: "UnknownSpecVersion", msg: &nats.Msg{Header: nats.Header{
			"ce-specversion": {"9.9"}, "ce-id": {"a"}, "ce-type": {"t"}, "ce-source": {"/s"},
		}}},
		{name: "BadTime", msg: &nats.Msg{Header: nats.Header{
			"ce-specversion": {"1.0"}, "ce-id": {"a"}, "ce-type": {"t"}, "ce-source": {"/s"}, "ce-time": {"yesterday"},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := event.FromNATS(t.Context(), tt.msg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "decode event")
		})
	}
}

// TestCodecDoesNotValidate shows that the codec carries an invalid event through unchanged; it is
// ParseDue that refuses it.
func TestCodecDoesNotValidate(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(sampleDue())
	require.NoError(t, err)
	ev := event.NewDueEncoded(event.DueMeta{}, data, testSource) // no id, subject or time
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	assert.NotContains(t, msg.Header, "ce-id")
	got, err := event.FromNATS(t.Context(), msg)
	require.NoError(t, err)
	assert.Empty(t, got.ID())
	_, err = event.ParseDue(got)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "id")
}

func TestNATSRoundTripExecution(t *testing.T) {
	t.Parallel()
	e := &domain.Execution{
		ID: "exec-1", JobID: "job-1", Trigger: domain.TriggerSchedule, Status: domain.StatusSucceeded,
		ScheduledAt: time.Date(2025, 3, 10, 2, 0, 0, 0, time.UTC), Attempt: 1, HTTPStatus: 200,
		ResponseExcerpt: "ok ✓",
	}
	ev, err := event.NewExecution(event.TypeExecutionSucceeded, e, event.Due{Kind: domain.KindHTTP, Namespace: "billing"}, testSource)
	require.NoError(t, err)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	got, err := event.FromNATS(t.Context(), msg)
	require.NoError(t, err)
	var back domain.Execution
	require.NoError(t, json.Unmarshal(got.Data(), &back))
	assert.Equal(t, *e, back)
	assert.Equal(t, "exec-1:1:succeeded", got.ID())
}
