package check

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"sigs.k8s.io/yaml"
)

// Values are the chart values the checks compare with: a value set over the chart's defaults.
type Values struct {
	Mode  string `json:"mode"`
	Image struct {
		Registry string            `json:"registry"`
		Tag      string            `json:"tag"`
		Digests  map[string]string `json:"digests"`
	} `json:"image"`
	Settings struct {
		All map[string]any `json:"all"`
	} `json:"settings"`
	Tick struct {
		Replicas    int  `json:"replicas"`
		SpreadZones bool `json:"spreadZones"`
		Forward     struct {
			DeadLetterSink string `json:"deadLetterSink"`
		} `json:"forward"`
	} `json:"tick"`
	NetworkPolicies struct {
		Enabled           bool     `json:"enabled"`
		ServicePorts      []int    `json:"servicePorts"`
		KnativeNamespaces []string `json:"knativeNamespaces"`
	} `json:"networkPolicies"`
	PodDisruptionBudgets struct {
		Enabled bool `json:"enabled"`
	} `json:"podDisruptionBudgets"`
	API struct {
		Replicas       int `json:"replicas"`
		MinScale       int `json:"minScale"`
		MaxScale       int `json:"maxScale"`
		TimeoutSeconds int `json:"timeoutSeconds"`
	} `json:"api"`
	Executors struct {
		HTTP ExecutorValues `json:"http"`
		SQL  ExecutorValues `json:"sql"`
	} `json:"executors"`
	Events struct {
		InternalPort int `json:"internalPort"`
		Trigger      struct {
			Enabled bool                                `json:"enabled"`
			Broker  string                              `json:"broker"`
			Filters []eventingv1.SubscriptionsAPIFilter `json:"filters"`
		} `json:"trigger"`
	} `json:"events"`
	Eventing EventingValues `json:"eventing"`
	Keda     KedaValues     `json:"keda"`
	Knative  struct {
		Features struct {
			PodspecAffinity                  bool `json:"podspecAffinity"`
			PodspecTopologySpreadConstraints bool `json:"podspecTopologySpreadConstraints"`
		} `json:"features"`
		AllowZeroInitialScale bool `json:"allowZeroInitialScale"`
	} `json:"knative"`
	Observability struct {
		MetricsPort int `json:"metricsPort"`
	} `json:"observability"`
	Trial struct {
		Enabled     bool `json:"enabled"`
		Persistence bool `json:"persistence"`
	} `json:"trial"`
	Database Connection `json:"database"`
	NATS     Connection `json:"nats"`
	Redis    Connection `json:"redis"`

	// Release and Namespace are the release's name and namespace the set is rendered as (the
	// trial's URLs and selectors name them); the caller sets them.
	Release, Namespace string `json:"-"`

	// AppVersion is the chart's appVersion, the images' tag when image.tag is empty.
	AppVersion string `json:"-"`
}

// Connection is the values of one connection (database, nats, redis).
type Connection struct {
	URL            string `json:"url"`
	ExistingSecret string `json:"existingSecret"`
}

// given reports whether the values name the connection, so the trial's does not replace it.
func (c Connection) given() bool { return c.URL != "" || c.ExistingSecret != "" }

// KedaValues are the keda values.
type KedaValues struct {
	Enabled                bool           `json:"enabled"`
	PollingInterval        int            `json:"pollingInterval"`
	CooldownPeriod         int            `json:"cooldownPeriod"`
	LagThreshold           map[string]int `json:"lagThreshold"`
	ActivationLagThreshold int            `json:"activationLagThreshold"`
	NATSMonitoringEndpoint string         `json:"natsMonitoringEndpoint"`
	NetworkPolicy          struct {
		NATSPodLabels     map[string]string `json:"natsPodLabels"`
		OperatorNamespace string            `json:"operatorNamespace"`
		OperatorPodLabels map[string]string `json:"operatorPodLabels"`
	} `json:"networkPolicy"`
}

// EventingValues are the eventing values (knative mode).
type EventingValues struct {
	Broker struct {
		Create bool   `json:"create"`
		Name   string `json:"name"`
		Class  string `json:"class"`
	} `json:"broker"`
	Features struct {
		DeliveryRetryAfter bool `json:"deliveryRetryAfter"`
	} `json:"features"`
	DataPlane struct {
		Namespace           string              `json:"namespace"`
		IngressPodLabels    map[string]string   `json:"ingressPodLabels"`
		IngressPort         int                 `json:"ingressPort"`
		DispatcherPodLabels []map[string]string `json:"dispatcherPodLabels"`
	} `json:"dataPlane"`
}

// ExecutorValues are the values of one executor kind.
type ExecutorValues struct {
	Enabled              bool `json:"enabled"`
	Oracle               bool `json:"oracle"`
	MaxScale             int  `json:"maxScale"`
	Replicas             int  `json:"replicas"`
	ContainerConcurrency int  `json:"containerConcurrency"`
	TimeoutSeconds       int  `json:"timeoutSeconds"`
}

// LoadValues reads the chart's values.yaml and Chart.yaml in chart and merges the values files
// over them, as helm does (maps merge key by key, anything else replaces). It returns an error
// naming the file that cannot be read.
func LoadValues(chart string, files ...string) (Values, error) {
	merged := map[string]any{}
	for _, f := range append([]string{filepath.Join(chart, "values.yaml")}, files...) {
		b, err := os.ReadFile(f)
		if err != nil {
			return Values{}, fmt.Errorf("values: %w", err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(b, &m); err != nil {
			return Values{}, fmt.Errorf("values %s: %w", f, err)
		}
		merge(merged, m)
	}
	b, err := yaml.Marshal(merged)
	if err != nil {
		return Values{}, fmt.Errorf("values: %w", err)
	}
	var v Values
	if err := yaml.Unmarshal(b, &v); err != nil {
		return Values{}, fmt.Errorf("values: %w", err)
	}
	b, err = os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	if err != nil {
		return Values{}, fmt.Errorf("values: %w", err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return Values{}, fmt.Errorf("values: Chart.yaml: %w", err)
	}
	v.AppVersion = c.AppVersion
	return v, nil
}

func merge(dst, src map[string]any) {
	for k, sv := range src {
		if sm, ok := sv.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = sv
	}
}

// Cluster returns the cluster the values claim.
func (v Values) Cluster() Cluster {
	return Cluster{PodSpecAffinity: v.Knative.Features.PodspecAffinity,
		PodSpecTopologySpread: v.Knative.Features.PodspecTopologySpreadConstraints, AllowZeroInitialScale: v.Knative.AllowZeroInitialScale,
		DeliveryRetryAfter: v.Eventing.Features.DeliveryRetryAfter, Namespace: v.Namespace, OtherNamespaces: v.otherNamespaces()}
}

// Expect returns what the values say the images and admin port are.
func (v Values) Expect() Expect {
	tag := v.Image.Tag
	if tag == "" {
		tag = v.AppVersion
	}
	return Expect{Registry: v.Image.Registry, Tag: tag, Digests: v.Image.Digests, MetricsPort: v.Observability.MetricsPort}
}

// Functions returns the names of the functions the values run, each once.
func (v Values) Functions() []string {
	out := []string{"tick"}
	if v.Executors.HTTP.Enabled {
		out = append(out, "execute-http")
	}
	if v.Executors.SQL.Enabled {
		if v.Executors.SQL.Oracle {
			out = append(out, "execute-db-oracle")
		} else {
			out = append(out, "execute-db")
		}
	}
	return append(out, "api")
}

// Scaling returns what the values say KEDA's objects are: nil outside KEDA mode.
func (v Values) Scaling() *Scaling {
	if v.Mode != "deployment" || !v.Keda.Enabled {
		return nil
	}
	s := &Scaling{
		PollingInterval: v.Keda.PollingInterval, CooldownPeriod: v.Keda.CooldownPeriod,
		Activation: v.Keda.ActivationLagThreshold, Lag: map[string]int{}, Max: map[string]int{},
	}
	for _, kind := range []string{"http", "sql"} {
		s.Lag[kind] = v.Keda.LagThreshold[kind]
	}
	for _, f := range v.Functions() {
		switch f {
		case "execute-http":
			s.Max[f] = v.Executors.HTTP.MaxScale
		case "execute-db", "execute-db-oracle":
			s.Max[f] = v.Executors.SQL.MaxScale
		}
	}
	return s
}

// Policies returns what the values say the NetworkPolicies and PodDisruptionBudgets are.
func (v Values) Policies() Policies {
	p := Policies{
		Network: v.NetworkPolicies.Enabled, Disruption: v.PodDisruptionBudgets.Enabled && v.Mode == "deployment",
		Knative: v.Mode == "knative", MetricsPort: v.Observability.MetricsPort,
		ServicePorts: v.NetworkPolicies.ServicePorts, KnativeNamespaces: v.NetworkPolicies.KnativeNamespaces,
		TickReplicas: v.Tick.Replicas, APIReplicas: v.API.Replicas,
	}
	natsPods, endpoint := v.Keda.NetworkPolicy.NATSPodLabels, v.Keda.NATSMonitoringEndpoint
	if t := v.TrialServices(); t != nil && !v.NATS.given() {
		// The bundled NATS is beside the release: the chart lets KEDA reach it by default.
		if len(natsPods) == 0 {
			natsPods = t.SelectorLabels("nats")
		}
		if endpoint == "" {
			endpoint = t.Host("nats") + ":8222"
		}
	}
	if s := v.Scaling(); s != nil && len(natsPods) > 0 && v.NetworkPolicies.Enabled {
		p.KEDA = &KEDAAccess{
			NATSPods: natsPods, OperatorNamespace: v.Keda.NetworkPolicy.OperatorNamespace,
			OperatorPods: v.Keda.NetworkPolicy.OperatorPodLabels, Port: monitoringPort(endpoint),
		}
	}
	return p
}

// monitoringPort returns the port of a host:port, 8222 (NATS's monitoring default) without one.
func monitoringPort(endpoint string) int {
	if i := strings.LastIndexByte(endpoint, ':'); i >= 0 {
		if n, err := strconv.Atoi(endpoint[i+1:]); err == nil {
			return n
		}
	}
	return 8222
}

// NATSPrefix returns the nats.prefix the values set for every function, "" when none.
func (v Values) NATSPrefix() string {
	if p, ok := v.Settings.All["nats.prefix"].(string); ok {
		return p
	}
	return ""
}

// TrialServices returns what the values say the bundled services are: nil without
// trial.enabled.
func (v Values) TrialServices() *Trial {
	if !v.Trial.Enabled {
		return nil
	}
	t := &Trial{Release: v.Release, Namespace: v.Namespace, Persistence: v.Trial.Persistence, Network: v.NetworkPolicies.Enabled}
	for env, c := range map[string]Connection{"DATABASE_URL": v.Database, "NATS_URL": v.NATS, "REDIS_URL": v.Redis} {
		if !c.given() {
			t.Bundled = append(t.Bundled, env)
		}
	}
	slices.Sort(t.Bundled)
	return t
}

// KnativeEventing returns what the values say the Knative Eventing objects are: nil outside knative
// mode.
func (v Values) KnativeEventing() *Eventing {
	if v.Mode != "knative" {
		return nil
	}
	ev := v.Eventing
	e := &Eventing{
		Release: v.Release, Namespace: v.Namespace, Broker: ev.Broker.Name, Create: ev.Broker.Create, Class: ev.Broker.Class,
		RetryAfter: ev.Features.DeliveryRetryAfter, InternalPort: v.Events.InternalPort,
		DataPlane: ev.DataPlane.Namespace, IngressPods: ev.DataPlane.IngressPodLabels, IngressPort: ev.DataPlane.IngressPort,
		Dispatchers: ev.DataPlane.DispatcherPodLabels, ForwardDeadLetter: v.Tick.Forward.DeadLetterSink, Network: v.NetworkPolicies.Enabled,
	}
	if e.Broker == "" {
		e.Broker = v.Release + "-broker"
	}
	if len(e.Dispatchers) == 0 {
		e.Dispatchers = []map[string]string{{"eventing.knative.dev/brokerRole": "filter"}}
		if e.Class == "MTChannelBasedBroker" {
			e.Dispatchers = append(e.Dispatchers, map[string]string{"messaging.knative.dev/channel": "jetstream-channel", "messaging.knative.dev/role": "dispatcher"})
		}
	}
	if v.Events.Trigger.Enabled {
		e.EventsTrigger = &EventsTrigger{Broker: v.Events.Trigger.Broker, Filters: v.Events.Trigger.Filters}
	}
	return e
}

// otherNamespaces returns the namespaces besides the release's the values put objects in: the
// brokers' data plane in knative mode, for the NetworkPolicy on their ingress.
func (v Values) otherNamespaces() []string {
	if v.Mode == "knative" && v.NetworkPolicies.Enabled {
		return []string{v.Eventing.DataPlane.Namespace}
	}
	return nil
}
