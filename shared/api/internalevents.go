package api

import (
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
)

// InternalEventsActor names the cluster-internal events listener in the audit log and on the
// executions it starts.
const InternalEventsActor = "events-internal"

// InternalEvents returns the handler of the cluster-internal events listener
// (docs/event-triggers.md): POST /events as on the public port, in every CloudEvents HTTP mode,
// but without a credential — a Knative Trigger cannot send one — starting only jobs of
// namespaces; and POST /dead-letter, the dead-letter sink of the executors' Triggers, which
// records the fires the broker gave up delivering (docs/retries-and-dead-letters.md). Whoever
// can reach it may start those jobs and end those fires, so it is served on its own port that
// only the broker may reach (a NetworkPolicy), never on the public one. It serves nothing else.
func (s *Server) InternalEvents(namespaces []string) http.Handler {
	scope := jobs.EventScope{Namespaces: slices.Clone(namespaces)}
	if scope.Namespaces == nil {
		scope.Namespaces = []string{} // nil would read as no restriction to a careless reader
	}
	r := chi.NewRouter()
	// The HTTP traceparent is the broker's: the span links the event's own trace extension.
	r.Use(serverSpans(s.tracer, false), requestID, recoverer(s.log), securityHeaders, validUTF8)
	r.Method(http.MethodPost, EventsPath, cloudEventsOnly(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a := s.actor(req, nil)
		a.Kind, a.ID, a.Name, a.Mode = "system", InternalEventsActor, "cluster-internal events listener", "network"
		s.ingest(w, req.WithContext(domain.WithActor(req.Context(), a)), scope)
	})))
	r.Method(http.MethodPost, DeadLetterPath, cloudEventsOnly(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a := s.actor(req, nil)
		a.Kind, a.ID, a.Name, a.Mode = "system", InternalEventsActor, "cluster-internal events listener", "network"
		s.deadLetterSink(w, req.WithContext(domain.WithActor(req.Context(), a)))
	})))
	const only = "this listener serves POST " + EventsPath + " and POST " + DeadLetterPath + " only"
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: only})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problem{Status: http.StatusMethodNotAllowed, Detail: only})
	})
	return r
}
