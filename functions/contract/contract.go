// Package contract says what each function binary reads and serves — its settings and their
// environment variables, ports, probe and metrics paths, durable consumers — computed from the
// code that reads and serves them, so that deployment manifests can be checked against one list
// that cannot drift from the binaries (docs/deploy.md §1).
//
// No function binary imports this package (make depcheck): it links every function's wiring,
// and exists for the checks that render the Helm chart and the eventing manifests and compare
// them with Functions.
package contract

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"

	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/functions/execute-db/dbfn"
	"github.com/vecron/vecron/functions/execute-http/httpfn"
	"github.com/vecron/vecron/functions/internal/worker"
	"github.com/vecron/vecron/functions/tick/tickfn"
	"github.com/vecron/vecron/shared/api"
	"github.com/vecron/vecron/shared/config"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/forward"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/server"
)

// Function is what one function binary reads and serves.
type Function struct {
	// Name is the function's name: "tick", "execute-http", "execute-db", "execute-db-oracle",
	// "api".
	Name string
	// Package is the main package it is built from: "./functions/execute-db".
	Package string
	// Tags are the build tags of the binary: ["oracle"] for execute-db-oracle.
	Tags []string
	// Image is the name of its container image, the last segment of the repository:
	// "vecron-execute-db-oracle".
	Image string
	// Settings are the binary's settings with their defaults and environment variables: the
	// prefixed name (config.EnvPrefix) and the unprefixed aliases the binary also reads.
	Settings []config.Setting
	// Required are the keys a production install sets: the connections. database.url and, but
	// for the api, nats.url are refused when missing; without redis.url a function starts with
	// parts off (the tick claims every shard, executors have no circuit breakers, the api no
	// sign-in throttle nor rate limits). Key material is either inline or in a file
	// (secrets.keys or secrets.keys_file), so it is not listed here.
	Required []string
	// Ports are the listeners the binary opens, the public one first.
	Ports []Port
	// Probes are the paths of the liveness and readiness probes, on the "http" port.
	Probes Probes
	// Metrics is the path of the metrics on the "metrics" port, which serves nothing else.
	Metrics string
	// Consumers are the JetStream durable consumers the binary pulls from.
	Consumers []Consumer
	// PushPath is where an executor takes due events POSTed as CloudEvents on its "http" port
	// with transport=push; "" for the functions that take none.
	PushPath string
	// EventsPath is where the api takes POSTed CloudEvents, on its "http" port with a credential
	// and on its "events-internal" port without one; "" for the other functions.
	EventsPath string
	// DeadLetterPath is where the api takes the due events a Knative broker gave up delivering
	// (the executors' Triggers' dead-letter sink), on its "events-internal" port only; "" for
	// the other functions.
	DeadLetterPath string
	// CallbackPath is where the tick takes an OpenFaaS gateway's callbacks for the due events it
	// posted to an asynchronous route, on its "forward-callback" port only; "" for the other
	// functions.
	CallbackPath string
	// Platform are the environment variables a platform sets (Knative Serving's PORT, a
	// SinkBinding's K_SINK) that the binary reads, sorted.
	Platform []string
}

// Port is one listener of a function.
type Port struct {
	// Name is the port's name in manifests: "http" (public: probes, and the API or pushed
	// events), "metrics" (admin: /metrics only), "events-internal" (the api's credential-less
	// CloudEvents listener), "forward-callback" (the tick's OpenFaaS callbacks), "pprof" (the Go
	// profiler).
	Name string
	// Setting is the key that moves or enables it: "port", "admin.addr".
	Setting string
	// Default is the port served when nothing is set; 0 means the listener is off by default.
	Default int
}

// Probes are the paths of a function's probes.
type Probes struct {
	Live  string
	Ready string
}

// Consumer is one JetStream durable consumer a function pulls from.
type Consumer struct {
	// Stream is the stream the consumer is on: "VECRON_DUE".
	Stream string
	// Durable is the consumer's name: "execute-sql". It carries no prefix (it is per stream).
	Durable string
	// Subject is the consumer's filter subject, "" for the whole stream.
	Subject string
	// Kind is the kind of jobs whose due events it takes; "" for a consumer of lifecycle events.
	Kind domain.JobKind
	// Setting is the key that turns the consumer on: "transport" (pull, the default) for the
	// executors, "forward.enabled" for the tick (which shares the executors' consumers: one
	// pulls them, or the other), "events.sink" for the api.
	Setting string
}

// Functions returns every function binary, for an install whose stream and subject names derive
// from prefix (the nats.prefix setting; "" is event.DefaultPrefix). It panics if a function's
// default settings are not a valid settings struct, a programming error its test catches.
func Functions(prefix string) []Function {
	names := event.Names{Prefix: cmp.Or(prefix, event.DefaultPrefix)}
	required := func() []string { return []string{"database.url", "nats.url", "redis.url"} }
	probes := Probes{Live: server.LivePath, Ready: server.ReadyPath}

	tick := tickfn.DefaultSettings()
	tick.NATS.Prefix = names.Prefix
	httpS := httpfn.DefaultSettings()
	httpS.NATS.Prefix = names.Prefix
	dbS := dbfn.DefaultSettings()
	dbS.NATS.Prefix = names.Prefix
	apiS := apifn.DefaultSettings()
	apiS.NATS.Prefix = names.Prefix

	executor := func(name string, tags []string, s *worker.Settings, settings any, kind domain.JobKind) Function {
		return Function{
			Name: name, Package: "./functions/" + pkgOf(name), Tags: tags, Image: "vecron-" + name,
			Settings: describe(settings, worker.Aliases()),
			Required: required(),
			Ports:    []Port{{"http", "port", s.Port}, {"metrics", "admin.addr", addrPort(s.Admin.Addr)}, {"pprof", "debug.pprof_addr", addrPort(s.Debug.PprofAddr)}},
			Probes:   probes, Metrics: server.MetricsPath,
			Consumers: dueConsumers(names, "transport", kind),
			PushPath:  worker.PushPath,
			Platform:  platform(worker.Aliases()),
		}
	}
	return []Function{
		{
			Name: "tick", Package: "./functions/tick", Image: "vecron-tick",
			Settings: describe(&tick, tickfn.Aliases()),
			Required: required(),
			Ports: []Port{{"http", "port", tick.Port}, {"metrics", "admin.addr", addrPort(tick.Admin.Addr)},
				{"forward-callback", "forward.callback_port", tick.Forward.CallbackPort}, {"pprof", "debug.pprof_addr", addrPort(tick.Debug.PprofAddr)}},
			Probes: probes, Metrics: server.MetricsPath,
			CallbackPath: forward.CallbackPath,
			// The forwarder's: the executors' own consumers, for platforms that invoke them.
			Consumers: dueConsumers(names, "forward.enabled", queue.DueKinds()...),
			Platform:  platform(tickfn.Aliases()),
		},
		executor("execute-http", nil, &httpS.Settings, &httpS, httpfn.Kind),
		executor("execute-db", nil, &dbS.Settings, &dbS, dbfn.Kind),
		executor("execute-db-oracle", []string{"oracle"}, &dbS.Settings, &dbS, dbfn.Kind),
		{
			Name: "api", Package: "./functions/api", Image: "vecron-api",
			Settings: describe(&apiS, apifn.Aliases()),
			Required: required(),
			Ports: []Port{{"http", "port", apiS.Port}, {"metrics", "admin.addr", addrPort(apiS.Admin.Addr)},
				{"events-internal", "events.internal_port", apiS.Events.InternalPort}, {"pprof", "debug.pprof_addr", addrPort(apiS.Debug.PprofAddr)}},
			Probes: probes, Metrics: server.MetricsPath,
			Consumers:      []Consumer{{Stream: names.EventsStream(), Durable: names.SinkConsumer(), Setting: "events.sink"}},
			EventsPath:     api.EventsPath,
			DeadLetterPath: api.DeadLetterPath,
			Platform:       platform(apifn.Aliases()),
		},
	}
}

// dueConsumers returns the durable consumers of kinds' due events, turned on by setting.
func dueConsumers(names event.Names, setting string, kinds ...domain.JobKind) []Consumer {
	out := make([]Consumer, len(kinds))
	for i, kind := range kinds {
		out[i] = Consumer{Stream: names.DueStream(), Durable: names.DueConsumer(kind), Subject: names.DueSubject(kind), Kind: kind, Setting: setting}
	}
	return out
}

// pkgOf returns the directory a function is built from: the Oracle build is execute-db's.
func pkgOf(name string) string {
	if name == "execute-db-oracle" {
		return "execute-db"
	}
	return name
}

func describe(settings any, aliases map[string]string) []config.Setting {
	return config.Describe(settings, config.Options{Prefix: config.EnvPrefix, Aliases: aliases})
}

// addrPort returns the port of a listen address such as ":9464", or 0 for "" (not served).
func addrPort(addr string) int {
	if addr == "" {
		return 0
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		panic(fmt.Sprintf("contract: default listen address %q: %v", addr, err))
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		panic(fmt.Sprintf("contract: default listen address %q: port is not a number", addr))
	}
	return n
}

// platform returns the variables a platform sets in a function's container that aliases read,
// sorted.
func platform(aliases map[string]string) []string {
	// Knative Serving's runtime contract, and Knative Eventing's SinkBinding.
	set := []string{"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION", "K_SINK", "K_CE_OVERRIDES"}
	var out []string
	for name := range aliases {
		if slices.Contains(set, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
