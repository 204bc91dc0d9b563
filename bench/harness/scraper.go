package harness

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// openMetricsAccept is the Accept header Prometheus scrapes with: OpenMetrics first, which is
// the format that carries exemplars and the one a function must serve cheaply.
const openMetricsAccept = "application/openmetrics-text;version=1.0.0;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

// scraper fetches every process's /metrics at an interval, as Prometheus would, while a run
// is measured.
type scraper struct {
	mu      sync.Mutex
	scrapes []scrape
	stop    func()
}

// scrape is one fetch of one process's /metrics.
type scrape struct {
	at      time.Time
	process string
	bytes   int
	err     error
}

// startScraping finds each of procs' admin listener in its "admin listening" log line, scrapes
// every one at once (so a listener that does not serve fails the run before it is measured)
// and then every interval until stopped.
func startScraping(ctx context.Context, procs []*process, every time.Duration) (*scraper, error) {
	urls := make(map[string]string, len(procs))
	for _, p := range procs {
		addr, err := p.adminAddr(ctx, 30*time.Second)
		if err != nil {
			return nil, err
		}
		urls[p.name] = "http://" + addr + "/metrics"
	}
	client := &http.Client{Timeout: 10 * time.Second}
	sc := &scraper{}
	round := func(ctx context.Context) {
		var wg sync.WaitGroup
		for name, url := range urls {
			wg.Go(func() {
				n, err := scrapeOnce(ctx, client, url)
				if ctx.Err() != nil {
					return // stopped mid-scrape: not the process's failure
				}
				sc.mu.Lock()
				sc.scrapes = append(sc.scrapes, scrape{at: time.Now(), process: name, bytes: n, err: err})
				sc.mu.Unlock()
			})
		}
		wg.Wait()
	}
	round(ctx)
	for _, s := range sc.scrapes {
		if s.err != nil {
			return nil, fmt.Errorf("first scrape of %s: %w", s.process, s.err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				round(ctx)
			}
		}
	}()
	sc.stop = sync.OnceFunc(func() { cancel(); <-done })
	return sc, nil
}

// scrapeOnce fetches url as OpenMetrics and returns the body's size.
func scrapeOnce(ctx context.Context, client *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", openMetricsAccept)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return len(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		return len(body), fmt.Errorf("GET %s: Content-Type %q, not OpenMetrics", url, ct)
	}
	return len(body), nil
}

// checkMetricsOff checks that each of procs' admin listener answers /metrics with 404, as a
// process with metrics.enabled=false does: a baseline that served metrics would hide their cost.
func checkMetricsOff(ctx context.Context, procs []*process) error {
	client := &http.Client{Timeout: 10 * time.Second}
	for _, p := range procs {
		addr, err := p.adminAddr(ctx, 30*time.Second)
		if err != nil {
			return err
		}
		_, err = scrapeOnce(ctx, client, "http://"+addr+"/metrics")
		if err == nil || !strings.Contains(err.Error(), "404") {
			return fmt.Errorf("%s serves metrics with metrics.enabled=false (%v)", p.name, err)
		}
	}
	return nil
}

// scrapeTotals is what the scraper did in a window.
type scrapeTotals struct {
	ok, failed, bytes int
	firstErr          error
}

// between returns the scrapes that ended from from (inclusive) to to (exclusive).
func (sc *scraper) between(from, to time.Time) scrapeTotals {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	var t scrapeTotals
	for _, s := range sc.scrapes {
		if s.at.Before(from) || !s.at.Before(to) {
			continue
		}
		if s.err != nil {
			t.failed++
			if t.firstErr == nil {
				t.firstErr = fmt.Errorf("%s: %w", s.process, s.err)
			}
			continue
		}
		t.ok++
		t.bytes += s.bytes
	}
	return t
}

// adminLineText is the "admin listening" line of the text log format.
var adminLineText = regexp.MustCompile(`msg="admin listening" addr=(\S+)`)

// adminAddr waits for the process's "admin listening" log line, in the JSON or the text format,
// and returns the address it names.
func (p *process) adminAddr(ctx context.Context, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if addr := findAdminAddr(p.output()); addr != "" {
			return addr, nil
		}
		if err := p.exited(); err != nil {
			return "", err
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s logged no \"admin listening\" line in %s (admin.addr unset?):\n%s", p.name, timeout, p.output())
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// findAdminAddr returns the address of the first "admin listening" line in out, or "".
func findAdminAddr(out string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, []byte("admin listening")) {
			continue
		}
		if m := adminLineText.FindSubmatch(line); m != nil {
			return string(m[1])
		}
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if len(line) > 0 && line[0] == '{' && json.Unmarshal(line, &rec) == nil && rec.Msg == "admin listening" {
			return rec.Addr
		}
	}
	return ""
}
