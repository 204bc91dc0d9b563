package breaker

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		cfg   Config
		field string // named by the error; "" when valid
	}{
		{name: "Zero", cfg: Config{}},
		{name: "RatioOne", cfg: Config{FailureRatio: 1}},
		{name: "ShortDurations", cfg: Config{Window: time.Millisecond, CoolDown: time.Millisecond}},
		{name: "NegativeConsecutive", cfg: Config{ConsecutiveFailures: -1}, field: "breaker.consecutive_failures"},
		{name: "NegativeRatio", cfg: Config{FailureRatio: -0.5}, field: "breaker.failure_ratio"},
		{name: "RatioAboveOne", cfg: Config{FailureRatio: 1.01}, field: "breaker.failure_ratio"},
		{name: "RatioNaN", cfg: Config{FailureRatio: math.NaN()}, field: "breaker.failure_ratio"},
		{name: "NegativeMinRequests", cfg: Config{MinRequests: -3}, field: "breaker.min_requests"},
		{name: "NegativeWindow", cfg: Config{Window: -time.Second}, field: "breaker.window"},
		{name: "SubMillisecondWindow", cfg: Config{Window: time.Microsecond}, field: "breaker.window"},
		{name: "NegativeCoolDown", cfg: Config{CoolDown: -time.Second}, field: "breaker.cool_down"},
		{name: "NegativeHalfOpen", cfg: Config{HalfOpenRequests: -1}, field: "breaker.half_open_requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.withDefaults().validate()
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), tt.field+": "), "error %q names %s", err, tt.field)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	assert.Equal(t, Config{
		ConsecutiveFailures: 5, FailureRatio: 0.5, MinRequests: 20,
		Window: time.Minute, CoolDown: 30 * time.Second, HalfOpenRequests: 1, RedisTimeout: 200 * time.Millisecond,
	}, DefaultConfig())
}

func TestNewRejectsMissingClient(t *testing.T) {
	t.Parallel()
	_, err := New(nil, clockwork.NewRealClock(), Config{}, nil, nil)
	require.Error(t, err)
}

// A configuration is valid exactly when every field is zero or in its range, and the state's
// time to live never ends a cool-down or a window early.
func TestConfigValidateProperty(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		c := Config{
			ConsecutiveFailures: rapid.IntRange(-3, 10).Draw(t, "consecutive"),
			FailureRatio:        rapid.Float64Range(-0.5, 1.5).Draw(t, "ratio"),
			MinRequests:         rapid.IntRange(-3, 10).Draw(t, "min_requests"),
			Window:              time.Duration(rapid.Int64Range(-int64(time.Second), int64(2*time.Hour)).Draw(t, "window")),
			CoolDown:            time.Duration(rapid.Int64Range(-int64(time.Second), int64(2*time.Hour)).Draw(t, "cool_down")),
			HalfOpenRequests:    rapid.IntRange(-3, 10).Draw(t, "half_open"),
		}
		want := c.ConsecutiveFailures >= 0 &&
			(c.FailureRatio == 0 || (c.FailureRatio > 0 && c.FailureRatio <= 1)) &&
			c.MinRequests >= 0 &&
			(c.Window == 0 || c.Window >= time.Millisecond) &&
			(c.CoolDown == 0 || c.CoolDown >= time.Millisecond) &&
			c.HalfOpenRequests >= 0
		d := c.withDefaults()
		err := d.validate()
		if want != (err == nil) {
			t.Fatalf("validate(%+v) = %v, want valid=%v", d, err, want)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "breaker.") {
			t.Fatalf("error %q names no field", err)
		}
		if err == nil && (d.stateTTL() < 2*d.CoolDown || d.stateTTL() < 2*d.Window) {
			t.Fatalf("state TTL %s shorter than twice the window %s or cool-down %s", d.stateTTL(), d.Window, d.CoolDown)
		}
	})
}
