package harness

import (
	"context"
	"sync"
	"time"

	ps "github.com/shirou/gopsutil/v4/process"

	"github.com/vecron/vecron/bench/report"
)

// sampler records the CPU use and resident memory of processes over time.
type sampler struct {
	start time.Time
	mu    sync.Mutex
	cpu   map[string]*report.Series
	rss   map[string]*report.Series
	order []string
	stop  func()
}

// sample starts sampling procs every interval until the returned sampler is stopped.
func sample(procs map[string]int, interval time.Duration) *sampler {
	s := &sampler{start: time.Now(), cpu: map[string]*report.Series{}, rss: map[string]*report.Series{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for name, pid := range procs {
		p, err := ps.NewProcess(int32(pid))
		if err != nil {
			continue
		}
		cpuSeries, rssSeries := &report.Series{Name: name}, &report.Series{Name: name}
		s.mu.Lock()
		s.order = append(s.order, name)
		s.cpu[name], s.rss[name] = cpuSeries, rssSeries
		s.mu.Unlock()
		wg.Go(func() {
			t := time.NewTicker(interval)
			defer t.Stop()
			lastCPU, lastAt := cpuSeconds(p), time.Now()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				now := time.Now()
				c := cpuSeconds(p)
				mem, err := p.MemoryInfo()
				if err != nil {
					return // the process is gone
				}
				ts := now.Sub(s.start).Seconds()
				s.mu.Lock()
				cpuSeries.Points = append(cpuSeries.Points, report.Point{T: ts, V: 100 * (c - lastCPU) / now.Sub(lastAt).Seconds()})
				rssSeries.Points = append(rssSeries.Points, report.Point{T: ts, V: float64(mem.RSS) / (1 << 20)})
				s.mu.Unlock()
				lastCPU, lastAt = c, now
			}
		})
	}
	s.stop = func() { cancel(); wg.Wait() }
	return s
}

func cpuSeconds(p *ps.Process) float64 {
	t, err := p.Times()
	if err != nil {
		return 0
	}
	return t.User + t.System
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

// peak returns the highest RSS in MB and the mean CPU % of name between from and to seconds.
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
