package harness

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	ps "github.com/shirou/gopsutil/v4/process"

	"github.com/vecron/vecron/bench/report"
)

// group is a set of processes sampled as one line: a function binary, or PostgreSQL's backends
// serving one run, whose members come and go while it runs.
type group struct {
	name string
	// pids lists the members at one instant; it is called from the sampler's goroutine only.
	pids func(context.Context) []int
}

// machine names the CPU the whole machine was busy, which every sampler also records (only as a
// total for cpuUsed, not as a series): what the sampled groups leave of it is what else ran.
const machine = "machine"

// fixed is the group of one process.
func fixed(name string, pid int) group {
	return group{name: name, pids: func(context.Context) []int { return []int{pid} }}
}

// sampler records the CPU use and resident memory of process groups over time.
type sampler struct {
	start time.Time
	mu    sync.Mutex
	cpu   map[string]*report.Series
	rss   map[string]*report.Series
	// used holds each group's CPU seconds since the first sample, for exact sums over a window.
	used  map[string][]report.Point
	order []string
	stop  func()
}

// sample starts sampling procs every interval until the returned sampler is stopped.
func sample(procs map[string]int, interval time.Duration) *sampler {
	names := make([]string, 0, len(procs))
	for name := range procs {
		names = append(names, name)
	}
	sort.Strings(names)
	groups := make([]group, len(names))
	for i, name := range names {
		groups[i] = fixed(name, procs[name])
	}
	return sampleGroups(groups, interval)
}

// member is a process of a group and its CPU seconds at the last sample.
type member struct {
	p   *ps.Process
	cpu float64
}

// sampleGroups starts sampling groups every interval until the returned sampler is stopped. A
// process that joins a group after the first sample counts with all the CPU it has used: it
// was started for the run (a new connection's backend). A group with no live member adds no
// point.
func sampleGroups(groups []group, interval time.Duration) *sampler {
	s := &sampler{start: time.Now(), cpu: map[string]*report.Series{}, rss: map[string]*report.Series{}, used: map[string][]report.Point{}}
	for _, g := range groups {
		s.order = append(s.order, g.name)
		s.cpu[g.name], s.rss[g.name] = &report.Series{Name: g.name}, &report.Series{Name: g.name}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	known := make([]map[int]*member, len(groups))
	for i, g := range groups {
		known[i] = map[int]*member{}
		for _, pid := range g.pids(ctx) {
			if p, err := ps.NewProcess(int32(pid)); err == nil {
				if c, err := cpuSeconds(p); err == nil {
					known[i][pid] = &member{p: p, cpu: c}
				}
			}
		}
	}
	machineStart, _ := busySeconds(ctx)
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		last := time.Now()
		total := make([]float64, len(groups))
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := time.Now()
			ts := now.Sub(s.start).Seconds()
			for i, g := range groups {
				current := g.pids(ctx)
				if ctx.Err() != nil {
					return
				}
				var cpu, rss float64
				alive := 0
				for _, pid := range current {
					m, ok := known[i][pid]
					if !ok {
						p, err := ps.NewProcess(int32(pid))
						if err != nil {
							continue
						}
						m = &member{p: p}
						known[i][pid] = m
					}
					c, err := cpuSeconds(m.p)
					if err != nil {
						continue // the process is gone
					}
					mem, err := m.p.MemoryInfo()
					if err != nil {
						continue
					}
					cpu += c - m.cpu
					m.cpu = c
					rss += float64(mem.RSS)
					alive++
				}
				for pid := range known[i] {
					if !slices.Contains(current, pid) {
						delete(known[i], pid)
					}
				}
				if alive == 0 {
					continue
				}
				total[i] += cpu
				s.mu.Lock()
				s.cpu[g.name].Points = append(s.cpu[g.name].Points, report.Point{T: ts, V: 100 * cpu / now.Sub(last).Seconds()})
				s.rss[g.name].Points = append(s.rss[g.name].Points, report.Point{T: ts, V: rss / (1 << 20)})
				s.used[g.name] = append(s.used[g.name], report.Point{T: ts, V: total[i]})
				s.mu.Unlock()
			}
			if busy, err := busySeconds(ctx); err == nil {
				s.mu.Lock()
				s.used[machine] = append(s.used[machine], report.Point{T: ts, V: busy - machineStart})
				s.mu.Unlock()
			}
			last = now
		}
	}()
	s.stop = sync.OnceFunc(func() { cancel(); <-done })
	return s
}

// busySeconds returns the CPU seconds all of this machine's cores have spent busy since boot.
func busySeconds(ctx context.Context) (float64, error) {
	t, err := cpu.TimesWithContext(ctx, false)
	if err != nil || len(t) == 0 {
		return 0, err
	}
	return t[0].User + t[0].System + t[0].Nice + t[0].Irq + t[0].Softirq + t[0].Steal, nil
}

func cpuSeconds(p *ps.Process) (float64, error) {
	t, err := p.Times()
	if err != nil {
		return 0, err
	}
	return t.User + t.System, nil
}

// series returns the CPU and RSS series.
func (s *sampler) series() (cpu, rss []report.Series) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.order {
		cpu = append(cpu, *s.cpu[name])
		rss = append(rss, *s.rss[name])
	}
	return cpu, rss
}

// stats returns the highest RSS in MB and the mean CPU % of name between from and to seconds.
func (s *sampler) stats(name string, from, to float64) (peakRSS, meanCPU float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var sum float64
	var n int
	if r, ok := s.rss[name]; ok {
		for _, p := range r.Points {
			if p.T >= from && p.T <= to {
				peakRSS = max(peakRSS, p.V)
			}
		}
	}
	if c, ok := s.cpu[name]; ok {
		for _, p := range c.Points {
			if p.T >= from && p.T <= to {
				sum += p.V
				n++
			}
		}
	}
	if n > 0 {
		meanCPU = sum / float64(n)
	}
	return peakRSS, meanCPU
}

// cpuUsed returns the CPU seconds group name used between from and to, in seconds since the
// sampler started, interpolated between samples.
func (s *sampler) cpuUsed(name string, from, to float64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.used[name]
	return cumulative(u, to) - cumulative(u, from)
}

// cumulative interpolates the running total u at t; before the first sample it is 0 (the
// sampler's baseline), after the last it stays at the last.
func cumulative(u []report.Point, t float64) float64 {
	i := sort.Search(len(u), func(i int) bool { return u[i].T >= t })
	switch {
	case len(u) == 0:
		return 0
	case i == len(u):
		return u[len(u)-1].V
	case i == 0:
		return u[0].V * max(t, 0) / u[0].T
	}
	a, b := u[i-1], u[i]
	return a.V + (b.V-a.V)*(t-a.T)/(b.T-a.T)
}
