package forward

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/sink"
)

// Defaults of Config.
const (
	// ConcurrencyDefault is the posts in flight per kind on one replica (docs/deploy.md §4): a
	// post is a round trip to the broker's ingress, which answers once it has stored the event,
	// a few milliseconds; 64 in flight carries a top-of-the-minute herd of thousands of fires
	// within the half second fires are staged ahead.
	ConcurrencyDefault = 64
	// CallbackTimeoutMin is the shortest forward.callback_timeout: a callback comes after the
	// gateway's queue, a cold start and the job, and a wait shorter than that posts every fire
	// again, and again, before its first invocation could answer.
	CallbackTimeoutMin = 10 * time.Second
	// CallbackTimeoutDefault is the longest job timeout (jobs.MaxTimeout) and a minute: no
	// callback can be expected later. A fire's own wait is its job's timeout and a minute.
	CallbackTimeoutDefault = 24*time.Hour + time.Minute
	// TimeoutDefault bounds one post: a broker ingress answers in milliseconds, so a post still
	// waiting after this is stuck, and its event is better handed to the next attempt.
	TimeoutDefault = sink.TimeoutDefault
	// MinBackoffDefault and MaxBackoffDefault bound the wait before an event the sink did not
	// accept is posted again; a due fire waits at most half a minute once the sink is back.
	MinBackoffDefault = time.Second
	MaxBackoffDefault = 30 * time.Second
)

// callbackURLExample is forward.callback_url in the shipped stack: the Service of
// eventing/openfaas/callback-service.yaml, in the functions' namespace, on its one port.
const callbackURLExample = "http://vecron-tick-callback.openfaas-fn:8081" + CallbackPath

// Config configures a Forwarder: the tick's forward.* settings.
type Config struct {
	// Enabled turns the forwarder on. A sink alone does not: K_SINK may be injected into a
	// tick whose executors pull (deployment mode), and a forwarder there would take their
	// fires away from them.
	Enabled bool `koanf:"enabled" usage:"post due events to forward.sink or forward.sinks (Knative Eventing, OpenFaaS) instead of leaving them to executors that pull"`
	// Sink is where every kind's due events are posted, unless Sinks names another.
	Sink string `koanf:"sink" usage:"http(s) URL every kind's due events are posted to as CloudEvents in HTTP binary mode (the Knative Broker's address); also K_SINK (Knative SinkBinding)"`
	// Sinks are per-kind sinks, "kind=URL", over Sink.
	Sinks []string `koanf:"sinks" usage:"per kind, kind=URL (http=https://…,sql=https://…), over forward.sink; a kind with neither is left to executors that pull"`
	// DeadLetterSink takes the due events a sink refused as malformed, with Knative's error
	// extensions, as a broker's dead-letter sink does: the api's /dead-letter on its internal
	// listener records the fire dead-lettered, to be seen and replayed.
	DeadLetterSink string `koanf:"dead_letter_sink" usage:"http(s) URL that takes a due event a forward sink refused as malformed (a 4xx), with Knative's error extensions: the api's events.internal_port at /dead-letter records the fire dead-lettered; empty: the event is given up with an error log"`
	// Concurrency bounds the posts in flight per kind on one replica.
	Concurrency int `koanf:"concurrency" usage:"posts of due events in flight per kind on one tick replica"`
	// Timeout bounds one post, the sink's answer included.
	Timeout time.Duration `koanf:"timeout" usage:"time allowed for one post of a due event, the sink's answer included"`
	// CallbackPort serves CallbackPath, where an OpenFaaS gateway reports each invocation of
	// an asynchronous route (docs/deploy.md §6); 0 turns callback mode off.
	CallbackPort int `koanf:"callback_port" usage:"port serving /forward/callback, where an OpenFaaS gateway reports the functions' answers to the due events posted to its async routes; a sink answering 202 with X-Call-Id then settles an event only on that report; 0 disables"`
	// CallbackURL is forward.callback_url: how the gateway reaches CallbackPath on the tick.
	CallbackURL string `koanf:"callback_url" usage:"URL the OpenFaaS gateway posts callbacks to, as the gateway reaches the tick's forward.callback_port (http://vecron-tick-callback.openfaas-fn:8081/forward/callback); required with forward.callback_port"`
	// CallbackTimeout bounds the wait for a callback: past it the event is handed back and
	// posted again, with the same idempotency key. A due event waits at most its job's
	// timeout and a minute, when that is shorter.
	CallbackTimeout time.Duration `koanf:"callback_timeout" usage:"time a due event posted to an OpenFaaS async route waits for its callback before it is posted again (with the same idempotency key); a fire waits at most its job's timeout plus a minute when that is shorter"`
	// MinBackoff is the wait after a first failed post of an event; each failure of the same
	// event doubles it, up to MaxBackoff.
	MinBackoff time.Duration `koanf:"-"`
	MaxBackoff time.Duration `koanf:"-"`
	// Metrics receives vecron_forward_deliveries_total and vecron_forward_callback_refusals_total;
	// nil counts nothing.
	Metrics *metric.Registry `koanf:"-"`
	// Executions is where a callback reporting a due fire's success is checked: the fire must
	// be recorded, as the executor's push handler records it before it answers 2xx. Required
	// with forward.callback_port.
	Executions Executions `koanf:"-"`
}

// Executions reads the executions the executors recorded.
type Executions interface {
	// ExecutionByKey returns the execution recorded under an idempotency key, or an error
	// wrapping domain.ErrNotFound.
	ExecutionByKey(ctx context.Context, key string) (*domain.Execution, error)
}

// DefaultConfig returns the configuration zero fields fall back to.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	c.Concurrency = cmp.Or(c.Concurrency, ConcurrencyDefault)
	c.Timeout = cmp.Or(c.Timeout, TimeoutDefault)
	c.CallbackTimeout = cmp.Or(c.CallbackTimeout, CallbackTimeoutDefault)
	c.MinBackoff = cmp.Or(c.MinBackoff, MinBackoffDefault)
	c.MaxBackoff = cmp.Or(c.MaxBackoff, MaxBackoffDefault)
	return c
}

// target is one kind's sink as configured: its URL and the setting it comes from.
type target struct {
	kind    domain.JobKind
	url     string
	setting string
}

// targets returns the sink of each kind that has one, in queue.DueKinds order, or an error
// naming the setting that is wrong; never quoting a URL, which may hold a token.
func (c Config) targets() ([]target, error) {
	switch {
	case c.Concurrency < 0:
		return nil, errors.New("forward.concurrency: must not be negative")
	case c.Timeout < 0:
		return nil, errors.New("forward.timeout: must not be negative")
	case c.MinBackoff < 0 || c.MaxBackoff < 0:
		return nil, errors.New("forward: MinBackoff and MaxBackoff must not be negative")
	case c.CallbackPort < 0 || c.CallbackPort > 65535:
		return nil, errors.New("forward.callback_port: must be a port number, or 0 for no callbacks")
	case c.CallbackTimeout < CallbackTimeoutMin:
		return nil, fmt.Errorf("forward.callback_timeout: %s is shorter than %s: a fire would be posted again before its invocation could answer", c.CallbackTimeout, CallbackTimeoutMin)
	case c.CallbackPort != 0 && strings.TrimSpace(c.CallbackURL) == "":
		return nil, errors.New("forward.callback_url: required with forward.callback_port: the URL the OpenFaaS gateway reaches the tick's callback port at, such as " + callbackURLExample)
	case c.CallbackPort == 0 && strings.TrimSpace(c.CallbackURL) != "":
		return nil, errors.New("forward.callback_url: set, but forward.callback_port is 0: no listener would take the callbacks")
	case c.CallbackURL != "" && !httpURL(c.CallbackURL):
		return nil, errors.New("forward.callback_url: must be an http or https URL with a host, such as " + callbackURLExample)
	}
	if c.CallbackURL != "" {
		if err := checkCallbackURL(c.CallbackURL); err != nil {
			return nil, err
		}
	}
	kinds := queue.DueKinds()
	perKind := map[domain.JobKind]string{}
	for i, entry := range c.Sinks {
		name, url, ok := strings.Cut(entry, "=")
		kind := domain.JobKind(strings.TrimSpace(name))
		switch {
		case !ok || strings.TrimSpace(url) == "":
			return nil, fmt.Errorf("forward.sinks: item %d: want kind=URL, such as http=https://broker.example/ns/default", i)
		case !slices.Contains(kinds, kind):
			return nil, fmt.Errorf("forward.sinks: item %d: %q is not a job kind (%s)", i, printable(string(kind)), kindList(kinds))
		case perKind[kind] != "":
			return nil, fmt.Errorf("forward.sinks: %s is given twice", kind)
		}
		perKind[kind] = strings.TrimSpace(url)
	}
	var out []target
	for _, kind := range kinds {
		switch {
		case perKind[kind] != "":
			out = append(out, target{kind: kind, url: perKind[kind], setting: "forward.sinks (" + string(kind) + ")"})
		case strings.TrimSpace(c.Sink) != "":
			out = append(out, target{kind: kind, url: strings.TrimSpace(c.Sink), setting: "forward.sink"})
		}
	}
	if c.Enabled && len(out) == 0 {
		return nil, errors.New("forward.sink: required when forward.enabled is true (or forward.sinks, per kind); it is the Knative Broker's address, K_SINK under a SinkBinding")
	}
	return out, nil
}

func kindList(kinds []domain.JobKind) string {
	s := make([]string, len(kinds))
	for i, k := range kinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// printable returns s cut to 32 bytes with anything but printable ASCII replaced, for an error
// that quotes what an operator wrote.
func printable(s string) string {
	b := []byte(s)
	if len(b) > 32 {
		b = b[:32]
	}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b)
}

// httpURL reports whether raw is an http or https URL with a host.
func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != ""
}

// checkCallbackURL refuses a forward.callback_url the tick would not answer at, or whose token
// would not reach it: a path other than CallbackPath (every callback a 404, every fire posted
// again forever), user info (the gateway's logs would show a password), a fragment (never sent)
// or a query already naming the token's parameter. The error never quotes the URL.
func checkCallbackURL(raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("forward.callback_url: must be an http or https URL with a host")
	case u.Path != CallbackPath:
		return fmt.Errorf("forward.callback_url: its path must be %s, where the tick takes callbacks, such as %s", CallbackPath, callbackURLExample)
	case u.User != nil:
		return errors.New("forward.callback_url: must not hold user info: the callback's own token authenticates it, and the gateway logs the URL")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("forward.callback_url: must not have a fragment: it is never sent")
	case u.Query().Has(tokenParam):
		return fmt.Errorf("forward.callback_url: its query must not hold %s: the tick adds the callback's token there", tokenParam)
	}
	return nil
}
