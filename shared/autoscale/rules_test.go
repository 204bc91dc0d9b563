package autoscale

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDefaultRulesAreKEDAsAndTheHPAs(t *testing.T) {
	t.Parallel()
	require.NoError(t, DefaultRules().Validate())
	require.Equal(t, Rules{
		PollingInterval:        30 * time.Second,
		CooldownPeriod:         300 * time.Second,
		MinReplicas:            0,
		MaxReplicas:            100,
		LagThreshold:           10,
		ActivationLagThreshold: 0,
		Tolerance:              0.1,
		ScaleUpStabilization:   0,
		ScaleDownStabilization: 300 * time.Second,
		ScaleUpPods:            4,
		ScaleUpPercent:         100,
		ScaleUpPeriod:          15 * time.Second,
	}, DefaultRules())
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(r *Rules)
		field  string // "" when valid
	}{
		{"ZeroPolling", func(r *Rules) { r.PollingInterval = 0 }, "PollingInterval"},
		{"NegativeCooldown", func(r *Rules) { r.CooldownPeriod = -time.Second }, "CooldownPeriod"},
		{"ZeroCooldown", func(r *Rules) { r.CooldownPeriod = 0 }, ""},
		{"NegativeMin", func(r *Rules) { r.MinReplicas = -1 }, "MinReplicas"},
		{"ZeroMax", func(r *Rules) { r.MaxReplicas = 0 }, "MaxReplicas"},
		{"MinAboveMax", func(r *Rules) { r.MinReplicas, r.MaxReplicas = 4, 3 }, "MinReplicas"},
		{"MinEqualsMax", func(r *Rules) { r.MinReplicas, r.MaxReplicas = 3, 3 }, ""},
		{"ZeroLagThreshold", func(r *Rules) { r.LagThreshold = 0 }, "LagThreshold"},
		{"NegativeActivation", func(r *Rules) { r.ActivationLagThreshold = -1 }, "ActivationLagThreshold"},
		{"ActivationAboveThreshold", func(r *Rules) { r.ActivationLagThreshold = 50 }, ""},
		{"NegativeTolerance", func(r *Rules) { r.Tolerance = -0.1 }, "Tolerance"},
		{"ToleranceOne", func(r *Rules) { r.Tolerance = 1 }, "Tolerance"},
		{"ToleranceNaN", func(r *Rules) { r.Tolerance = math.NaN() }, "Tolerance"},
		{"ZeroTolerance", func(r *Rules) { r.Tolerance = 0 }, ""},
		{"NegativeUpWindow", func(r *Rules) { r.ScaleUpStabilization = -time.Second }, "ScaleUpStabilization"},
		{"LongDownWindow", func(r *Rules) { r.ScaleDownStabilization = time.Hour + time.Second }, "ScaleDownStabilization"},
		{"HourDownWindow", func(r *Rules) { r.ScaleDownStabilization = time.Hour }, ""},
		{"ZeroDownWindow", func(r *Rules) { r.ScaleDownStabilization = 0 }, ""},
		{"NegativePods", func(r *Rules) { r.ScaleUpPods = -1 }, "ScaleUpPods"},
		{"NegativePercent", func(r *Rules) { r.ScaleUpPercent = -1 }, "ScaleUpPercent"},
		{"NoScaleUpPolicy", func(r *Rules) { r.ScaleUpPods, r.ScaleUpPercent = 0, 0 }, "ScaleUpPods"},
		{"PercentOnly", func(r *Rules) { r.ScaleUpPods = 0 }, ""},
		{"ZeroPeriod", func(r *Rules) { r.ScaleUpPeriod = 0 }, "ScaleUpPeriod"},
		{"LongPeriod", func(r *Rules) { r.ScaleUpPeriod = 31 * time.Minute }, "ScaleUpPeriod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := with(tt.change).Validate()
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.Contains(t, err.Error(), tt.field+": ")
		})
	}
}

func TestValidateNamesEveryField(t *testing.T) {
	t.Parallel()
	err := Rules{}.Validate()
	var fields []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var fe *FieldError
		require.True(t, errors.As(e, &fe))
		fields = append(fields, fe.Field)
	}
	require.Equal(t, []string{"PollingInterval", "MaxReplicas", "LagThreshold", "ScaleUpPods", "ScaleUpPeriod"}, fields)
}

func TestRulesLogValue(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("autoscale", "rules", DefaultRules())
	var line struct {
		Rules map[string]any `json:"rules"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &line))
	require.Len(t, line.Rules, 12)
	require.EqualValues(t, 10, line.Rules["lag_threshold"])
	require.EqualValues(t, 100, line.Rules["max_replicas"])
	require.EqualValues(t, 300*time.Second, line.Rules["cooldown_period"])
}
