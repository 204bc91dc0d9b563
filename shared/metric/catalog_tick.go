package metric

import (
	"slices"
)

// The tick's families (docs/observability.md §2, "Time and dispatch" and "Queue and outbox").
const (
	DispatchLateness  Name = "vecron_dispatch_lateness_seconds"
	FiresPublished    Name = "vecron_fires_published_total"
	TickClaimDuration Name = "vecron_tick_claim_duration_seconds"
	TickClaimedFires  Name = "vecron_tick_claimed_fires_total"
	OutboxBacklog     Name = "vecron_outbox_backlog"
	OutboxOldestAge   Name = "vecron_outbox_oldest_age_seconds"
	PrewarmWakes      Name = "vecron_prewarm_wakes_total"
)

// bucketsDispatch (D) starts below zero: a staged fire is published tick.stage_ahead before its
// instant, so a negative lateness is the healthy case.
var bucketsDispatch = []float64{-1, -0.5, -0.25, -0.1, 0, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// tickKindTrigger are the labels of a fire the tick publishes.
func tickKindTrigger() []Label {
	return []Label{{Name: "kind", Values: executorKinds()}, {Name: "trigger", Values: executorTriggers()}}
}

// tickFamilies clones the bucket lists: a caller of Catalog may change what it gets.
func tickFamilies() []Desc {
	return []Desc{
		{
			Name: DispatchLateness, Type: TypeHistogram, Unit: "seconds",
			Help:       "When the broker acknowledged a fire, against its scheduled instant; negative for a fire staged ahead of it.",
			Labels:     tickKindTrigger(),
			Buckets:    slices.Clone(bucketsDispatch),
			ObservedIn: "shared/tick publishLoop, per fire acknowledged",
		},
		{
			Name: FiresPublished, Type: TypeCounter,
			Help:       "Fires the broker acknowledged: fresh claims, the outbox relay and queued fires (backfills, run-now) alike.",
			Labels:     tickKindTrigger(),
			ObservedIn: "shared/tick publishLoop, per fire acknowledged",
		},
		{
			Name: TickClaimDuration, Type: TypeHistogram, Unit: "seconds",
			Help:       "Time a claim of due jobs took, up to its fires being planned (a held claim commits later, after their publication).",
			Buckets:    slices.Clone(bucketsRequest),
			ObservedIn: "shared/tick claim, around claimFires",
		},
		{
			Name: TickClaimedFires, Type: TypeCounter,
			Help:       "Fires planned by claims that committed.",
			ObservedIn: "shared/tick, after a claim commits",
		},
		{
			Name: OutboxBacklog, Type: TypeGauge,
			Help:       "Outbox fires due for publication and not yet acknowledged, as the last relay pass counted them.",
			ObservedIn: "shared/tick relay pass, one aggregate statement every tick.relay_interval",
		},
		{
			Name: OutboxOldestAge, Type: TypeGauge, Unit: "seconds",
			Help:       "How long the oldest due outbox fire has waited past its publication time, as the last relay pass saw it; 0 when none waits.",
			ObservedIn: "shared/tick relay pass, one aggregate statement every tick.relay_interval",
		},
		{
			Name: PrewarmWakes, Type: TypeCounter,
			Help:       "Wakes of an executor kind ahead of its fire (tick.prewarm) the broker stored; another replica's duplicate of the same wake is not counted.",
			Labels:     []Label{{Name: "kind", Values: executorKinds()}},
			ObservedIn: "shared/tick wake loop, per wake acknowledged",
		},
	}
}
