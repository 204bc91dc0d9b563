package domain

import "time"

// WebhookTrigger is how a job takes calls of its webhook (docs/webhooks.md). It is part of the
// job's definition, versioned and exported with it; the webhook's token and signing secret are
// not: they live apart, are made by POST /api/v1/jobs/{id}/webhook and shown once.
type WebhookTrigger struct {
	// ContentTypes are the media types a call's body may have; empty: application/json.
	ContentTypes []string `json:"content_types,omitempty"`
	// Headers are the request headers handed to the job's templates
	// (trigger.webhook.headers.NAME); no other header is.
	Headers []string `json:"headers,omitempty"`
	// MaxRate bounds the calls that start the job; unset: WebhookRateDefault.
	MaxRate *EventRate `json:"max_rate,omitempty"`
}

// WebhookRateDefault is the rate limit of a webhook whose trigger sets none.
func WebhookRateDefault() EventRate { return EventRate{Events: 60, Per: Duration(time.Minute)} }

// WebhookTrigger returns j's webhook trigger, or nil when it has none.
func (j *Job) WebhookTrigger() *WebhookTrigger {
	for _, t := range j.Triggers {
		if t.Webhook != nil {
			return t.Webhook
		}
	}
	return nil
}

// Webhook is what may be told of a job's webhook: never its token or secret.
type Webhook struct {
	JobID string `json:"job_id"`
	// Enabled is false once the webhook is disabled: calls with its token answer 403 until it is
	// regenerated.
	Enabled bool `json:"enabled"`
	// TokenHint is the start of the token, to tell which one a caller holds.
	TokenHint string `json:"token_hint"`
	// PathHint is the URL path with the token cut to its hint ("/hooks/vwh_AbCd…").
	PathHint  string    `json:"path_hint"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// WebhookKey is the idempotency key of the execution a webhook call makes of job jobID:
// "<job id>:webhook:<signature>" — the same signed request delivered twice has the same key.
func WebhookKey(jobID, signature string) string {
	return Key(jobID, TriggerWebhook, time.Time{}, signature)
}
