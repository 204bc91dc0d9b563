package api

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/webhook"
)

// hooksPattern is where a job's webhook is called (docs/webhooks.md); the token is its only
// address and the signature its only credential.
const hooksPattern = "/hooks/{token}"

// webhookDoc documents a webhook call: whatever body the job declares, JSON by default.
type webhookDoc map[string]any

// getWebhook serves GET /api/v1/jobs/{id}/webhook: whether the job has a webhook, enabled or
// not, and its token's hint — never the token or the secret.
func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobRead)
	if !ok {
		return
	}
	h, err := s.jobs.Webhook(r.Context(), s.store, j.ID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// enableWebhook serves POST /api/v1/jobs/{id}/webhook: new credentials for the job's webhook,
// answered once — 201 for the first, 200 when they replace earlier ones, which stop working.
func (s *Server) enableWebhook(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobWrite)
	if !ok {
		return
	}
	h, err := s.jobs.EnableWebhook(r.Context(), s.store, s.keys, j)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// The answer holds a secret: no cache keeps it.
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusCreated
	if h.Regenerated {
		status = http.StatusOK
	}
	writeJSON(w, status, h)
}

// disableWebhook serves DELETE /api/v1/jobs/{id}/webhook: calls answer 403 until the webhook
// is enabled again, with new credentials.
func (s *Server) disableWebhook(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobWrite)
	if !ok {
		return
	}
	h, err := s.jobs.DisableWebhook(r.Context(), s.store, j)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, h)
}

// callHook serves POST /hooks/{token}: a call signed with the webhook's secret starts its job,
// once per signed call. The token is in the path: nothing here logs the path or the body.
func (s *Server) callHook(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	t, err := s.jobs.LookupWebhook(r.Context(), s.store, token)
	switch {
	case errors.Is(err, jobs.ErrWebhookDisabled):
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "this webhook or its job is disabled"})
		return
	case errors.Is(err, domain.ErrNotFound):
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "no such webhook"})
		return
	case err != nil:
		s.hookFailed(w, r, token, err)
		return
	}
	if ct := r.Header.Get("Content-Type"); !t.Accepts(ct) {
		w.Header().Set("Accept-Post", strings.Join(t.ContentTypes(), ", "))
		writeProblem(w, problem{Status: http.StatusUnsupportedMediaType,
			Detail: "Content-Type must be one of " + strings.Join(t.ContentTypes(), ", ") + " (got " + quoted(ct) + ")"})
		return
	}
	if len(r.URL.RawQuery) > jobs.MaxWebhookQuery {
		writeProblem(w, problem{Status: http.StatusRequestURITooLong, Detail: "the query is too long",
			Errors: []domain.FieldError{{Field: "query", Reason: fmt.Sprintf("is longer than %d bytes", jobs.MaxWebhookQuery)}}})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, jobs.MaxWebhookBody))
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		writeProblem(w, problem{Status: http.StatusRequestEntityTooLarge, Detail: "the body is too large",
			Errors: []domain.FieldError{{Field: "body", Reason: fmt.Sprintf("is larger than %d bytes", jobs.MaxWebhookBody)}}})
		return
	case err != nil:
		writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "body", Reason: "could not be read"}}})
		return
	}
	// The audit row of the run names the webhook, not an anonymous caller.
	a := s.actor(r, nil)
	a.Kind, a.ID, a.Name, a.Mode = "webhook", t.Job.ID, "webhook "+webhook.Hint(token), "signature"
	ctx := domain.WithActor(r.Context(), a)
	run, err := s.jobs.RunWebhook(ctx, s.store, s.keys, s.hookLimiter, t, jobs.WebhookCall{Header: r.Header, Query: r.URL.Query(), Body: body})
	var (
		sigErr  *webhook.Error
		rateErr *jobs.WebhookRateError
	)
	switch {
	case errors.As(err, &sigErr):
		w.Header().Set("WWW-Authenticate", `HMAC-SHA256 realm="vecron-webhook"`)
		writeProblem(w, problem{Status: http.StatusUnauthorized, Detail: sigErr.Error(),
			Errors: []domain.FieldError{{Field: sigErr.Field, Reason: sigErr.Reason}}})
		return
	case errors.As(err, &rateErr):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rateErr.RetryAfter.Seconds()))))
		writeProblem(w, problem{Status: http.StatusTooManyRequests, Detail: "the webhook's rate limit is spent: " + rateErr.Error()})
		return
	case errors.Is(err, jobs.ErrWebhookUnavailable):
		s.log.ErrorContext(r.Context(), "webhook call cannot be checked", "job_id", t.Job.ID, "error", err)
		w.Header().Set("Retry-After", "5")
		writeProblem(w, problem{Status: http.StatusServiceUnavailable, Detail: "the webhook's rate limit or secret cannot be checked now; retry later"})
		return
	case errors.Is(err, domain.ErrNotFound):
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "no such webhook"}) // the job was deleted meanwhile
		return
	case err != nil:
		var verr *domain.ValidationError
		if errors.As(err, &verr) {
			writeError(w, r, s.log, err)
			return
		}
		s.hookFailed(w, r, token, err)
		return
	}
	w.Header().Set("Location", "/api/v1/executions/"+run.ExecutionID)
	if run.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusAccepted, run)
}

// hookFailed answers 500 and logs err with the token cut to its hint: writeError would log the
// path, which holds the token.
func (s *Server) hookFailed(w http.ResponseWriter, r *http.Request, token string, err error) {
	s.log.ErrorContext(r.Context(), "webhook call failed", "request_id", r.Header.Get(requestIDHeader),
		"webhook", webhook.Hint(printable(token, 64)), "error", err)
	writeProblem(w, problem{Status: http.StatusInternalServerError, Detail: "internal error; see the server log"})
}
