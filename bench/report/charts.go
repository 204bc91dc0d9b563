package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

const (
	chartWidth  = 800
	chartHeight = 450
	// cdfPoints bounds the points of a CDF line: a million samples draw as this many quantiles.
	cdfPoints = 2000
)

// writeCharts writes the charts that have data, named base-<chart>.png.
func writeCharts(base string, r Result) ([]string, error) {
	var files []string
	save := func(p *plot.Plot, suffix string) error {
		path := base + "-" + suffix + ".png"
		// vg lengths are points; 72 per inch at 96 dpi gives chartWidth × chartHeight pixels.
		if err := p.Save(vg.Length(chartWidth)*vg.Inch/96, vg.Length(chartHeight)*vg.Inch/96, path); err != nil {
			return fmt.Errorf("chart %s: %w", suffix, err)
		}
		files = append(files, path)
		return nil
	}
	sets := latenessSets(r)
	if len(sets) > 0 {
		p, err := histogram(r.Scenario, r.Lateness, sets)
		if err != nil {
			return nil, err
		}
		if err := save(p, "lateness-hist"); err != nil {
			return nil, err
		}
		if p, err = cdf(r.Scenario, r.Lateness, sets); err != nil {
			return nil, err
		}
		if err := save(p, "lateness-cdf"); err != nil {
			return nil, err
		}
	}
	for _, c := range []struct {
		series       []Series
		suffix, what string
		unit         string
	}{
		{r.Throughput, "throughput", "throughput", "per second"},
		{r.CPU, "cpu", "CPU per process", "CPU %"},
		{r.RSS, "rss", "resident memory per process", "RSS MB"},
	} {
		if !hasPoints(c.series) {
			continue
		}
		p, err := lines(r.Scenario+": "+c.what, c.unit, c.series)
		if err != nil {
			return nil, err
		}
		if err := save(p, c.suffix); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func latenessSets(r Result) []string {
	var names []string
	for n, s := range r.Lateness {
		if len(s) > 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func hasPoints(series []Series) bool {
	for _, s := range series {
		if len(s.Points) > 0 {
			return true
		}
	}
	return false
}

// histogram plots the lateness sets with Freedman–Diaconis bins, 10 to 100 of them.
func histogram(scenario string, lateness map[string][]float64, sets []string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = scenario + ": lateness"
	p.X.Label.Text = "lateness (ms)"
	p.Y.Label.Text = "fires"
	for i, name := range sets {
		sorted := slices.Clone(lateness[name])
		slices.Sort(sorted)
		h, err := plotter.NewHist(plotter.Values(sorted), bins(sorted))
		if err != nil {
			return nil, fmt.Errorf("histogram %s: %w", name, err)
		}
		c := plotutil.Color(i)
		h.FillColor = color.NRGBA{R: c.(color.RGBA).R, G: c.(color.RGBA).G, B: c.(color.RGBA).B, A: 120}
		h.LineStyle.Color = c
		p.Add(h)
		p.Legend.Add(name, h)
	}
	p.Legend.Top = true
	return p, nil
}

func bins(sorted []float64) int {
	n := len(sorted)
	iqr := Percentile(sorted, 75) - Percentile(sorted, 25)
	span := sorted[n-1] - sorted[0]
	if iqr <= 0 || span <= 0 {
		return 10
	}
	width := 2 * iqr / math.Cbrt(float64(n))
	return min(max(int(math.Ceil(span/width)), 10), 100)
}

// cdf plots the cumulative distribution of each set from at most cdfPoints quantiles, on a log
// x axis when the values span more than two decades.
func cdf(scenario string, lateness map[string][]float64, sets []string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = scenario + ": lateness CDF"
	p.Y.Label.Text = "fraction of fires"
	p.Y.Min, p.Y.Max = 0, 1
	lo, hi := math.Inf(1), math.Inf(-1)
	quantiles := map[string]plotter.XYs{}
	for _, name := range sets {
		sorted := slices.Clone(lateness[name])
		slices.Sort(sorted)
		n := len(sorted)
		step := max(n/cdfPoints, 1)
		var xy plotter.XYs
		for i := 0; i < n; i += step {
			xy = append(xy, plotter.XY{X: sorted[i], Y: float64(i+1) / float64(n)})
		}
		xy = append(xy, plotter.XY{X: sorted[n-1], Y: 1})
		quantiles[name] = xy
		lo, hi = math.Min(lo, sorted[0]), math.Max(hi, sorted[n-1])
	}
	logX := lo > 0 && hi/lo > 100
	if logX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
		p.X.Label.Text = "lateness (ms, log scale)"
	} else {
		p.X.Label.Text = "lateness (ms)"
	}
	for i, name := range sets {
		xy := quantiles[name]
		if logX {
			xy = slices.DeleteFunc(slices.Clone(xy), func(v plotter.XY) bool { return v.X <= 0 })
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("cdf %s: %w", name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(name, l)
	}
	p.Legend.Left, p.Legend.Top = true, true
	p.Add(plotter.NewGrid())
	return p, nil
}

// lines plots series over time.
func lines(title, unit string, series []Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time since start (s)"
	p.Y.Label.Text = unit
	p.Y.Min = 0
	for i, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(s.Points))
		for k, pt := range s.Points {
			xy[k] = plotter.XY{X: pt.T, Y: pt.V}
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("series %s: %w", s.Name, err)
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p, nil
}
