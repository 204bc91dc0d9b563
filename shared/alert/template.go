package alert

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
)

// Data is what a channel's templates read: the alert event's data, and a few lines made of it.
type Data struct {
	event.AlertData
	// Firing is true for an alert, false for a recovery.
	Firing bool
	// Ref is the job's "namespace/name".
	Ref string
	// Title is one line: "Job ops/settle failed 3 times in a row" or "Job ops/settle recovered".
	Title string
	// Text is Title, the last error and the job page's URL, one per line when present.
	Text string
}

// DataOf returns the template data of alert a.
func DataOf(a *domain.Alert, publicURL string) Data {
	d := Data{AlertData: event.AlertDataOf(a, publicURL), Firing: a.State == domain.AlertFiring,
		Ref: domain.Ref(a.Namespace, a.JobName)}
	if d.Firing {
		d.Title = fmt.Sprintf("Job %s failed %d times in a row", d.Ref, d.ConsecutiveFailures)
	} else {
		d.Title = fmt.Sprintf("Job %s recovered after %d failures in a row", d.Ref, d.ConsecutiveFailures)
	}
	lines := []string{d.Title}
	if d.LastError != "" {
		lines = append(lines, "Last error: "+d.LastError)
	}
	if d.URL != "" {
		lines = append(lines, d.URL)
	}
	d.Text = strings.Join(lines, "\n")
	return d
}

// sample is an alert and a recovery with every field set and text that a careless template
// would break on: what a template is tried with when the settings are loaded.
func samples() []Data {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	a := &domain.Alert{ID: 1, JobID: "0193a8f0-0000-7000-8000-000000000000", Namespace: "ops", JobName: `settle "eod" <batch>`,
		State: domain.AlertFiring, ConsecutiveFailures: 3, Threshold: 3, LastError: "HTTP 503: \"unavailable\"\nretry later \\ <b>",
		ExecutionID: "0193a8f0-0000-7000-8000-000000000001", CreatedAt: at}
	r := *a
	r.State, r.LastError, r.ConsecutiveFailures = domain.AlertResolved, "", 5
	return []Data{DataOf(a, "https://vecron.example.com"), DataOf(&r, "")}
}

// checkRenders renders t with the samples; asJSON also requires a JSON document.
func checkRenders(at string, t *tmpl, asJSON bool) error {
	for _, d := range samples() {
		out, err := render(t, d)
		if err != nil {
			return fmt.Errorf("%s: %v", at, err)
		}
		if asJSON && !json.Valid(out) {
			return fmt.Errorf("%s: renders no valid JSON (write strings with {{json .Field}})", at)
		}
	}
	return nil
}

// The bodies of the presets and the default texts (docs/alerts.md shows them).
const (
	// genericBody is the default webhook body: the event's data.
	genericBody = `{{json .AlertData}}`

	// Slack incoming webhooks take {"text": …}; a URL in it becomes a link.
	slackBody = `{"text": {{json .Text}}}`

	// Google Chat incoming webhooks take {"text": …} as well.
	googleChatBody = `{"text": {{json .Text}}}`

	// Microsoft Teams (a Workflows "post to a channel when a webhook request is received"
	// flow) takes a message with an Adaptive Card.
	teamsBody = `{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
 "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
  "body": [
   {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true, "color": {{if .Firing}}"Attention"{{else}}"Good"{{end}}, "text": {{json .Title}}},
   {"type": "FactSet", "facts": [
    {"title": "Job", "value": {{json .Ref}}},
    {"title": "Consecutive failures", "value": {{json (print .ConsecutiveFailures)}}}{{if .LastError}},
    {"title": "Last error", "value": {{json .LastError}}}{{end}}]}]{{if .URL}},
  "actions": [{"type": "Action.OpenUrl", "title": "Open the job", "url": {{json .URL}}}]{{end}}}}]}`

	mailSubject = `[vecron] {{.Title}}`
	mailBody    = `{{.Title}}.
{{if .Firing}}
The job {{.Ref}} ended {{.ConsecutiveFailures}} times in a row failed, timed out or dead-lettered (it alerts after {{.Threshold}}).
{{- if .LastError}}

Last error:
{{.LastError}}
{{- end}}
{{else}}
The job {{.Ref}} succeeded again, after {{.ConsecutiveFailures}} failures in a row.
{{end}}
{{- if .ExecutionID}}
Execution: {{.ExecutionID}}
{{- end}}
{{- if .URL}}
{{.URL}}
{{- end}}
`
)

var presets = map[string]string{"slack": slackBody, "teams": teamsBody, "googlechat": googleChatBody}
