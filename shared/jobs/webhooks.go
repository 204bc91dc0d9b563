package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/secret"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/webhook"
)

// Limits of a webhook call (docs/webhooks.md).
const (
	// MaxWebhookBody bounds a call's body: it becomes part of the fire's payload.
	MaxWebhookBody = MaxPayloadBytes
	// MaxWebhookQuery bounds a call's query string.
	MaxWebhookQuery = 4 << 10
	// MaxWebhookHeaderValue bounds a declared header's value.
	MaxWebhookHeaderValue = 1 << 10
	// HooksPath is where webhooks are called: HooksPath + token.
	HooksPath = "/hooks/"
)

// Errors of a webhook call, for the API to answer.
var (
	// ErrWebhookDisabled: the webhook or its job is disabled (403).
	ErrWebhookDisabled = errors.New("the webhook or its job is disabled")
	// ErrWebhookUnavailable: the webhook's rate limit or secret cannot be checked now (503).
	ErrWebhookUnavailable = errors.New("the webhook rate limiter or secret keys are unavailable")
)

// WebhookRateError is a call over the webhook's rate limit (429).
type WebhookRateError struct {
	RetryAfter time.Duration
	Rate       domain.EventRate
}

func (e *WebhookRateError) Error() string {
	return fmt.Sprintf("more than %d calls in %s", e.Rate.Events, time.Duration(e.Rate.Per))
}

// WebhookStore is what webhooks need of the database.
type WebhookStore interface {
	PutWebhook(ctx context.Context, w *store.WebhookRecord, namespace string, view *domain.Webhook) (bool, error)
	DisableWebhook(ctx context.Context, jobID, namespace string, view func(*store.WebhookRecord) *domain.Webhook) (*store.WebhookRecord, error)
	GetWebhook(ctx context.Context, jobID string) (*store.WebhookRecord, error)
	NamespaceSettings(ctx context.Context, ns string) (*domain.NamespaceSettings, error)
	WebhookByTokenHash(ctx context.Context, hash []byte) (*store.WebhookRecord, error)
	EventReceipt(ctx context.Context, key string) (*domain.Execution, error)
	ActiveFreeze(ctx context.Context, ns string, at time.Time) (*domain.Freeze, error)
	QueueEvent(ctx context.Context, r store.EventRun, now time.Time) (*domain.Execution, bool, error)
}

// Sealer seals and opens webhook secrets: the installation's secret keys (*secret.Keyring).
type Sealer interface {
	Empty() bool
	Seal(plaintext, ad []byte) (string, []byte, error)
	Open(id string, sealed, ad []byte) ([]byte, error)
}

// WebhookLimiter enforces webhooks' rate limits across api replicas.
type WebhookLimiter interface {
	// AllowWebhook returns 0 when a call of job jobID's webhook may go on under r, or how long
	// until one may; its error means the limit could not be checked.
	AllowWebhook(ctx context.Context, jobID string, r domain.EventRate) (time.Duration, error)
}

// EnabledWebhook is a webhook just enabled or regenerated, with its credentials: the only time
// they are told.
type EnabledWebhook struct {
	domain.Webhook
	// URLPath is where to call it: /hooks/<token>.
	URLPath string `json:"url_path"`
	Token   string `json:"token"`
	// Secret signs calls; it is never shown again.
	Secret string `json:"secret"`
	// Regenerated: an earlier token and secret were replaced and no longer work.
	Regenerated bool `json:"regenerated"`
}

// WebhookView is what may be told of r.
func WebhookView(r *store.WebhookRecord) *domain.Webhook {
	return &domain.Webhook{JobID: r.JobID, Enabled: r.Enabled, TokenHint: r.TokenHint,
		PathHint: HooksPath + r.TokenHint + "…", CreatedAt: r.CreatedAt, CreatedBy: r.CreatedBy}
}

// webhookAD binds a sealed secret to its job: copied onto another job's row, it does not open.
func webhookAD(jobID string) []byte { return []byte("webhook:" + jobID) }

// EnableWebhook mints a token and a secret for j's webhook — replacing any earlier ones, which
// stop working at once — and enables it. It returns a *domain.ConflictError on "webhook" when
// no secret key is configured to seal the secret, and on "triggers" when j's namespace requires
// four eyes and j's definition declares no webhook trigger: there, a second person approves
// that a job may be started from outside by approving the definition that says so
// (docs/four-eyes.md); the credentials, secrets, are never part of a change.
func (s *Service) EnableWebhook(ctx context.Context, ws WebhookStore, keys Sealer, j *domain.Job) (*EnabledWebhook, error) {
	if keys == nil || keys.Empty() {
		return nil, &domain.ConflictError{FieldError: domain.FieldError{Field: "webhook",
			Reason: "this server has no encryption key configured (secrets.keys), so it cannot keep a webhook's secret"}}
	}
	if j.WebhookTrigger() == nil {
		st, err := ws.NamespaceSettings(ctx, j.Namespace)
		if err != nil {
			return nil, err
		}
		if st.FourEyes {
			return nil, &domain.ConflictError{FieldError: domain.FieldError{Field: "triggers", Reason: fmt.Sprintf(
				`namespace %s requires four eyes and this job's definition declares no webhook trigger: propose an edit that adds {"webhook": {}} to its triggers; once another user approves it, the webhook can be enabled`, j.Namespace)}}
		}
	}
	creds, err := webhook.Mint()
	if err != nil {
		return nil, err
	}
	keyID, sealed, err := keys.Seal([]byte(creds.Secret), webhookAD(j.ID))
	if err != nil {
		return nil, fmt.Errorf("seal webhook secret: %w", err)
	}
	rec := &store.WebhookRecord{JobID: j.ID, TokenHash: webhook.HashToken(creds.Token), TokenHint: webhook.Hint(creds.Token),
		KeyID: keyID, Sealed: sealed, Enabled: true, CreatedAt: s.now().UTC().Truncate(time.Microsecond), CreatedBy: domain.ActorLabel(ctx)}
	view := WebhookView(rec)
	replaced, err := ws.PutWebhook(ctx, rec, j.Namespace, view)
	if err != nil {
		return nil, err
	}
	return &EnabledWebhook{Webhook: *view, URLPath: HooksPath + creds.Token, Token: creds.Token, Secret: creds.Secret, Regenerated: replaced}, nil
}

// DisableWebhook disables j's webhook: calls answer 403 until it is enabled again, with new
// credentials. It returns an error wrapping domain.ErrNotFound when j has no webhook.
func (s *Service) DisableWebhook(ctx context.Context, ws WebhookStore, j *domain.Job) (*domain.Webhook, error) {
	rec, err := ws.DisableWebhook(ctx, j.ID, j.Namespace, WebhookView)
	if err != nil {
		return nil, err
	}
	return WebhookView(rec), nil
}

// Webhook returns what may be told of job jobID's webhook, or an error wrapping
// domain.ErrNotFound when it has none.
func (s *Service) Webhook(ctx context.Context, ws WebhookStore, jobID string) (*domain.Webhook, error) {
	rec, err := ws.GetWebhook(ctx, jobID)
	if err != nil {
		return nil, err
	}
	return WebhookView(rec), nil
}

// HookTarget is the webhook a token names and its job.
type HookTarget struct {
	Job     *domain.Job
	Webhook *store.WebhookRecord
	// Trigger is the job's webhook trigger, or the defaults when it declares none.
	Trigger domain.WebhookTrigger
}

// LookupWebhook returns the webhook token names. It returns an error wrapping
// domain.ErrNotFound for a token that is not one (malformed, unknown, or replaced), and
// ErrWebhookDisabled, with the target, when the webhook or its job is disabled.
func (s *Service) LookupWebhook(ctx context.Context, ws WebhookStore, token string) (*HookTarget, error) {
	if !webhook.WellFormedToken(token) {
		return nil, fmt.Errorf("webhook: %w", domain.ErrNotFound)
	}
	rec, err := ws.WebhookByTokenHash(ctx, webhook.HashToken(token))
	if err != nil {
		return nil, err
	}
	j, err := s.Get(ctx, rec.JobID)
	if err != nil {
		return nil, err
	}
	t := &HookTarget{Job: j, Webhook: rec}
	if wt := j.WebhookTrigger(); wt != nil {
		t.Trigger = *wt
	}
	if !rec.Enabled || !j.Enabled {
		return t, ErrWebhookDisabled
	}
	return t, nil
}

// ContentTypes returns the media types the target's calls may have.
func (t *HookTarget) ContentTypes() []string {
	if len(t.Trigger.ContentTypes) == 0 {
		return []string{"application/json"}
	}
	return t.Trigger.ContentTypes
}

// Accepts reports whether a call with Content-Type header ct may reach t's job.
func (t *HookTarget) Accepts(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && slices.Contains(t.ContentTypes(), mt)
}

// WebhookCall is one call of a webhook, its body already read (bounded by the caller).
type WebhookCall struct {
	Header http.Header
	Query  url.Values
	Body   []byte
}

// WebhookRun is what a call made: the execution, and whether it is one an earlier delivery of
// the same signed call made.
type WebhookRun struct {
	ExecutionID    string                 `json:"execution_id"`
	IdempotencyKey string                 `json:"idempotency_key"`
	Status         domain.ExecutionStatus `json:"status"`
	Replayed       bool                   `json:"replayed,omitempty"`
}

// webhookPayload is the fire's payload of a call: templates read trigger.webhook.body|query|headers.
type webhookPayload struct {
	Body    json.RawMessage   `json:"body"`
	Query   map[string]string `json:"query"`
	Headers map[string]string `json:"headers"`
}

// RunWebhook checks call's signature against t's secret within the replay window on the
// service's clock, takes it from the job's rate limit, and records its execution queued — once
// per signed call, however often it is delivered; skipped, with the freeze's reason, while a
// freeze holds the job's namespace. It returns a *webhook.Error (401), a
// *domain.ValidationError (400), a *WebhookRateError (429), or ErrWebhookUnavailable (503).
func (s *Service) RunWebhook(ctx context.Context, ws WebhookStore, keys Sealer, rl WebhookLimiter, t *HookTarget, call WebhookCall) (*WebhookRun, error) {
	if keys == nil || keys.Empty() {
		return nil, fmt.Errorf("%w: no secret key configured to open the webhook's secret", ErrWebhookUnavailable)
	}
	plain, err := keys.Open(t.Webhook.KeyID, t.Webhook.Sealed, webhookAD(t.Job.ID))
	if err != nil {
		// The caller cannot fix this and must not learn which keys exist: it gets a 503; the
		// operator reads the key's id in the log, and either configures that key again or has
		// the webhook regenerated (`vecron secrets rotate` would have re-sealed it).
		if errors.Is(err, secret.ErrUnknownKey) {
			return nil, fmt.Errorf("%w: the secret of job %s's webhook was sealed by key %q, which is not among secrets.keys: configure it again and run `vecron secrets rotate`, or regenerate the webhook",
				ErrWebhookUnavailable, t.Job.ID, t.Webhook.KeyID)
		}
		return nil, fmt.Errorf("%w: the secret of job %s's webhook does not open with key %q of secrets.keys (%v): regenerate the webhook",
			ErrWebhookUnavailable, t.Job.ID, t.Webhook.KeyID, err)
	}
	now := domain.Instant(s.now())
	sig, err := webhook.Verify(string(plain), call.Header.Get(webhook.HeaderTimestamp), call.Header.Get(webhook.HeaderSignature), call.Body, now)
	if err != nil {
		return nil, err
	}
	payload, err := webhookData(t, call)
	if err != nil {
		return nil, err
	}
	j := t.Job
	key := domain.WebhookKey(j.ID, sig)
	// A replay is answered before anything is spent on it, as an event's redelivery is: it
	// takes no rate token and is not judged by a freeze that came after it ran. Two at once
	// may both pass this read; QueueEvent still records one.
	switch x, err := ws.EventReceipt(ctx, key); {
	case err != nil:
		return nil, err
	case x != nil:
		return &WebhookRun{ExecutionID: x.ID, IdempotencyKey: x.IdempotencyKey, Status: x.Status, Replayed: true}, nil
	}
	// A freeze holds webhook runs as it holds events and scheduled fires: recorded skipped
	// with its reason, and no rate token spent.
	var skip string
	switch f, err := ws.ActiveFreeze(ctx, j.Namespace, now); {
	case err != nil:
		return nil, err
	case f != nil:
		skip = f.FreezeReason()
	}
	if skip == "" {
		if rl == nil {
			return nil, fmt.Errorf("%w: no Redis configured", ErrWebhookUnavailable)
		}
		rate := rateOr(t.Trigger.MaxRate, domain.WebhookRateDefault())
		wait, err := rl.AllowWebhook(ctx, j.ID, rate)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrWebhookUnavailable, err)
		}
		if wait > 0 {
			return nil, &WebhookRateError{RetryAfter: wait, Rate: rate}
		}
	}
	d := event.DueFor(j, now, domain.TriggerWebhook, key)
	d.Payload = payload
	traceID := withTrace(ctx, &d)
	data, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	eid, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	x, replayed, err := ws.QueueEvent(ctx, store.EventRun{
		Execution: &domain.Execution{ID: eid.String(), JobID: j.ID, JobVersion: j.Version, IdempotencyKey: key, Trigger: domain.TriggerWebhook, ScheduledAt: now, TraceID: traceID},
		Fire:      domain.Fire{Key: key, JobID: j.ID, Kind: j.Kind, Trigger: domain.TriggerWebhook, ScheduledAt: now, PublishAt: now, Payload: data},
		Namespace: j.Namespace, Source: "webhook", EventID: sig, Action: "job.webhook", Skip: skip,
		// The receipt outlives the replay window by far: a call replayed within it finds it.
		ExpireBefore: now.Add(-EventKeyWindow),
	}, now)
	if err != nil {
		return nil, err
	}
	return &WebhookRun{ExecutionID: x.ID, IdempotencyKey: x.IdempotencyKey, Status: x.Status, Replayed: replayed}, nil
}

// rateOr is *r, or def when r is nil.
func rateOr(r *domain.EventRate, def domain.EventRate) domain.EventRate {
	if r == nil {
		return def
	}
	return *r
}

// webhookData makes the fire's payload of call: the body as JSON when its media type is JSON
// (it must then parse), else as a string; the query, first value of each name; and the headers
// the trigger declares, under their template names.
func webhookData(t *HookTarget, call WebhookCall) (json.RawMessage, error) {
	var v domain.ValidationError
	p := webhookPayload{Query: map[string]string{}, Headers: map[string]string{}}
	mt, _, _ := mime.ParseMediaType(call.Header.Get("Content-Type"))
	switch {
	case len(call.Body) == 0:
		p.Body = json.RawMessage("null")
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		if !json.Valid(call.Body) {
			v.Add("body", "is not JSON, as its Content-Type says")
		}
		p.Body = call.Body
	default:
		b, err := json.Marshal(string(call.Body))
		if err != nil {
			return nil, err
		}
		p.Body = b
	}
	for name, vals := range call.Query {
		if len(vals) > 0 {
			p.Query[name] = vals[0]
		}
	}
	for _, h := range t.Trigger.Headers {
		val := call.Header.Get(h)
		if val == "" {
			continue
		}
		if len(val) > MaxWebhookHeaderValue {
			v.Add(h, fmt.Sprintf("is longer than %d bytes", MaxWebhookHeaderValue))
			continue
		}
		p.Headers[WebhookHeaderKey(h)] = val
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return json.Marshal(p)
}

// WebhookResealer is what a key rotation needs of the database for webhooks.
type WebhookResealer interface {
	ResealWebhooks(ctx context.Context, current string, limit int, reseal func(jobID string) domain.Resealer) (domain.ResealReport, error)
}

// RotateWebhookSecrets re-seals every webhook's signing secret not sealed by keys' current key
// with it, batch secrets per transaction, each batch audited. Tokens and secrets stay the same:
// senders notice nothing. A secret that does not open is left as it was and listed in the
// report. It returns secret.ErrNoKey when no key is configured.
func RotateWebhookSecrets(ctx context.Context, st WebhookResealer, keys *secret.Keyring, batch int) (domain.ResealReport, error) {
	if keys.Empty() {
		return domain.ResealReport{}, secret.ErrNoKey
	}
	return st.ResealWebhooks(ctx, keys.Current(), batch, func(jobID string) domain.Resealer {
		return secret.Reseal(keys, webhookAD(jobID))
	})
}
