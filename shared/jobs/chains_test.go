package jobs_test

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/jobs"
)

// TestFindCycleFindsExactlyTheCycles: on random graphs, FindCycle returns a path along the
// edges from start back to start whenever start lies on a cycle, and nil only when no path
// leads back (checked by brute-force reachability).
func TestFindCycleFindsExactlyTheCycles(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 8).Draw(t, "nodes")
		edges := map[string][]string{}
		for i := range n {
			for _, to := range rapid.SliceOfNDistinct(rapid.IntRange(0, n-1), 0, n, rapid.ID).Draw(t, fmt.Sprint("edges", i)) {
				edges[fmt.Sprint(i)] = append(edges[fmt.Sprint(i)], fmt.Sprint(to))
			}
		}
		next := func(ref string) []string { return edges[ref] }
		start := fmt.Sprint(rapid.IntRange(0, n-1).Draw(t, "start"))
		// Reachable from start's successors?
		seen := map[string]bool{}
		queue := slices.Clone(edges[start])
		back := false
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			if x == start {
				back = true
				break
			}
			if !seen[x] {
				seen[x] = true
				queue = append(queue, edges[x]...)
			}
		}
		cycle := jobs.FindCycle(start, next)
		if !back {
			if cycle != nil {
				t.Fatalf("no cycle through %s, got %v", start, cycle)
			}
			return
		}
		if len(cycle) < 2 || cycle[0] != start || cycle[len(cycle)-1] != start {
			t.Fatalf("cycle %v does not start and end at %s", cycle, start)
		}
		for i := 0; i+1 < len(cycle); i++ {
			if !slices.Contains(edges[cycle[i]], cycle[i+1]) {
				t.Fatalf("cycle %v: no edge %s → %s", cycle, cycle[i], cycle[i+1])
			}
		}
	})
}
