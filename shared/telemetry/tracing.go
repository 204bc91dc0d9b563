package telemetry

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/telemetry/otlp"
)

// Tracing defaults (docs/observability.md §3).
const (
	SampleRatioDefault  = 0.1
	OTelTimeoutDefault  = otlp.TimeoutDefault
	batchQueueSize      = 4096
	batchSize           = 512
	batchInterval       = 2 * time.Second
	resourceAttrsEnvVar = "OTEL_RESOURCE_ATTRIBUTES"
)

// TracingConfig holds the otel.* settings every function has.
type TracingConfig struct {
	Endpoint           string        `koanf:"endpoint" usage:"OTLP/HTTP collector base URL, e.g. http://otel-collector:4318 (also OTEL_EXPORTER_OTLP_ENDPOINT); empty turns tracing off"`
	SampleRatio        float64       `koanf:"sample_ratio" usage:"share of fires and requests traced, 0 to 1 (a sampled parent or link always is)"`
	Headers            []string      `koanf:"headers" usage:"key=value headers sent to the collector (an API key); a value may be ${env:NAME}; never logged"`
	Timeout            time.Duration `koanf:"timeout" usage:"time one export may take, retries included"`
	ServiceName        string        `koanf:"service_name" usage:"service.name of the spans; empty takes the function's name"`
	PropagateToTargets bool          `koanf:"propagate_to_targets" usage:"send traceparent and tracestate to HTTP job targets"`
}

// DefaultTracingConfig returns the otel.* settings used when nothing is configured: off.
func DefaultTracingConfig() TracingConfig {
	return TracingConfig{SampleRatio: SampleRatioDefault, Timeout: OTelTimeoutDefault, PropagateToTargets: true}
}

// TracingDeps are what tracing needs besides its settings.
type TracingDeps struct {
	// Function is the default service.name ("tick").
	Function string
	// Version is service.version; empty takes the main module's version.
	Version string
	// Instance is service.instance.id (the worker id, the tick instance); empty leaves it out.
	Instance string
	// Policy is the egress policy the collector is reached through; nil applies the default.
	Policy *egress.Policy
	// Registry counts spans ended, exported and failed exports; nil counts nothing.
	Registry *metric.Registry
	// Environ is the process environment ("NAME=value"), for ${env:NAME} in otel.headers and
	// for OTEL_RESOURCE_ATTRIBUTES.
	Environ []string
}

// Tracing is a process's tracer provider: the SDK's with vecron's exporter when otel.endpoint
// is set, a no-op one otherwise.
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider
	timeout  time.Duration
	cfg      TracingConfig
}

// NewTracing returns the tracing of cfg, or an error naming the setting at fault: a ratio out
// of [0, 1], a malformed header, an endpoint that is not a URL or that the egress policy
// refuses. Errors never quote a header's value. With otel.endpoint empty it returns a no-op
// provider: no span is allocated and nothing is sent.
func NewTracing(cfg TracingConfig, deps TracingDeps) (*Tracing, error) {
	// Served with tracing off too: a panel shows 0 rather than "no data", and every family of
	// the catalog is registered by every function.
	for _, n := range []metric.Name{metric.OtelSpansEnded, metric.OtelSpansExported, metric.OtelExportFailures} {
		if _, err := deps.Registry.Counter(n); err != nil {
			return nil, err
		}
	}
	if cfg.Endpoint == "" {
		return &Tracing{provider: noop.NewTracerProvider(), cfg: cfg}, nil
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 || cfg.SampleRatio != cfg.SampleRatio {
		return nil, fmt.Errorf("otel.sample_ratio: %v is not between 0 and 1", cfg.SampleRatio)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("otel.timeout: must not be negative")
	}
	env := environMap(deps.Environ)
	headers, err := parseHeaders(cfg.Headers, env)
	if err != nil {
		return nil, err
	}
	timeout := cmp.Or(cfg.Timeout, OTelTimeoutDefault)
	exp, err := otlp.New(otlp.Config{Endpoint: cfg.Endpoint, Headers: headers, Timeout: timeout, Policy: deps.Policy, Registry: deps.Registry})
	if err != nil {
		return nil, err
	}
	batcher := sdktrace.NewBatchSpanProcessor(exp,
		sdktrace.WithMaxQueueSize(batchQueueSize),
		sdktrace.WithMaxExportBatchSize(batchSize),
		sdktrace.WithBatchTimeout(batchInterval),
		sdktrace.WithExportTimeout(timeout),
		// Not WithBlocking: a full queue drops spans rather than slow a fire.
	)
	counting, err := otlp.NewCountingProcessor(batcher, deps.Registry)
	if err != nil {
		return nil, err
	}
	res, err := newResource(cfg, deps, env)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(counting),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(LinkedOrRatio(cfg.SampleRatio)),
		sdktrace.WithIDGenerator(KeyIDGenerator()),
	)
	return &Tracing{provider: tp, sdk: tp, timeout: timeout, cfg: cfg}, nil
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t.sdk != nil }

// Provider returns the tracer provider.
func (t *Tracing) Provider() trace.TracerProvider { return t.provider }

// Tracer returns the tracer of the instrumentation scope name ("github.com/vecron/vecron/shared/tick").
func (t *Tracing) Tracer(name string) trace.Tracer { return t.provider.Tracer(name) }

// PropagateToTargets reports whether HTTP job targets are sent the trace context.
func (t *Tracing) PropagateToTargets() bool { return t.Enabled() && t.cfg.PropagateToTargets }

// flushOnStop bounds the last flush: it runs after the function's shutdown grace, which a pod's
// termination period is set from, so a slow collector must not hold the exit for long.
const flushOnStop = 5 * time.Second

// Shutdown exports the spans still queued, within otel.timeout (at most 5 s) even when ctx is
// already done (the process is stopping), and stops the provider. A no-op provider returns nil
// at once.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(t.timeout, flushOnStop))
	defer cancel()
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush traces: %w", err)
	}
	return nil
}

// Stop is Shutdown for a function's Run on its way out: a flush that fails is logged, not
// returned, since the function's own outcome is what its caller needs.
func (t *Tracing) Stop(ctx context.Context, log *slog.Logger) {
	if err := t.Shutdown(ctx); err != nil {
		log.Warn("traces not flushed", "error", err.Error())
	}
}

// envRef is a value taken from the environment: ${env:NAME}.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

func environMap(environ []string) map[string]string {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

// parseHeaders reads "key=value" entries, expanding ${env:NAME} in values. Errors name the
// entry by its index and key, never its value.
func parseHeaders(list []string, env map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(list))
	for i, h := range list {
		k, v, ok := strings.Cut(h, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, ": \t") {
			return nil, fmt.Errorf("otel.headers[%d]: not a name=value pair", i)
		}
		var missing string
		v = envRef.ReplaceAllStringFunc(strings.TrimSpace(v), func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			val, ok := env[name]
			if !ok && missing == "" {
				missing = name
			}
			return val
		})
		if missing != "" {
			return nil, fmt.Errorf("otel.headers[%d]: the environment has no %s", i, missing)
		}
		out[k] = v
	}
	return out, nil
}

// newResource describes the process: OTEL_RESOURCE_ATTRIBUTES, then service.name (the setting,
// else that variable's, else the function), service.version and service.instance.id.
func newResource(cfg TracingConfig, deps TracingDeps, env map[string]string) (*resource.Resource, error) {
	var attrs []attribute.KeyValue
	name := cfg.ServiceName
	if raw := env[resourceAttrsEnvVar]; raw != "" {
		for item := range strings.SplitSeq(raw, ",") {
			k, v, ok := strings.Cut(item, "=")
			k = strings.TrimSpace(k)
			if !ok || k == "" {
				return nil, fmt.Errorf("%s: %q is not a key=value pair", resourceAttrsEnvVar, k)
			}
			if dec, err := url.PathUnescape(strings.TrimSpace(v)); err == nil {
				v = dec
			}
			if k == "service.name" {
				name = cmp.Or(name, v)
				continue
			}
			attrs = append(attrs, attribute.String(k, v))
		}
	}
	attrs = append(attrs, attribute.String("service.name", cmp.Or(name, deps.Function)))
	if v := cmp.Or(deps.Version, mainVersion()); v != "" {
		attrs = append(attrs, attribute.String("service.version", v))
	}
	if deps.Instance != "" {
		attrs = append(attrs, attribute.String("service.instance.id", deps.Instance))
	}
	return resource.NewSchemaless(attrs...), nil
}

func mainVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		return bi.Main.Version
	}
	return ""
}
