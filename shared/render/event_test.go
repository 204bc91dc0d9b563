package render_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/render"
)

// TestTriggerEventReadsTheEvent: an execution started by an event reads its attributes,
// extensions and data; any other execution is told it has no event.
func TestTriggerEventReadsTheEvent(t *testing.T) {
	t.Parallel()
	ev := `{"specversion":"1.0","id":"o-7","source":"/shop","type":"com.shop.order.paid","subject":"order-7",
		"time":"2026-03-02T01:02:03Z","region":"vn","datacontenttype":"application/json","data":{"order":{"id":7,"sku":"A 1"}}}`
	c := &render.Context{Trigger: "event", Payload: []byte(ev)}
	for tmpl, want := range map[string]string{
		"{{ trigger.event.id }}":                                 "o-7",
		"{{ trigger.event.type }}":                               "com.shop.order.paid",
		"{{ trigger.event.source }}|{{ trigger.event.subject }}": "/shop|order-7",
		"{{ trigger.event.time }}":                               "2026-03-02T01:02:03Z",
		"{{ trigger.event.region | upper }}":                     "VN",
		"{{ trigger.event.data.order.id }}":                      "7",
		"{{ trigger.event.data.order.sku | urlquery }}":          "A+1",
		"{{ trigger.event.data.order }}":                         `{"id":7,"sku":"A 1"}`,
		"{{ trigger.type }}":                                     "event",
	} {
		got, err := render.Render("http.body", tmpl, c)
		require.NoError(t, err, tmpl)
		require.Equal(t, want, got, tmpl)
	}
	_, err := render.Render("http.body", "{{ trigger.event.data.missing }}", c)
	require.ErrorContains(t, err, "trigger.event.data.missing is not in the payload")

	_, err = render.Render("http.url", "{{ trigger.event.id }}", &render.Context{Trigger: "manual", Payload: []byte(`{"id":"x"}`)})
	require.ErrorContains(t, err, "not started by an event")

	require.NoError(t, render.Check("http.body", "{{ trigger.event.data.a.b }}"))
	require.Error(t, render.Check("http.body", "{{ trigger.event }}"), "an event is read attribute by attribute")
}
