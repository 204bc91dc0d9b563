package report

import (
	"bufio"
	"fmt"
	"image/color"
	"math"
	"os"
	"sort"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

const (
	chartWidthPx  = 800
	chartHeightPx = 450
	chartDPI      = 96
	// cdfPoints bounds the points of one CDF line: a million samples are drawn as this many
	// quantiles, which no eye can tell from all of them at 800 pixels wide.
	cdfPoints = 2000
	// minBins and maxBins bound the Freedman–Diaconis bin count: fewer hides the shape, more
	// turns a small set into noise.
	minBins, maxBins = 10, 100
	// tailClip: when the largest sample lies this many times farther from the smallest than the
	// p99.9 does, the histogram stops at the p99.9 so a few outliers don't squeeze every other
	// sample into one bar; the CDF still shows the whole range.
	tailClip = 4
)

// Chart file suffixes; the Markdown turns them back into titles.
const (
	chartHist       = "lateness-hist"
	chartCDF        = "lateness-cdf"
	chartThroughput = "throughput"
	chartCPU        = "cpu"
	chartRSS        = "rss"
)

// kindTitle returns what a chart of the given suffix plots; "" for an unknown suffix.
func kindTitle(suffix string) string {
	switch suffix {
	case chartHist:
		return "lateness histogram"
	case chartCDF:
		return "lateness CDF"
	case chartThroughput:
		return "throughput over time"
	case chartCPU:
		return "CPU per process"
	case chartRSS:
		return "resident memory (RSS) per process"
	}
	return ""
}

// writeCharts writes base-<suffix>.png for each chart that has data and returns the paths
// written, also on failure. sorted holds the non-empty lateness sets, each sorted.
func writeCharts(base string, r Result, sorted map[string][]float64) ([]string, error) {
	type chart struct {
		suffix string
		draw   func() (*plot.Plot, error)
	}
	var charts []chart
	if len(sorted) > 0 {
		sets := sortedKeys(sorted)
		charts = append(charts,
			chart{chartHist, func() (*plot.Plot, error) { return histogram(r.Scenario, sets, sorted), nil }},
			chart{chartCDF, func() (*plot.Plot, error) { return cdf(r.Scenario, sets, sorted) }})
	}
	for _, c := range []struct {
		suffix string
		series []Series
		yLabel string
	}{
		{chartThroughput, r.Throughput, "rate (per second)"},
		{chartCPU, r.CPU, "CPU (% of one core)"},
		{chartRSS, r.RSS, "RSS (MB)"},
	} {
		if hasPoints(c.series) {
			charts = append(charts, chart{c.suffix, func() (*plot.Plot, error) {
				return lines(r.Scenario+": "+kindTitle(c.suffix), c.yLabel, c.series)
			}})
		}
	}

	var written []string
	for _, c := range charts {
		path := base + "-" + c.suffix + ".png"
		p, err := c.draw()
		if err == nil {
			err = savePNG(p, path)
		}
		if err != nil {
			return written, fmt.Errorf("chart %s: %w", c.suffix, err)
		}
		written = append(written, path)
	}
	return written, nil
}

// savePNG draws p on a chartWidthPx × chartHeightPx canvas and writes it to path.
func savePNG(p *plot.Plot, path string) (err error) {
	c := vgimg.NewWith(
		vgimg.UseWH(chartWidthPx*vg.Inch/chartDPI, chartHeightPx*vg.Inch/chartDPI),
		vgimg.UseDPI(chartDPI))
	// A margin, so the title and the last tick label don't touch the image's edge.
	margin := vg.Points(8)
	p.Draw(draw.Crop(draw.New(c), margin, -margin, margin/2, -margin))

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(f)
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return err
	}
	return w.Flush()
}

// newPlot returns a plot with the styling every chart shares.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	// Sans text reads better than gonum's serif default at screen size; set per plot, since
	// plot.DefaultFont is shared by every other user of the library.
	for _, f := range []*font.Font{
		&p.Title.TextStyle.Font, &p.Legend.TextStyle.Font,
		&p.X.Label.TextStyle.Font, &p.X.Tick.Label.Font, &p.Y.Label.TextStyle.Font, &p.Y.Tick.Label.Font,
	} {
		f.Variant = "Sans"
	}
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(8)
	p.Legend.Padding = vg.Points(3)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Add(plotter.NewGrid())
	return p
}

// histogram draws every lateness set on shared bins, so bar heights compare across sets.
func histogram(scenario string, sets []string, sorted map[string][]float64) *plot.Plot {
	b := binSets(sets, sorted)
	p := newPlot(scenario+": "+kindTitle(chartHist), b.xLabel, "samples per bin")
	var top float64
	for i, name := range sets {
		for _, bin := range b.bins[i] {
			top = max(top, bin.Weight)
		}
		h := &plotter.Histogram{Bins: b.bins[i], Width: b.width, FillColor: translucent(plotutil.Color(i)), LineStyle: plotter.DefaultLineStyle}
		h.LineStyle.Color = plotutil.Color(i)
		h.LineStyle.Width = vg.Points(0.75)
		p.Add(h)
		p.Legend.Add(name, h)
	}
	p.Legend.Top = true
	p.Y.Min, p.Y.Max = 0, withLegendRoom(top, len(sets))
	return p
}

// binned is the lateness sets counted on shared bins.
type binned struct {
	bins   [][]plotter.HistogramBin // one slice per set, in the order of the sets
	width  float64
	xLabel string // says what a clipped tail left out
}

// binSets counts each set on the same bins, from the smallest sample to the largest, or to the
// largest p99.9 when a far tail would squeeze the rest (see tailClip).
func binSets(sets []string, sorted map[string][]float64) binned {
	lo, hi, p999 := math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, name := range sets {
		s := sorted[name]
		lo, hi = min(lo, s[0]), max(hi, s[len(s)-1])
		p999 = max(p999, Percentile(s, 99.9))
	}
	b := binned{xLabel: "lateness (ms)"}
	if p999 > lo && hi-lo > tailClip*(p999-lo) {
		var above, total int
		for _, name := range sets {
			s := sorted[name]
			above += len(s) - upperBound(s, p999)
			total += len(s)
		}
		b.xLabel = fmt.Sprintf("lateness (ms); %d of %d samples above %s ms not shown", above, total, formatValue(p999))
		hi = p999
	}
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	n := binCount(sets, sorted, hi-lo)
	b.width = (hi - lo) / float64(n)
	for _, name := range sets {
		s := sorted[name]
		bins := make([]plotter.HistogramBin, n)
		start := lowerBound(s, lo)
		for k := range bins {
			bins[k].Min = lo + float64(k)*b.width
			bins[k].Max = lo + float64(k+1)*b.width
			// The last bin closes at hi, so the largest sample shown is counted.
			end := upperBound(s, hi)
			if k < n-1 {
				bins[k].Max = min(bins[k].Max, hi)
				end = lowerBound(s, bins[k].Max)
			} else {
				bins[k].Max = hi
			}
			bins[k].Weight = float64(end - start)
			start = end
		}
		b.bins = append(b.bins, bins)
	}
	return b
}

// binCount applies the Freedman–Diaconis rule to each set and keeps the finest width, so the
// narrowest distribution keeps its shape, within minBins..maxBins over span.
func binCount(sets []string, sorted map[string][]float64, span float64) int {
	width := math.Inf(1)
	for _, name := range sets {
		s := sorted[name]
		if iqr := Percentile(s, 75) - Percentile(s, 25); iqr > 0 {
			width = min(width, 2*iqr/math.Cbrt(float64(len(s))))
		}
	}
	if math.IsInf(width, 1) {
		return minBins
	}
	return int(min(max(math.Ceil(span/width), minBins), maxBins))
}

// cdf draws the cumulative distribution of each set from at most cdfPoints quantiles, on a log
// x axis when the samples are all positive and span more than two decades: lateness is mostly
// small with a long tail, and a linear axis would flatten the part that matters.
func cdf(scenario string, sets []string, sorted map[string][]float64) (*plot.Plot, error) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, name := range sets {
		s := sorted[name]
		lo, hi = min(lo, s[0]), max(hi, s[len(s)-1])
	}
	logX := lo > 0 && hi/lo > 100

	xLabel := "lateness (ms)"
	if logX {
		xLabel = "lateness (ms, log scale)"
	}
	p := newPlot(scenario+": "+kindTitle(chartCDF), xLabel, "fraction of samples ≤ x")
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.TickerFunc(logTicks)
	}
	for i, name := range sets {
		l, err := plotter.NewLine(quantiles(sorted[name], cdfPoints))
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
	}
	// A CDF rises to the right, so the bottom right corner is always free for the legend.
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), vg.Points(6)
	p.Y.Min, p.Y.Max = 0, 1
	return p, nil
}

// quantiles returns up to m+1 points of the empirical CDF of sorted, from (min, 0) to (max, 1).
func quantiles(sorted []float64, m int) plotter.XYs {
	n := len(sorted)
	m = min(m, n)
	xy := make(plotter.XYs, 0, m+1)
	xy = append(xy, plotter.XY{X: sorted[0], Y: 0})
	for k := 1; k <= m; k++ {
		i := (k*n+m-1)/m - 1 // the last index of the k-th m-quantile: ceil(k·n/m) − 1
		xy = append(xy, plotter.XY{X: sorted[i], Y: float64(i+1) / float64(n)})
	}
	return xy
}

// lines draws series over time, one line each.
func lines(title, yLabel string, series []Series) (*plot.Plot, error) {
	p := newPlot(title, "time since start (s)", yLabel)
	var top float64
	entries := 0
	for i, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(s.Points))
		for k, pt := range s.Points {
			xy[k] = plotter.XY{X: pt.T, Y: pt.V}
			top = max(top, pt.V)
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.25)
		p.Add(l)
		p.Legend.Add(s.Name, l)
		entries++
	}
	p.Legend.Top = true
	p.Y.Min, p.Y.Max = min(p.Y.Min, 0), withLegendRoom(top, entries)
	return p, nil
}

// withLegendRoom returns a y axis maximum that leaves the top of the chart to a legend of the
// given number of entries, so the legend does not cover the data.
func withLegendRoom(top float64, entries int) float64 {
	if top <= 0 {
		return 1
	}
	legend := min(0.05+0.065*float64(entries), 0.5) // share of the plot height: about 14 pt an entry and a gap
	return top / (1 - legend)
}

// niceTicks labels about eight round values (steps of 1, 2, 2.5 or 5 times a power of ten)
// instead of the three or four the default ticker gives.
func niceTicks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 8
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * pow
	for _, m := range []float64{1, 2, 2.5, 5} {
		if m*pow >= raw {
			step = m * pow
			break
		}
	}
	decimals := 0
	for decimals < 12 && math.Abs(step*math.Pow(10, float64(decimals))-math.Round(step*math.Pow(10, float64(decimals)))) > 1e-9 {
		decimals++
	}
	var ticks []plot.Tick
	for k := math.Ceil(lo / step); k*step <= hi+step*1e-9; k++ {
		v := k * step
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
	}
	return ticks
}

// logTicks labels 1, 2 and 5 times each power of ten (only the powers past four decades) and
// marks the other whole multiples as minor ticks; gonum's LogTicks labels only the powers,
// which leaves two or three labels on a typical lateness axis.
func logTicks(lo, hi float64) []plot.Tick {
	if !(lo > 0 && hi > lo) {
		return plot.LogTicks{Prec: -1}.Ticks(lo, hi)
	}
	wide := math.Log10(hi/lo) > 4
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); math.Pow(10, e) <= hi; e++ {
		for m := 1.0; m <= 9; m++ {
			v := m * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (!wide && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'f', max(0, int(-e)), 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

func translucent(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 110}
}

func hasPoints(series []Series) bool {
	for _, s := range series {
		if len(s.Points) > 0 {
			return true
		}
	}
	return false
}

// lowerBound returns the index of the first sample ≥ v in sorted.
func lowerBound(sorted []float64, v float64) int {
	return sort.SearchFloat64s(sorted, v)
}

// upperBound returns the index of the first sample > v in sorted.
func upperBound(sorted []float64, v float64) int {
	return sort.Search(len(sorted), func(i int) bool { return sorted[i] > v })
}
