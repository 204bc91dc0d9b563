package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/testfactory"
)

func ingestEvent(id string) cloudevents.Event {
	ev := cloudevents.NewEvent()
	ev.SetID(id)
	ev.SetSource("/s")
	ev.SetType("t")
	ev.SetExtension("amount", "many")
	return ev
}

// TestIngestReportsAFailingFilterOncePerJob: a CESQL filter that fails on every event of a
// batch is one failure of the job with the count, not one log line per event.
func TestIngestReportsAFailingFilterOncePerJob(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	j := testfactory.Job(t, st, testfactory.JobOpts{Waiting: true, Triggers: []domain.JobTrigger{{Event: &domain.EventTrigger{
		Filters: []domain.EventFilter{{CESQL: "INT(amount) > 10"}}}}}})
	var batch []cloudevents.Event
	for i := range 5 {
		batch = append(batch, ingestEvent(fmt.Sprint("e-", i)))
	}
	res, err := jobs.New(st, time.Now).Ingest(t.Context(), st, nil, jobs.EventScope{All: true}, batch)
	require.NoError(t, err)
	require.Empty(t, res.Executions)
	require.Equal(t, []jobs.FilterFailure{{JobID: j.ID, EventType: "t", Count: 5}}, res.FilterFailures)
}

// TestIngestStopsWhenThePublisherHangsUp: with the request's context gone, no more jobs are
// evaluated or started.
func TestIngestStopsWhenThePublisherHangsUp(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	testfactory.Job(t, st, testfactory.JobOpts{Waiting: true, Triggers: []domain.JobTrigger{{Event: &domain.EventTrigger{}}}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := jobs.New(st, time.Now).Ingest(ctx, st, nil, jobs.EventScope{All: true}, []cloudevents.Event{ingestEvent("e-1")})
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, res.Executions)
}
