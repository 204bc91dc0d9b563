package report

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"Empty", nil, 50, 0},
		{"OneSample", []float64{7}, 99.9, 7},
		{"MedianOfOdd", []float64{1, 2, 3}, 50, 2},
		{"MedianOfEven", []float64{1, 2, 3, 4}, 50, 2},
		{"JustAboveHalfOfEven", []float64{1, 2, 3, 4}, 50.1, 3},
		{"P99OfHundred", seq(100), 99, 99},
		{"P999OfThousandIsNotRoundedUp", seq(1000), 99.9, 999},
		{"P90OfTen", seq(10), 90, 9},
		{"ZeroIsMin", seq(10), 0, 1},
		{"HundredIsMax", seq(10), 100, 10},
		{"BelowRangeIsMin", seq(10), -5, 1},
		{"AboveRangeIsMax", seq(10), 250, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Percentile(tt.sorted, tt.p))
		})
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []float64
		want    Summary
	}{
		{"Empty", nil, Summary{}},
		{"OneSample", []float64{4.5}, Summary{Count: 1, Min: 4.5, P50: 4.5, P90: 4.5, P99: 4.5, P999: 4.5, Max: 4.5, Mean: 4.5}},
		{"OddCountUnsorted", []float64{9, 1, 5}, Summary{Count: 3, Min: 1, P50: 5, P90: 9, P99: 9, P999: 9, Max: 9, Mean: 5}},
		{"EvenCountUnsorted", []float64{4, 3, 2, 1}, Summary{Count: 4, Min: 1, P50: 2, P90: 4, P99: 4, P999: 4, Max: 4, Mean: 2.5}},
		{"Thousand", reversed(seq(1000)), Summary{Count: 1000, Min: 1, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000, Mean: 500.5}},
		{"Negative", []float64{-3, -1, -2}, Summary{Count: 3, Min: -3, P50: -2, P90: -1, P99: -1, P999: -1, Max: -1, Mean: -2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Summarize(tt.samples))
		})
	}
}

func TestSummarizeProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		in := rapid.SliceOfN(rapid.Float64Range(-1e9, 1e9), 1, 2000).Draw(t, "samples")
		orig := slices.Clone(in)

		s := Summarize(in)

		require.Equal(t, orig, in, "input unchanged")
		require.Equal(t, len(in), s.Count)
		require.Equal(t, slices.Min(in), s.Min)
		require.Equal(t, slices.Max(in), s.Max)
		require.True(t, s.Min <= s.P50 && s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max, "%+v", s)
		require.True(t, s.Min <= s.Mean && s.Mean <= s.Max, "%+v", s)
		for _, p := range []float64{s.P50, s.P90, s.P99, s.P999} {
			require.Contains(t, in, p, "nearest rank is a sample")
		}
	})
}

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		value  float64
		op     string
		target float64
		want   *bool
	}{
		{"AtMostMet", 40, "<=", 50, ptr(true)},
		{"AtMostEqualIsMet", 50, "<=", 50, ptr(true)},
		{"AtMostMissed", 51, "<=", 50, ptr(false)},
		{"AtLeastMet", 1000, ">=", 1000, ptr(true)},
		{"AtLeastMissed", 999, ">=", 1000, ptr(false)},
		{"UnknownOpIsNoTarget", 1, "<", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Check(tt.value, tt.op, tt.target))
		})
	}
}

func seq(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(i + 1)
	}
	return out
}

func reversed(s []float64) []float64 {
	slices.Reverse(s)
	return s
}

func ptr[T any](v T) *T { return &v }
