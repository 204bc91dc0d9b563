package executor_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestPushHandlerAnswers503WhenTheGracePeriodEnds(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}))
	defer hang.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: hang.URL, Timeout: time.Minute})
	at := recent() // a fire its claim covers: a pushed event is believed only as far as that

	interrupt, cancel := context.WithCancelCause(context.Background())
	srv := httptest.NewServer(executor.PushHandler(interrupt, f.rt.HandlePushed, testenv.Logger(t)))
	defer srv.Close()
	req, err := cehttp.NewHTTPRequestFromEvent(t.Context(), srv.URL, dueEvent(t, j, at))
	require.NoError(t, err)
	go func() {
		<-arrived // the grace period ends while the attempt runs
		cancel(delivery.ErrShutdown)
	}()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "handed back to the broker")

	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, e.Status)
	require.Contains(t, e.Error, "shut down")
}

func TestPushHandlerAnswers503WhenTheHandlerPanics(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	handle := func(context.Context, cloudevents.Event) error {
		if calls.Add(1) == 1 {
			panic("driver bug: cannot call https://x.test/?t=" + panicToken)
		}
		return nil
	}
	logs := &testenv.LogBuffer{}
	srv := httptest.NewServer(executor.PushHandler(context.Background(), handle, slog.New(slog.NewJSONHandler(logs, nil))))
	defer srv.Close()
	push := func() *http.Response {
		ev := cloudevents.NewEvent()
		ev.SetID("k1")
		ev.SetSource("/test")
		ev.SetType(event.TypeJobDue)
		req, err := cehttp.NewHTTPRequestFromEvent(t.Context(), srv.URL, ev)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err, "answered, not cut off")
		resp.Body.Close()
		return resp
	}

	resp := push()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "redelivered by the broker")
	require.Equal(t, "1", resp.Header.Get("Retry-After"))
	require.Equal(t, http.StatusOK, push().StatusCode, "the redelivery is handled")

	require.Contains(t, logs.String(), `"msg":"pushed event handler panicked"`)
	require.Contains(t, logs.String(), "TestPushHandlerAnswers503WhenTheHandlerPanics", "the log line holds the stack")
	require.NotContains(t, logs.String(), panicToken)
}
