package executor_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/executor"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestPushHandlerAnswers503WhenTheGracePeriodEnds(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	f := newFixture(t, executor.Config{})
	j := testfactory.Job(t, f.store, testfactory.JobOpts{URL: hang.URL, Timeout: time.Minute})
	at := time.Now().UTC().Truncate(time.Second)

	interrupt, cancel := context.WithCancelCause(context.Background())
	srv := httptest.NewServer(executor.PushHandler(interrupt, f.rt.HandlePushed, testenv.Logger(t)))
	defer srv.Close()
	req, err := cehttp.NewHTTPRequestFromEvent(t.Context(), srv.URL, dueEvent(t, j, at))
	require.NoError(t, err)
	time.AfterFunc(300*time.Millisecond, func() { cancel(delivery.ErrShutdown) })
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "handed back to the broker")

	e, err := f.store.ExecutionByKey(t.Context(), domain.ScheduledKey(j.ID, at))
	require.NoError(t, err)
	require.Equal(t, domain.StatusQueued, e.Status)
	require.Contains(t, e.Error, "shut down")
}
