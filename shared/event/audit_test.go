package event_test

import (
	"encoding/json"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestNewAuditRecorded(t *testing.T) {
	t.Parallel()
	keys := testfactory.AuditKeys(t)
	first := &audit.Record{Time: time.Date(2026, 3, 1, 9, 30, 0, 123456000, time.UTC), ActorID: "u1", Action: "job.create",
		ObjectKind: "job", ObjectID: "0195f1b2", Namespace: "billing", After: json.RawMessage(`{"name":"<nightly>"}`)}
	// As json.Marshal writes what the store records: HTML-escaped.
	escaped, err := json.Marshal(map[string]string{"name": "<nightly> & co"})
	require.NoError(t, err)
	second := &audit.Record{Time: first.Time.Add(time.Second), ActorID: "u1", Action: "job.delete", ObjectKind: "job", ObjectID: "0195f1b2",
		Namespace: "billing", Before: escaped}
	keys.Seal(first, nil)
	keys.Seal(second, first)

	// Whichever way <, > and & were written, the bytes sealed are the bytes sent.
	v := keys.Verifier(nil)
	for _, r := range []*audit.Record{first, second} {
		ev, err := event.NewAuditRecorded(r)
		require.NoError(t, err)
		require.NoError(t, ev.Validate())
		require.Equal(t, cloudevents.VersionV1, ev.SpecVersion())
		require.Equal(t, event.TypeAuditRecorded, ev.Type())
		require.Equal(t, "/vecron/audit", ev.Source())
		require.Equal(t, "job/0195f1b2", ev.Subject())
		require.True(t, r.Time.Equal(ev.Time()), "time %s, want %s", ev.Time(), r.Time)
		require.Equal(t, cloudevents.ApplicationJSON, ev.DataContentType())

		var got audit.Record
		require.NoError(t, json.Unmarshal(ev.Data(), &got))
		require.NoError(t, v.Next(&got), "the data is the row as sealed, so the receiver can verify it")
	}
	rep, err := v.Finish()
	require.NoError(t, err)
	require.Equal(t, int64(2), rep.Head.Seq)

	ev, err := event.NewAuditRecorded(second)
	require.NoError(t, err)
	require.Equal(t, "2", ev.ID(), "the id is the row's seq, the key a receiver dedupes by")
}

func TestNewJobChanges(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	enabled := json.RawMessage(`{"id":"j1","name":"nightly","kind":"http","enabled":true}`)
	paused := json.RawMessage(`{"id":"j1","name":"nightly","kind":"http","enabled":false}`)
	row := func(action string, before, after json.RawMessage) *audit.Record {
		return &audit.Record{Seq: 42, Time: at, Action: action, ObjectKind: "job", ObjectID: "j1", Namespace: "billing", Before: before, After: after}
	}
	for _, tc := range []struct {
		row   *audit.Record
		types []string
		ids   []string
		data  json.RawMessage
	}{
		{row("job.create", nil, enabled), []string{event.TypeJobCreated}, []string{"42"}, enabled},
		{row("job.update", enabled, enabled), []string{event.TypeJobUpdated}, []string{"42"}, enabled},
		{row("job.update", enabled, paused), []string{event.TypeJobUpdated, event.TypeJobPaused}, []string{"42", "42-paused"}, paused},
		{row("job.update", paused, enabled), []string{event.TypeJobUpdated, event.TypeJobResumed}, []string{"42", "42-resumed"}, enabled},
		{row("job.disable", nil, paused), []string{event.TypeJobPaused}, []string{"42"}, paused},
		{row("job.enable", nil, enabled), []string{event.TypeJobResumed}, []string{"42"}, enabled},
		{row("job.delete", enabled, nil), []string{event.TypeJobDeleted}, []string{"42"}, enabled},
		{row("job.trigger", nil, nil), nil, nil, nil},
		{row("user.create", nil, json.RawMessage(`{}`)), nil, nil, nil},
	} {
		evs, err := event.NewJobChanges(tc.row)
		require.NoError(t, err, tc.row.Action)
		var types, ids []string
		for _, ev := range evs {
			require.NoError(t, ev.Validate())
			types, ids = append(types, ev.Type()), append(ids, ev.ID())
			require.Equal(t, event.SourceJobs, ev.Source())
			require.Equal(t, "j1", ev.Subject())
			require.True(t, at.Equal(ev.Time()))
			require.Equal(t, "billing", ev.Extensions()[event.ExtNamespace])
			require.Equal(t, "nightly", ev.Extensions()[event.ExtJobName])
			require.Equal(t, "http", ev.Extensions()[event.ExtJobKind])
			require.JSONEq(t, string(tc.data), string(ev.Data()))
		}
		require.Equal(t, tc.types, types, tc.row.Action)
		require.Equal(t, tc.ids, ids, tc.row.Action)
	}
	_, err := event.NewJobChanges(row("job.create", nil, json.RawMessage(`not json`)))
	require.Error(t, err)
}
