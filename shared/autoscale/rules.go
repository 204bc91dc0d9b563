// Package autoscale decides how many replicas of an executor should run for the lag of its
// durable consumer, by the rules a KEDA ScaledObject with a nats-jetstream trigger applies on a
// cluster: KEDA itself scales between zero and one replica, and the HorizontalPodAutoscaler
// KEDA creates scales between one and the maximum. Holding those rules in one pure function lets
// `vecron dev --autoscale` and the autoscale bench show locally what a cluster would do, and lets
// the chart's ScaledObject defaults be checked against the same numbers.
//
// The rules, and where they come from:
//
//   - Lag is what KEDA's nats-jetstream scaler reads: NumPending + NumAckPending of the kind's
//     durable consumer (getMaxMsgLag). The trigger is active while the lag is above
//     ActivationLagThreshold, strictly (GetMetricsAndActivity; keda.sh "Activating and Scaling
//     thresholds": with the default 0, one message activates).
//   - KEDA's scale executor (pkg/scaling/executor/scale_scaledobjects.go, RequestScale): at zero
//     replicas an active trigger scales to max(1, MinReplicas); an inactive trigger scales to
//     zero once CooldownPeriod has passed since the trigger was last active, or at once when it
//     never was (keda.sh: "when you first create your Deployment ... KEDA will immediately scale
//     it to minReplicaCount"); below MinReplicas it scales to MinReplicas.
//   - From one replica up, the HPA (pkg/controller/podautoscaler): the trigger is an External
//     metric with an AverageValue target of LagThreshold, so the proposal is ceil(lag /
//     LagThreshold), skipped while lag / (LagThreshold × current) is within Tolerance of 1
//     (GetExternalPerPodMetricReplicas); the proposal is stabilized over the recent proposals
//     (the lowest of the scale-up window, the highest of the scale-down window,
//     stabilizeRecommendationWithBehaviors), limited to the scale-up rate, and kept within
//     max(1, MinReplicas) and MaxReplicas (KEDA gives the HPA a minimum of 1 when
//     minReplicaCount is 0, getHPAMinReplicas).
//
// The HPA's default scale-down policy (100 % of the replicas per 15 s) takes any number of
// replicas away at once, so only the scale-down stabilization window holds a scale-down back;
// the package has no scale-down rate. Scale-up policies are the HPA's default pair, the larger
// of a number of replicas and a percentage per period (selectPolicy Max).
//
// On a cluster KEDA polls every pollingInterval and the HPA syncs every 15 s; here one call of
// Desired per poll does both. The HPA's limits are stated in time (windows, periods), not in
// syncs, so they mean the same at any polling interval.
//
// Scaler applies the rules as KEDA does, polling a kind's lag and setting its count through a
// Replicas the caller provides; Processes is such a Replicas made of child processes, the local
// stand-in for a Deployment that `vecron dev --autoscale` and the autoscale bench run.
package autoscale

import (
	"errors"
	"log/slog"
	"math"
	"time"
)

// Defaults, each equal to the published default of the KEDA or Kubernetes field it stands for.
const (
	// PollingIntervalDefault is KEDA's ScaledObject pollingInterval default (keda.sh, "ScaledObject
	// specification": "Optional. Default: 30 seconds").
	PollingIntervalDefault = 30 * time.Second
	// CooldownPeriodDefault is KEDA's cooldownPeriod default ("Default: 300 seconds").
	CooldownPeriodDefault = 300 * time.Second
	// MinReplicasDefault is KEDA's minReplicaCount default ("Default: 0"): scale to zero.
	MinReplicasDefault = 0
	// MaxReplicasDefault is KEDA's maxReplicaCount default ("Default: 100").
	MaxReplicasDefault = 100
	// LagThresholdDefault is the nats-jetstream scaler's lagThreshold default
	// (defaultJetStreamLagThreshold in pkg/scalers/nats_jetstream_scaler.go; keda.sh's page for
	// the scaler names no default).
	LagThresholdDefault = 10
	// ActivationLagThresholdDefault is the scaler's activationLagThreshold default (keda.sh,
	// "NATS JetStream": "Default: 0").
	ActivationLagThresholdDefault = 0
	// ToleranceDefault is kube-controller-manager's --horizontal-pod-autoscaler-tolerance default.
	ToleranceDefault = 0.1
	// ScaleUpStabilizationDefault is the HPA's scaleUp stabilizationWindowSeconds default (0:
	// "No stabilization is used"; k8s.io/kubernetes pkg/apis/autoscaling/v2/defaults.go).
	ScaleUpStabilizationDefault = 0
	// ScaleDownStabilizationDefault is the HPA's scaleDown stabilizationWindowSeconds default,
	// kube-controller-manager's --horizontal-pod-autoscaler-downscale-stabilization (5m0s).
	ScaleDownStabilizationDefault = 300 * time.Second
	// ScaleUpPodsDefault is the HPA's default scaleUp Pods policy value (4 per period).
	ScaleUpPodsDefault = 4
	// ScaleUpPercentDefault is the HPA's default scaleUp Percent policy value (100 % per period).
	ScaleUpPercentDefault = 100
	// ScaleUpPeriodDefault is the periodSeconds of both default scaleUp policies (15).
	ScaleUpPeriodDefault = 15 * time.Second
)

// Bounds the Kubernetes API validation puts on the HPA's behavior (stabilizationWindowSeconds at
// most 3600, periodSeconds at most 1800).
const (
	maxStabilization = time.Hour
	maxScaleUpPeriod = 30 * time.Minute
)

// Rules are the settings of one ScaledObject with a nats-jetstream trigger, and of the HPA it
// creates. The zero value is not valid: start from DefaultRules and change what differs.
type Rules struct {
	// PollingInterval is how often the lag is read and Desired called (KEDA pollingInterval).
	// Desired itself does not read it.
	PollingInterval time.Duration
	// CooldownPeriod is how long the trigger must have been inactive before the replicas go to
	// zero (KEDA cooldownPeriod). It applies only when MinReplicas is 0.
	CooldownPeriod time.Duration
	// MinReplicas is the count never gone below (KEDA minReplicaCount); 0 allows scale to zero.
	MinReplicas int
	// MaxReplicas is the count never gone above (KEDA maxReplicaCount).
	MaxReplicas int
	// LagThreshold is the lag one replica is meant to carry (nats-jetstream lagThreshold, the
	// HPA's AverageValue target).
	LagThreshold int64
	// ActivationLagThreshold is the lag at or below which the trigger is inactive
	// (nats-jetstream activationLagThreshold).
	ActivationLagThreshold int64
	// Tolerance is how far from 1 the ratio of lag to LagThreshold × replicas may be before the
	// HPA changes anything.
	Tolerance float64
	// ScaleUpStabilization is the HPA's scaleUp stabilizationWindowSeconds: a scale-up goes only
	// as high as the lowest proposal of this window.
	ScaleUpStabilization time.Duration
	// ScaleDownStabilization is the HPA's scaleDown stabilizationWindowSeconds: a scale-down goes
	// only as low as the highest proposal of this window, so a dip in lag does not take replicas
	// away that the next burst needs back.
	ScaleDownStabilization time.Duration
	// ScaleUpPods is the HPA's scaleUp Pods policy: replicas that may be added per ScaleUpPeriod
	// (0: no such policy).
	ScaleUpPods int
	// ScaleUpPercent is the HPA's scaleUp Percent policy: the percentage of the replicas at the
	// start of the period that may be added per ScaleUpPeriod (0: no such policy). The larger
	// of the two policies' limits applies.
	ScaleUpPercent int
	// ScaleUpPeriod is the periodSeconds of both scale-up policies.
	ScaleUpPeriod time.Duration
}

// DefaultRules returns KEDA's and the HPA's defaults (see the …Default constants).
func DefaultRules() Rules {
	return Rules{
		PollingInterval:        PollingIntervalDefault,
		CooldownPeriod:         CooldownPeriodDefault,
		MinReplicas:            MinReplicasDefault,
		MaxReplicas:            MaxReplicasDefault,
		LagThreshold:           LagThresholdDefault,
		ActivationLagThreshold: ActivationLagThresholdDefault,
		Tolerance:              ToleranceDefault,
		ScaleUpStabilization:   ScaleUpStabilizationDefault,
		ScaleDownStabilization: ScaleDownStabilizationDefault,
		ScaleUpPods:            ScaleUpPodsDefault,
		ScaleUpPercent:         ScaleUpPercentDefault,
		ScaleUpPeriod:          ScaleUpPeriodDefault,
	}
}

// FieldError is one field of Rules that Validate rejects. Field is the Go name of the field, so
// that a caller can name its own setting for it.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "autoscale rules: " + e.Field + ": " + e.Reason }

// Validate returns nil for rules Desired can apply, or every problem found, each a *FieldError
// (errors.As finds the first; the joined text lists them all).
func (r Rules) Validate() error {
	var errs []error
	bad := func(field, reason string) { errs = append(errs, &FieldError{Field: field, Reason: reason}) }
	if r.PollingInterval <= 0 {
		bad("PollingInterval", "must be positive")
	}
	if r.CooldownPeriod < 0 {
		bad("CooldownPeriod", "must not be negative")
	}
	if r.MinReplicas < 0 {
		bad("MinReplicas", "must not be negative")
	}
	if r.MaxReplicas < 1 {
		bad("MaxReplicas", "must be at least 1")
	}
	// KEDA's admission check (CheckReplicaCountBoundsAreValid) refuses min above max.
	if r.MinReplicas > r.MaxReplicas && r.MaxReplicas >= 1 {
		bad("MinReplicas", "must not be more than MaxReplicas")
	}
	if r.LagThreshold < 1 {
		bad("LagThreshold", "must be at least 1")
	}
	if r.ActivationLagThreshold < 0 {
		bad("ActivationLagThreshold", "must not be negative")
	}
	// At 1 or more a lag of zero would count as within tolerance of any count: nothing would
	// ever scale down.
	if math.IsNaN(r.Tolerance) || r.Tolerance < 0 || r.Tolerance >= 1 {
		bad("Tolerance", "must be in [0, 1)")
	}
	if r.ScaleUpStabilization < 0 || r.ScaleUpStabilization > maxStabilization {
		bad("ScaleUpStabilization", "must be between 0 and 1h")
	}
	if r.ScaleDownStabilization < 0 || r.ScaleDownStabilization > maxStabilization {
		bad("ScaleDownStabilization", "must be between 0 and 1h")
	}
	if r.ScaleUpPods < 0 {
		bad("ScaleUpPods", "must not be negative")
	}
	if r.ScaleUpPercent < 0 {
		bad("ScaleUpPercent", "must not be negative")
	}
	if r.ScaleUpPods == 0 && r.ScaleUpPercent == 0 {
		bad("ScaleUpPods", "must be positive when ScaleUpPercent is 0, or nothing could scale up")
	}
	if r.ScaleUpPeriod <= 0 || r.ScaleUpPeriod > maxScaleUpPeriod {
		bad("ScaleUpPeriod", "must be more than 0 and at most 30m")
	}
	return errors.Join(errs...)
}

// LogValue lists the rules as a group of snake_case attributes, for a banner or a log line.
func (r Rules) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Duration("polling_interval", r.PollingInterval),
		slog.Duration("cooldown_period", r.CooldownPeriod),
		slog.Int("min_replicas", r.MinReplicas),
		slog.Int("max_replicas", r.MaxReplicas),
		slog.Int64("lag_threshold", r.LagThreshold),
		slog.Int64("activation_lag_threshold", r.ActivationLagThreshold),
		slog.Float64("tolerance", r.Tolerance),
		slog.Duration("scale_up_stabilization", r.ScaleUpStabilization),
		slog.Duration("scale_down_stabilization", r.ScaleDownStabilization),
		slog.Int("scale_up_pods", r.ScaleUpPods),
		slog.Int("scale_up_percent", r.ScaleUpPercent),
		slog.Duration("scale_up_period", r.ScaleUpPeriod),
	)
}
