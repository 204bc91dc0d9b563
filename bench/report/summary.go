package report

import (
	"math"
	"slices"
)

// Summary condenses one set of samples to the figures reports compare.
type Summary struct {
	Count int     `json:"count"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Summarize returns the summary of samples, which it does not modify; the zero Summary for
// none. Percentiles are nearest-rank, so each is one of the samples.
func Summarize(samples []float64) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	return summarizeSorted(sorted)
}

func summarizeSorted(sorted []float64) Summary {
	n := len(sorted)
	if n == 0 {
		return Summary{}
	}
	var sum float64
	for _, v := range sorted {
		sum += v
	}
	lo, hi := sorted[0], sorted[n-1]
	return Summary{
		Count: n,
		Min:   lo,
		P50:   Percentile(sorted, 50),
		P90:   Percentile(sorted, 90),
		P99:   Percentile(sorted, 99),
		P999:  Percentile(sorted, 99.9),
		Max:   hi,
		// Rounding in the sum can put the mean of equal samples a hair outside them.
		Mean: min(max(sum/float64(n), lo), hi),
	}
}

// Percentile returns the nearest-rank p-th percentile of sorted (ascending), p in [0, 100]:
// the smallest sample with at least p% of the samples at or below it. p below 0 (or NaN) gives
// the first sample, above 100 the last; an empty slice gives 0.
func Percentile(sorted []float64, p float64) float64 {
	n := len(sorted)
	switch {
	case n == 0:
		return 0
	case !(p > 0):
		return sorted[0]
	case p >= 100:
		return sorted[n-1]
	}
	// p*n/100 rather than p/100*n, and the small allowance, keep a product that is a whole rank
	// in decimal (99.9% of 1000) from rounding up to the next sample in binary.
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9))
	return sorted[min(max(rank, 1), n)-1]
}
