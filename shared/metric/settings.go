package metric

import (
	"fmt"
	"strings"
)

// The defaults of Settings' caps (docs/observability.md §2).
const (
	MaxNamespacesDefault = 50
	MaxHostsDefault      = 100
	MaxJobSeriesDefault  = 200
)

// Settings are the metrics.* settings every function reads.
type Settings struct {
	Enabled       bool     `koanf:"enabled" usage:"serve metrics; false hands out handles that do nothing (the admin listener then answers 404)"`
	MaxNamespaces int      `koanf:"max_namespaces" usage:"distinct namespace label values a process keeps per family before it records other"`
	MaxHosts      int      `koanf:"max_hosts" usage:"distinct target hosts a process keeps per family before it records other"`
	Jobs          []string `koanf:"jobs" usage:"jobs that get per-job series, as namespace/name or namespace/* (the operator decides the cardinality)"`
	MaxJobSeries  int      `koanf:"max_job_series" usage:"distinct jobs a process keeps in the per-job families before it records other"`
}

// DefaultSettings returns the settings used when nothing is configured: metrics on, no per-job
// series.
func DefaultSettings() Settings {
	return Settings{Enabled: true, MaxNamespaces: MaxNamespacesDefault, MaxHosts: MaxHostsDefault, MaxJobSeries: MaxJobSeriesDefault}
}

// Validate returns an error naming the first setting that is out of range.
func (s Settings) Validate() error {
	for _, c := range []struct {
		name string
		v    int
	}{{"metrics.max_namespaces", s.MaxNamespaces}, {"metrics.max_hosts", s.MaxHosts}, {"metrics.max_job_series", s.MaxJobSeries}} {
		if c.v < 1 || c.v > 10_000 {
			return fmt.Errorf("%s: %d is outside 1–10000", c.name, c.v)
		}
	}
	for i, j := range s.Jobs {
		ns, name, ok := strings.Cut(j, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") || ns == "*" ||
			(strings.Contains(name, "*") && name != "*") {
			return fmt.Errorf("metrics.jobs[%d]: %q is not namespace/name or namespace/*", i, j)
		}
	}
	return nil
}

// capFor returns the cap of label l under s: a label made by NamespaceLabel, HostLabel or
// JobNameLabel takes its cap from the setting, any other keeps the catalog's.
func (s Settings) capFor(l Label) int {
	var v int
	switch l.capSetting {
	case capNamespaces:
		v = s.MaxNamespaces
	case capHosts:
		v = s.MaxHosts
	case capJobs:
		v = s.MaxJobSeries
	}
	if v > 0 {
		return v
	}
	return l.Cap
}

// Which setting caps a label.
const (
	capNamespaces = iota + 1
	capHosts
	capJobs
)

// NamespaceLabel is the namespace label of a family, capped by metrics.max_namespaces.
func NamespaceLabel() Label {
	return Label{Name: "namespace", Cap: MaxNamespacesDefault, capSetting: capNamespaces}
}

// HostLabel is a target host label, capped by metrics.max_hosts.
func HostLabel() Label { return Label{Name: "host", Cap: MaxHostsDefault, capSetting: capHosts} }

// JobNameLabel is the job_name label of the per-job families, capped by metrics.max_job_series.
// It is never "job": that is Prometheus's target label.
func JobNameLabel() Label {
	return Label{Name: "job_name", Cap: MaxJobSeriesDefault, capSetting: capJobs}
}

// isZero reports whether s was left unset (a Config built in code without settings).
func (s Settings) isZero() bool {
	return !s.Enabled && s.MaxNamespaces == 0 && s.MaxHosts == 0 && s.Jobs == nil && s.MaxJobSeries == 0
}
