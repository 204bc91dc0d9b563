package report

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

func TestQuantilesDownsampleTheCDF(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		n    int
		want int
	}{
		{"OneSample", 1, 2},
		{"FewerThanThePoints", 10, 11},
		{"Million", 1_000_000, cdfPoints + 1},
		{"NotAMultiple", 12_345, cdfPoints + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sorted := seq(tt.n)
			xy := quantiles(sorted, cdfPoints)
			require.Len(t, xy, tt.want)
			require.Equal(t, plotter.XY{X: 1, Y: 0}, xy[0])
			require.Equal(t, plotter.XY{X: float64(tt.n), Y: 1}, xy[len(xy)-1])
			for i := 1; i < len(xy); i++ {
				require.True(t, xy[i].X >= xy[i-1].X && xy[i].Y > xy[i-1].Y, "point %d rises", i)
			}
		})
	}
}

func TestCDFAxis(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []float64
		log     bool
	}{
		{"TwoDecadesIsLinear", []float64{1, 50, 100}, false},
		{"ThreeDecadesIsLog", []float64{0.5, 3, 800}, true},
		{"ZeroIsLinear", []float64{0, 3, 5000}, false},
		{"NegativeIsLinear", []float64{-2, 3, 5000}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := cdf("s", []string{"delivery"}, map[string][]float64{"delivery": tt.samples})
			require.NoError(t, err)
			_, isLog := p.X.Scale.(plot.LogScale)
			require.Equal(t, tt.log, isLog)
			require.Equal(t, [2]float64{0, 1}, [2]float64{p.Y.Min, p.Y.Max})
		})
	}
}

func TestBinSets(t *testing.T) {
	t.Parallel()
	t.Run("CountsEverySampleOnSharedBins", func(t *testing.T) {
		t.Parallel()
		b := binSets([]string{"delivery", "dispatch"}, map[string][]float64{"delivery": seq(5000), "dispatch": seq(20)})
		require.Len(t, b.bins, 2)
		require.Equal(t, b.bins[0][3].Min, b.bins[1][3].Min, "same bins for every set")
		require.Equal(t, 5000.0, weight(b.bins[0]))
		require.Equal(t, 20.0, weight(b.bins[1]))
		require.Equal(t, 5000.0, b.bins[0][len(b.bins[0])-1].Max)
		require.Equal(t, "lateness (ms)", b.xLabel)
	})
	t.Run("LeavesOutAFarTail", func(t *testing.T) {
		t.Parallel()
		s := append(seq(10_000), 1e6) // one sample far beyond the p99.9
		b := binSets([]string{"delivery"}, map[string][]float64{"delivery": s})
		require.Equal(t, 9991.0, weight(b.bins[0]))
		require.Equal(t, 9991.0, b.bins[0][len(b.bins[0])-1].Max)
		require.Equal(t, "lateness (ms); 10 of 10001 samples above 9991 ms not shown", b.xLabel)
	})
	t.Run("EqualSamples", func(t *testing.T) {
		t.Parallel()
		b := binSets([]string{"delivery"}, map[string][]float64{"delivery": {3, 3, 3}})
		require.Len(t, b.bins[0], minBins)
		require.Equal(t, 3.0, weight(b.bins[0]))
	})
}

func weight(bins []plotter.HistogramBin) float64 {
	var sum float64
	for _, b := range bins {
		sum += b.Weight
	}
	return sum
}

func TestBinCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		samples []float64
		want    int
	}{
		{"FewSamplesGetTheMinimum", seq(20), minBins},
		{"NoSpreadGetsTheMinimum", []float64{1, 2, 2, 2, 2, 2, 9}, minBins},
		{"ManySamplesGetTheMaximum", seq(1_000_000), maxBins},
		{"FreedmanDiaconis", seq(100_000), 47}, // IQR 50,000: width 2·50,000/∛100,000 ≈ 2154 over a span of 99,999
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := map[string][]float64{"d": tt.samples}
			require.Equal(t, tt.want, binCount([]string{"d"}, s, tt.samples[len(tt.samples)-1]-tt.samples[0]))
		})
	}
}

func TestNiceTicks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		lo, hi float64
		want   []string
	}{
		{"Seconds", 0, 60, []string{"0", "10", "20", "30", "40", "50", "60"}},
		{"Fractions", 0, 1, []string{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}},
		{"QuarterSteps", 1, 3, []string{"1.00", "1.25", "1.50", "1.75", "2.00", "2.25", "2.50", "2.75", "3.00"}},
		{"Offset", 997.3, 1023.1, []string{"1000", "1005", "1010", "1015", "1020"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, tk := range niceTicks(tt.lo, tt.hi) {
				got = append(got, tk.Label)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestLogTicks(t *testing.T) {
	t.Parallel()
	var labels []string
	minor := 0
	for _, tk := range logTicks(0.5, 300) {
		if tk.IsMinor() {
			minor++
			continue
		}
		labels = append(labels, tk.Label)
		v, err := strconv.ParseFloat(tk.Label, 64)
		require.NoError(t, err)
		require.InEpsilon(t, v, tk.Value, 1e-12)
	}
	require.Equal(t, []string{"0.5", "1", "2", "5", "10", "20", "50", "100", "200"}, labels)
	require.Equal(t, 4+6+6+1, minor)
}
