package render_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/render"
)

// TestTriggerWebhookReadsTheCall: an execution started by a webhook reads the call's body,
// query and declared headers; any other execution is told it has no webhook call.
func TestTriggerWebhookReadsTheCall(t *testing.T) {
	t.Parallel()
	call := `{"body":{"order":{"id":7,"sku":"A 1"}},"query":{"region":"vn"},"headers":{"x_request_id":"r-1"}}`
	c := &render.Context{Trigger: "webhook", Payload: []byte(call)}
	for tmpl, want := range map[string]string{
		"{{ trigger.webhook.body.order.id }}":              "7",
		"{{ trigger.webhook.body.order.sku | urlquery }}":  "A+1",
		"{{ trigger.webhook.body }}":                       `{"order":{"id":7,"sku":"A 1"}}`,
		"{{ trigger.webhook.query.region | upper }}":       "VN",
		"{{ trigger.webhook.headers.x_request_id }}":       "r-1",
		"{{ trigger.type }}":                               "webhook",
		"{{ trigger.webhook.query }}|{{ trigger.type }}":   `{"region":"vn"}|webhook`,
		"{{ trigger.webhook.headers }}":                    `{"x_request_id":"r-1"}`,
		"id={{ trigger.webhook.body.order.id | json }}":    "id=7",
		"{{ trigger.webhook.body.order.sku | urlquery }}!": "A+1!",
	} {
		got, err := render.Render("http.body", tmpl, c)
		require.NoError(t, err, tmpl)
		require.Equal(t, want, got, tmpl)
	}
	_, err := render.Render("http.body", "{{ trigger.webhook.headers.authorization }}", c)
	require.ErrorContains(t, err, "trigger.webhook.headers.authorization is not in the payload")

	_, err = render.Render("http.url", "{{ trigger.webhook.body }}", &render.Context{Trigger: "event", Payload: []byte(`{"body":"x"}`)})
	require.ErrorContains(t, err, "not started by a webhook")

	require.NoError(t, render.Check("http.body", "{{ trigger.webhook.body.a.b }}"))
	require.Error(t, render.Check("http.body", "{{ trigger.webhook }}"), "a call is read part by part")
	require.Error(t, render.Check("http.body", "{{ trigger.webhook.cookies }}"), "body, query and headers only")
}
