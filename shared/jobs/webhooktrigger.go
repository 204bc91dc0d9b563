package jobs

import (
	"fmt"
	"mime"
	"strings"

	"github.com/vecron/vecron/shared/domain"
)

// Limits of a webhook trigger.
const (
	MaxWebhookContentTypes = 8
	MaxWebhookHeaders      = 16
)

// refusedWebhookHeaders may never be handed to a job's templates: credentials of the caller's
// own systems, and the signature, which would let a template leak a valid one.
var refusedWebhookHeaders = []string{"authorization", "proxy-authorization", "cookie", "x-vecron-signature"}

// WebhookHeaderKey is the name under which header h is handed to templates:
// trigger.webhook.headers.x_request_id for X-Request-Id (template names are letters, digits
// and _).
func WebhookHeaderKey(h string) string {
	return strings.ReplaceAll(strings.ToLower(h), "-", "_")
}

// validateWebhook checks a webhook trigger at field.
func validateWebhook(v *domain.ValidationError, field string, w *domain.WebhookTrigger) {
	if len(w.ContentTypes) > MaxWebhookContentTypes {
		v.Add(field+".content_types", fmt.Sprintf("lists more than %d media types", MaxWebhookContentTypes))
	}
	for i, ct := range w.ContentTypes {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || len(params) > 0 || mt != strings.ToLower(ct) || !strings.Contains(mt, "/") || strings.Contains(mt, "*") {
			v.Add(fmt.Sprintf("%s.content_types[%d]", field, i), "must be a lowercase media type such as application/json, without parameters or wildcards")
		}
	}
	if len(w.Headers) > MaxWebhookHeaders {
		v.Add(field+".headers", fmt.Sprintf("lists more than %d headers", MaxWebhookHeaders))
	}
	seen := map[string]bool{}
	for i, h := range w.Headers {
		f := fmt.Sprintf("%s.headers[%d]", field, i)
		key := WebhookHeaderKey(h)
		switch {
		case !headerName(h):
			v.Add(f, "must be an HTTP header name of 1 to 64 letters, digits and -")
		case containsFold(refusedWebhookHeaders, h):
			v.Add(f, "is a credential or the signature and is never handed to templates")
		case seen[key]:
			v.Add(f, "is listed twice (names are compared ignoring case, - and _)")
		}
		seen[key] = true
	}
	validateRate(v, field+".max_rate", w.MaxRate)
}

func headerName(h string) bool {
	if h == "" || len(h) > 64 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
