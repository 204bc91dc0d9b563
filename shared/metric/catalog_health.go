package metric

import (
	"net/http"
	"slices"
	"strconv"
)

// The families of the health of the parts (docs/observability.md §2, "Health of the parts").
const (
	BreakerOpen         Name = "vecron_breaker_open"
	BreakerTransitions  Name = "vecron_breaker_transitions_total"
	HTTPRequestDuration Name = "vecron_http_request_duration_seconds"
	EventSinkDeliveries Name = "vecron_event_sink_deliveries_total"
	AlertNotifications  Name = "vecron_alert_notifications_total"
)

// bucketsRequest are the R buckets: an api request or a tick claim, from a millisecond to five
// seconds.
var bucketsRequest = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// The values of the health families' closed labels.
const (
	ResultOK     = "ok"
	ResultRetry  = "retry"
	ResultGaveUp = "gave_up"
)

// HTTPMethods are the method label's values: the standard methods; anything else is other.
func HTTPMethods() []string {
	return []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace}
}

// HTTPCodes are the code label's values: the status codes the api answers with. A code outside
// the list (a handler's new one, before it is added here) is recorded as other, never as a new
// series.
func HTTPCodes() []string {
	codes := []int{200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308,
		400, 401, 403, 404, 405, 406, 408, 409, 410, 412, 413, 414, 415, 416, 422, 428, 429, 431,
		500, 501, 502, 503, 504}
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = strconv.Itoa(c)
	}
	return out
}

// routeCap bounds the route label. The label only ever holds a pattern of the route table or
// unmatched, so this is a safety net above the table's size, not a limit it reaches.
const routeCap = 256

// AlertChannelTypes are the channel_type label's values: the events stream and the channel
// types of alerts.channels_file.
func AlertChannelTypes() []string { return []string{"events", "webhook", "smtp"} }

func healthFamilies() []Desc {
	results := []string{ResultOK, ResultRetry, ResultGaveUp}
	return []Desc{
		{
			Name: BreakerOpen, Type: TypeGauge,
			Help:       "1 while the circuit breaker of a target host is open (failing fast for its cool-down), 0 when closed or half-open; a host not asked about for two breaker windows is dropped.",
			Labels:     []Label{HostLabel()},
			ObservedIn: "shared/breaker, where Allow and the outcome reports learn a host's state from Redis",
		},
		{
			Name: BreakerTransitions, Type: TypeCounter,
			Help:       "Changes of a host's breaker state that this replica's calls made, by the state entered.",
			Labels:     []Label{{Name: "to", Values: []string{"open", "half_open", "closed"}}},
			ObservedIn: "shared/breaker, when the breaker script reports that the call changed the state",
		},
		{
			Name: HTTPRequestDuration, Type: TypeHistogram, Unit: "seconds",
			Help: "Time the api took to answer a request, by route pattern (unmatched when none), method and status code.",
			Labels: []Label{
				{Name: "route", Cap: routeCap},
				{Name: "method", Values: HTTPMethods()},
				{Name: "code", Values: HTTPCodes()},
			},
			Buckets:    slices.Clone(bucketsRequest),
			ObservedIn: "shared/api, the request metrics middleware around the router",
		},
		{
			Name: EventSinkDeliveries, Type: TypeCounter,
			Help:       "Deliveries of lifecycle events to events.sink: accepted, to be retried, or given up.",
			Labels:     []Label{{Name: "result", Values: results}},
			ObservedIn: "shared/eventsink, where a delivery is settled",
		},
		{
			Name: AlertNotifications, Type: TypeCounter,
			Help: "Attempts to deliver an alert notice through a channel: delivered, to be retried, or given up.",
			Labels: []Label{
				{Name: "channel_type", Values: AlertChannelTypes()},
				{Name: "result", Values: results},
			},
			ObservedIn: "shared/alert, where a channel's attempt is settled",
		},
	}
}
