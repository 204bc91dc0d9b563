package executor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/lograte"
)

// maxPushBody bounds a pushed event; due events are a job snapshot of a few kilobytes.
const maxPushBody = 1 << 20

// PushHandler is the HTTP push transport: it accepts a CloudEvent as Knative Eventing delivers it
// (binary or structured mode), hands it to handle, and answers as delivery.Decide says: 2xx when
// settled, 503 to have it redelivered (also when handle panics), 400 when it can never be
// handled. When interrupt is cancelled (the shutdown grace period is over) the handlers still
// running see their context cancelled with its cause, record what they can and answer 503, so
// the broker redelivers the event to another replica at once.
//
// Anyone who can reach the handler can send it anything: what is not a CloudEvent, and events
// HandlePushed refuses, are logged at most once a minute.
func PushHandler(interrupt context.Context, handle func(context.Context, cloudevents.Event) error, log *slog.Logger) http.Handler {
	var malformed lograte.Limiter
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "POST a CloudEvent", http.StatusMethodNotAllowed)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxPushBody)
		ev, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			if n, ok := malformed.Allow(time.Now(), refusalLogEvery); ok {
				log.Warn("reject pushed request: not a CloudEvent; logged at most once a minute", "error", err, "rejected_since_last_line", n)
			}
			http.Error(w, "not a CloudEvent: "+err.Error(), http.StatusBadRequest)
			return
		}
		// The broker may give up on the request; the execution must still be recorded. Only the
		// end of the grace period stops it.
		ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
		// The broker's own trace context: a link of the consume span, never its parent.
		ctx = withPushTrace(ctx, r.Header.Get("traceparent"), r.Header.Get("tracestate"))
		defer cancel(nil)
		stop := context.AfterFunc(interrupt, func() { cancel(context.Cause(interrupt)) })
		defer stop()
		err = callPushed(ctx, handle, *ev, log)
		outcome := delivery.Decide(err)
		switch {
		case errors.Is(err, errPushRefused):
			// Logged where it was refused, at most once a minute.
		case outcome.Action == delivery.Drop && err != nil:
			// An event no executor can handle (not a due event, another kind's): anyone can
			// send one, so a line a minute at most.
			if n, ok := malformed.Allow(time.Now(), refusalLogEvery); ok {
				log.Warn("pushed event refused; logged at most once a minute", "event_id", clip(ev.ID(), 200),
					"status", outcome.HTTPStatus(), "error", clip(err.Error(), 400), "refused_since_last_line", n)
			}
		case err != nil:
			log.Warn("pushed event not settled", "event_id", ev.ID(), "status", outcome.HTTPStatus(), "error", err)
		}
		if outcome.Action == delivery.Redeliver {
			w.Header().Set("Retry-After", retryAfter(outcome))
		}
		w.WriteHeader(outcome.HTTPStatus())
	})
}

// callPushed calls handle, turning a panic into an error that has the event redelivered: net/http
// would recover it too, but by cutting the connection, which the broker cannot tell from a
// network failure, and with the stack on stderr.
func callPushed(ctx context.Context, handle func(context.Context, cloudevents.Event) error, ev cloudevents.Event, log *slog.Logger) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = delivery.Recovered(v)
			log.Error("pushed event handler panicked", "event_id", ev.ID(), "error", err, "stack", string(debug.Stack()))
		}
	}()
	return handle(ctx, ev)
}

// retryAfter renders the redelivery delay in whole seconds, at least 1.
func retryAfter(o delivery.Outcome) string {
	return strconv.Itoa(max(int(o.Delay.Seconds()), 1))
}
