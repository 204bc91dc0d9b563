package e2e_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/event/eventschema"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
)

// TestAPIDeliversLifecycleEventsToTheSink: with events.sink set, the api delivers the job
// changes made through it to the sink, as CloudEvents valid against their schemas.
func TestAPIDeliversLifecycleEventsToTheSink(t *testing.T) {
	t.Parallel()
	schemas, err := eventschema.Load("../docs/events")
	require.NoError(t, err)
	sink := newReceiver(t)
	_, js, names := testenv.NATS(t)
	as, dbURL := apiSettings(t)
	as.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: names.Prefix}
	as.Events.Sink = sink.url + "/events"
	as.Egress = egress.Loopback() // the test's sink listens on 127.0.0.1
	apiURL := startAPI(t, as)
	signInAsAdmin(t, dbURL, apiURL)
	// The consumer starts at the stream's end: changes made before it exists are not the sink's.
	testenv.EventuallyWithin(t, 20*time.Second, "the sink's consumer", func() bool {
		_, err := js.Consumer(t.Context(), names.EventsStream(), names.SinkConsumer())
		return err == nil
	})

	var j domain.Job
	require.Equal(t, http.StatusCreated, postJSON(t, apiURL+"/api/v1/jobs", map[string]any{
		"name": "nightly-report", "enabled": false, "schedule": map[string]string{"cron": "0 0 0 1 1 *"},
		"http": map[string]any{"url": "http://127.0.0.1:9/"},
	}, &j))
	got := sink.await(t, "the creation at the sink", 1)
	require.Equal(t, event.TypeJobCreated, got[0].Type())
	require.Equal(t, j.ID, got[0].Subject())
	require.NoError(t, schemas.Validate(got[0]))
}

func TestAPIRefusesAnEventSinkItCannotUse(t *testing.T) {
	t.Parallel()
	as, _ := apiSettings(t)
	as.Events.Sink = "http://127.0.0.1:8080/events?token=t0ken"
	err := apifn.Run(t.Context(), clockwork.NewRealClock(), as, testenv.Logger(t), nil)
	require.ErrorContains(t, err, "events.sink: the lifecycle events are read from NATS; set nats.url too")

	as.NATS = queue.ConnConfig{URL: testenv.NATSURL(t), Prefix: testenv.Name(t)}
	err = apifn.Run(t.Context(), clockwork.NewRealClock(), as, testenv.Logger(t), nil)
	require.ErrorContains(t, err, "events.sink: egress policy refuses 127.0.0.1")
	require.NotContains(t, err.Error(), "t0ken")
}
