package dashboard

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/humanize"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/webhook"
)

// webhookView is the page of a job's webhook (docs/webhooks.md).
type webhookView struct {
	JobID, JobName string
	// Hook is the webhook as GET tells it; nil when the job has none.
	Hook *domain.Webhook
	// CanWrite: the caller may enable, regenerate and disable it (job:write).
	CanWrite bool
	// Created holds the credentials just made, shown on this answer only; Curl calls the hook
	// with them.
	Created   *jobs.EnabledWebhook
	URL, Curl string
	Message   string
	// CreatedAt is when the webhook's credentials were made, in the reader's language.
	CreatedAt string
}

// webhookPage shows a job's webhook: whether it is enabled, and its token's hint.
func (ui *UI) webhookPage(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.jobID(w, r, sess)
	if !ok {
		return
	}
	wv, ok := ui.loadWebhook(w, r, sess, id)
	if !ok {
		return
	}
	switch r.URL.Query().Get("done") {
	case "disabled":
		wv.Message = ui.cat.tr(langOf(r), "webhook.disabled_done")
	}
	v := ui.newView(r, sess, "webhook.title", "jobs", wv)
	ui.renderPage(w, http.StatusOK, v, webhookContent(v, wv))
}

// loadWebhook reads the job and its webhook through the API; when it cannot, it has answered.
func (ui *UI) loadWebhook(w http.ResponseWriter, r *http.Request, sess *session, id string) (*webhookView, bool) {
	var j domain.Job
	if !ui.get(w, r, sess, "/api/v1/jobs/"+id, &j) {
		return nil, false
	}
	m, err := ui.me(r, sess)
	if err != nil {
		ui.internal(w, r, sess, err)
		return nil, false
	}
	wv := &webhookView{JobID: j.ID, JobName: j.Name, CanWrite: m.can(domain.PermJobWrite, j.Namespace)}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id+"/webhook", nil)
	switch {
	case err != nil:
		ui.internal(w, r, sess, err)
		return nil, false
	case res.status == http.StatusNotFound: // the job has none; the job itself was read above
	case !res.ok():
		ui.apiError(w, r, sess, res)
		return nil, false
	default:
		wv.Hook = &domain.Webhook{}
		if err := res.decode(wv.Hook); err != nil {
			ui.internal(w, r, sess, err)
			return nil, false
		}
		wv.CreatedAt = humanize.DateTime(wv.Hook.CreatedAt, langOf(r)) + " UTC"
	}
	return wv, true
}

// enableWebhook enables the job's webhook, or regenerates its credentials, through the API and
// shows them on this answer, once: they are in no URL, and pages are never cached.
func (ui *UI) enableWebhook(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.jobID(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodPost, "/api/v1/jobs/"+id+"/webhook", nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	var created jobs.EnabledWebhook
	if err := res.decode(&created); err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	wv, ok := ui.loadWebhook(w, r, sess, id)
	if !ok {
		return
	}
	wv.Created, wv.URL = &created, ui.origin(r)+created.URLPath
	wv.Curl = curlExample(wv.URL, created.Secret)
	v := ui.newView(r, sess, "webhook.title", "jobs", wv)
	ui.renderPage(w, res.status, v, webhookContent(v, wv))
}

// disableWebhook disables the job's webhook through the API.
func (ui *UI) disableWebhook(w http.ResponseWriter, r *http.Request, sess *session) {
	id, ok := ui.jobID(w, r, sess)
	if !ok {
		return
	}
	res, err := ui.call(r, sess, http.MethodDelete, "/api/v1/jobs/"+id+"/webhook", nil)
	if err != nil {
		ui.internal(w, r, sess, err)
		return
	}
	if !res.ok() {
		ui.apiError(w, r, sess, res)
		return
	}
	http.Redirect(w, r, withDone("/jobs/"+id+"/webhook", "disabled"), http.StatusSeeOther)
}

// origin is where callers reach this server: public_url when set, else the request's host.
func (ui *UI) origin(r *http.Request) string {
	if p := ui.sessions.transport.public; p != nil {
		return strings.TrimSuffix(p.Scheme+"://"+p.Host+p.Path, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// curlExample is a shell snippet that signs a JSON body with secret and posts it to url.
func curlExample(url, secret string) string {
	return fmt.Sprintf(`SECRET='%s'
ts=$(date +%%s); body='{"hello":"vecron"}'
sig=$(printf '%%s.%%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')
curl -X POST '%s' -H 'Content-Type: application/json' \
  -H "%s: $ts" -H "%s: sha256=$sig" -d "$body"`, secret, url, webhook.HeaderTimestamp, webhook.HeaderSignature)
}
