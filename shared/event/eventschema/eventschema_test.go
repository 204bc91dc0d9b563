package eventschema_test

import (
	"slices"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/event/eventschema"
)

const dir = "../../../docs/events"

// TestEveryLifecycleTypeHasASchemaAndEverySchemaAType holds docs/events to the one list of
// types in code: a type added to event.LifecycleTypes needs its schema, and a schema file
// whose type is not sent is stale.
func TestEveryLifecycleTypeHasASchemaAndEverySchemaAType(t *testing.T) {
	t.Parallel()
	set, err := eventschema.Load(dir)
	require.NoError(t, err, "every schema compiles as draft 2020-12")
	want := event.LifecycleTypes()
	slices.Sort(want)
	require.Equal(t, want, set.Types())
}

// A schema refuses what the event of its type must not be: the schemas are not permissive by
// accident.
func TestSchemasRefuseWrongEvents(t *testing.T) {
	t.Parallel()
	set, err := eventschema.Load(dir)
	require.NoError(t, err)
	now := time.Now().UTC()
	e := &domain.Execution{ID: "01a24a15-ee11-7137-a126-ae8c41f1fab3", JobID: "01a24a15-ee07-75ab-ac32-335325c8a872", JobVersion: 1,
		IdempotencyKey: "k", Trigger: domain.TriggerSchedule, ScheduledAt: now, StartedAt: &now, Status: domain.StatusRunning, Attempt: 1}
	d := event.Due{Kind: domain.KindHTTP, Namespace: "default", JobName: "nightly"}
	good, err := event.NewExecution(event.TypeExecutionStarted, e, d, event.Source("execute-http", "w1"))
	require.NoError(t, err)
	require.NoError(t, set.Validate(good))

	finished := *e
	finished.FinishedAt = &now
	bad, err := event.NewExecution(event.TypeExecutionStarted, &finished, d, event.Source("execute-http", "w1"))
	require.NoError(t, err)
	require.Error(t, set.Validate(bad), "a started execution has not finished")

	wrongStatus := *e
	wrongStatus.Status, wrongStatus.FinishedAt = domain.StatusFailed, &now
	bad, err = event.NewExecution(event.TypeExecutionSucceeded, &wrongStatus, d, event.Source("execute-http", "w1"))
	require.NoError(t, err)
	require.Error(t, set.Validate(bad), "a succeeded event carries a succeeded execution")

	unknown := cloudevents.NewEvent()
	unknown.SetType("io.vecron.nothing")
	require.ErrorContains(t, set.Validate(unknown), "no schema")
}
