// Package metric is the one place vecron's Prometheus families are named and described: the
// catalog, a registry that creates a family only from its catalog entry, and handles that keep
// label values inside the bounds the catalog gives (docs/observability.md §2).
//
// Components never build prometheus options themselves, so a family's name, help, labels and
// buckets are written once, here, and the dashboards and alert rules can be checked against
// Catalog().
package metric

import (
	"slices"
	"strings"

	"github.com/vecron/vecron/shared/domain"
)

// Name is a metric family's name, as Prometheus shows it.
type Name string

// The families that exist today. Later steps of docs/observability.md §9 add theirs.
const (
	TickShardsOwned    Name = "vecron_tick_shards_owned"
	TickLeaseFallback  Name = "vecron_tick_lease_fallback"
	TickLeaseErrors    Name = "vecron_tick_lease_errors_total"
	MissedFires        Name = "vecron_missed_fires_total"
	BuildInfo          Name = "vecron_build_info"
	LabelOverflow      Name = "vecron_metric_label_overflow_total"
	labelOverflowLabel      = "metric"
)

// Type is a family's Prometheus type.
type Type string

// The types the catalog uses.
const (
	TypeCounter   Type = "counter"
	TypeGauge     Type = "gauge"
	TypeHistogram Type = "histogram"
)

// Other is the value a label takes when the value given is outside its closed set, or past
// its cap.
const Other = "other"

// Label is one label of a family and what bounds its values: a closed set (Values), a cap on
// distinct values per process (Cap), or one value for the life of the process (PerProcess).
type Label struct {
	Name string
	// Values is the closed set; a value outside it is recorded as Other.
	Values []string
	// Cap is how many distinct values a process keeps before it records Other.
	Cap int
	// PerProcess marks a label set once at start (build info), never from job data.
	PerProcess bool
	// capSetting names the setting that overrides Cap (NamespaceLabel, HostLabel, JobNameLabel).
	capSetting int
}

// Closed reports whether the label's values are a closed set.
func (l Label) Closed() bool { return l.Values != nil }

// Desc describes one family.
type Desc struct {
	Name Name
	Type Type
	Help string
	// Unit is the base unit the name ends with ("seconds"), empty for counts and states.
	Unit   string
	Labels []Label
	// Buckets are a histogram's upper bounds.
	Buckets []float64
	// ObservedIn says where the code observes it, for the reader of the catalog.
	ObservedIn string
}

// labelNames returns the family's label names in order.
func (d Desc) labelNames() []string {
	names := make([]string, len(d.Labels))
	for i, l := range d.Labels {
		names[i] = l.Name
	}
	return names
}

// capped reports whether one of the family's labels is capped rather than closed.
func (d Desc) capped() bool {
	return slices.ContainsFunc(d.Labels, func(l Label) bool { return l.Cap > 0 })
}

// Functions are the values of build info's function label.
func Functions() []string { return []string{"api", "tick", "execute-http", "execute-db", "dev"} }

func stages() []string {
	var out []string
	for _, s := range domain.MissedStages() {
		out = append(out, string(s))
	}
	return out
}

// Catalog returns every family vecron registers, in a fresh slice the caller may change.
func Catalog() []Desc {
	c := []Desc{
		{
			Name: TickShardsOwned, Type: TypeGauge,
			Help:       "Shards this tick replica claims jobs from (all of them in fallback).",
			ObservedIn: "shared/lease, after each lease round",
		},
		{
			Name: TickLeaseFallback, Type: TypeGauge,
			Help:       "1 while Redis is unreachable and the replica claims every shard, relying on the database claim alone.",
			ObservedIn: "shared/lease, after each lease round",
		},
		{
			Name: TickLeaseErrors, Type: TypeCounter,
			Help:       "Redis calls for shard leases that failed.",
			ObservedIn: "shared/lease, per failed Redis call",
		},
		{
			Name: MissedFires, Type: TypeCounter,
			Help:       "Fires recorded missed: due and not started within their job's grace, by the stage they stopped at.",
			Labels:     []Label{{Name: "stage", Values: stages()}},
			ObservedIn: "shared/watchdog, after a pass records its missed fires",
		},
		{
			Name: BuildInfo, Type: TypeGauge,
			Help: "Always 1: the function, version and Go version of this process.",
			Labels: []Label{
				{Name: "function", Values: Functions()},
				{Name: "version", PerProcess: true},
				{Name: "go_version", PerProcess: true},
			},
			ObservedIn: "shared/metric, at registry creation",
		},
	}
	c = append(c, tickFamilies()...)
	c = append(c, executorFamilies()...)
	c = append(c, otelFamilies()...)
	c = append(c, queueFamilies()...)
	c = append(c, partsFamilies()...)
	c = append(c, healthFamilies()...)
	c = append(c, forwardFamilies()...)
	// The overflow counter's label names the capped families, so it is closed too.
	cappedNames := []string{}
	for _, d := range c {
		if d.capped() {
			cappedNames = append(cappedNames, string(d.Name))
		}
	}
	c = append(c, Desc{
		Name: LabelOverflow, Type: TypeCounter,
		Help:       "Label values recorded as other because their family's cap of distinct values was reached.",
		Labels:     []Label{{Name: labelOverflowLabel, Values: cappedNames}},
		ObservedIn: "shared/metric, in the handles of families with a capped label",
	})
	slices.SortFunc(c, func(a, b Desc) int { return strings.Compare(string(a.Name), string(b.Name)) })
	return c
}

// Lookup returns the catalog's entry for n, false when it has none.
func Lookup(n Name) (Desc, bool) {
	for _, d := range Catalog() {
		if d.Name == n {
			return d, true
		}
	}
	return Desc{}, false
}
