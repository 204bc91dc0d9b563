package harness

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/bench/report"
	"github.com/vecron/vecron/shared/auth"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/rbac"
)

// dashboardSamples is how many times each dashboard page is timed: 8 pages, each well under
// 100 ms at a million jobs, keep the timings to seconds.
const dashboardSamples = 50

// dashboardTarget is the dashboard's budget: a page answered within 100 ms (p99) on the
// server, whatever the size of the tables.
const dashboardTarget = 100

// adminUser creates a user with a password and the admin role for all namespaces, to sign in
// to the dashboard with, and returns the username and password.
func (s *stack) adminUser(ctx context.Context) (username, password string, err error) {
	password = uuid.NewString() // random, from crypto/rand
	hash, err := auth.HashPassword(password)
	if err != nil {
		return "", "", err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u := &domain.User{ID: uuid.NewString(), Username: "bench-operator-" + uuid.NewString()[:8], PasswordHash: hash,
		Source: domain.UserSourceDatabase, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return "", "", err
	}
	rb := &domain.RoleBinding{ID: uuid.NewString(), Role: rbac.RoleAdmin, UserID: u.ID, Namespace: domain.AllNamespaces, CreatedAt: now}
	return u.Username, password, s.store.CreateBinding(ctx, rb)
}

// dashboardClient signs in to the dashboard at base as a browser does: the login form, then
// the session cookie on every request. It follows no redirect, so that a page that sends the
// browser back to the login form is seen as such.
func dashboardClient(ctx context.Context, base, username, password string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if _, err := dashboardGet(ctx, c, base, "/login"); err != nil {
		return nil, err
	}
	form := url.Values{"username": {username}, "password": {password}, "next": {"/jobs"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// What a browser sends with a form of the same origin, which the dashboard's cross-origin
	// protection checks.
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/jobs" {
		return nil, fmt.Errorf("dashboard sign-in: %s, to %q", resp.Status, resp.Header.Get("Location"))
	}
	page, err := dashboardGet(ctx, c, base, "/jobs")
	if err != nil {
		return nil, err
	}
	if !strings.Contains(page.body, `name="csrf"`) {
		return nil, fmt.Errorf("dashboard sign-in: the jobs page has no CSRF token: not signed in")
	}
	return c, nil
}

// dashboardPage is a page's answer and how long it took: on the loopback, from the request
// to the last byte, and on the server, as its Server-Timing header says (0 without one).
type dashboardPage struct {
	body             string
	loopback, server float64
}

func dashboardGet(ctx context.Context, c *http.Client, base, path string) (dashboardPage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return dashboardPage{}, err
	}
	t0 := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return dashboardPage{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return dashboardPage{}, err
	}
	p := dashboardPage{body: string(b), loopback: ms(time.Since(t0)), server: serverTime(resp.Header.Get("Server-Timing"))}
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return p, nil
}

// serverTime reads the app metric of a Server-Timing header, in milliseconds (0 without one).
func serverTime(h string) float64 {
	for m := range strings.SplitSeq(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(m), ";")
		if name != "app" {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				d, _ := strconv.ParseFloat(v, 64)
				return d
			}
		}
	}
	return 0
}

// timeDashboard signs in to the dashboard at base and times its pages over jobs named
// "scale-<i>" (ids in creation order), as an operator browses them: the jobs list's first page
// and one deep in the table, a name search that one job matches and one that a tenth of them
// do, a filter by state and kind, a job's page, the history and its failures. Each page is read
// dashboardSamples times; the server's time (Server-Timing) is what is reported and targeted,
// the loopback's beside it.
func (s *stack) timeDashboard(ctx context.Context, rng *rand.Rand, base string, ids []string) ([]report.Metric, map[string][]float64, error) {
	username, password, err := s.adminUser(ctx)
	if err != nil {
		return nil, nil, err
	}
	c, err := dashboardClient(ctx, base, username, password)
	if err != nil {
		return nil, nil, err
	}
	n := len(ids)
	pages := []struct {
		name string
		path func() (path, want string)
	}{
		{"jobs, first page", func() (string, string) { return "/jobs", "" }},
		// ids are time-ordered: the tenth from the end is deep in the table's id order.
		{"jobs, a page deep in the table", func() (string, string) { return "/jobs?cursor=" + ids[n-n/10-1], "" }},
		// No name holds "scale-<i>" but its own when i ≥ n/10: "scale-<i><digit>" would be ≥ n.
		{"jobs, a search one job matches", func() (string, string) {
			name := "scale-" + strconv.Itoa(n/10+rng.IntN(n-n/10))
			return "/jobs?q=" + name, ">" + name + "<"
		}},
		{"jobs, a search a tenth match", func() (string, string) { return "/jobs?q=scale-1", "" }},
		{"jobs, paused http jobs", func() (string, string) { return "/jobs?state=paused&kind=http", "" }},
		{"a job's page", func() (string, string) { return "/jobs/" + ids[rng.IntN(n)], "" }},
		{"history, first page", func() (string, string) { return "/executions", "" }},
		{"history, failures only", func() (string, string) { return "/executions?status=failed", "" }},
	}
	var metrics []report.Metric
	sets := map[string][]float64{}
	for _, pg := range pages {
		var server, loopback []float64
		for range dashboardSamples {
			path, want := pg.path()
			p, err := dashboardGet(ctx, c, base, path)
			if err != nil {
				return nil, nil, err
			}
			if want != "" && !strings.Contains(p.body, want) {
				return nil, nil, fmt.Errorf("GET %s: the page does not show %q", path, want)
			}
			server, loopback = append(server, p.server), append(loopback, p.loopback)
		}
		sets["dashboard "+pg.name] = server
		metrics = append(metrics,
			targeted("dashboard: "+pg.name+", p99 on the server", report.Summarize(server).P99, "ms", "<=", dashboardTarget),
			metric("dashboard: "+pg.name+", p50 on the server", report.Summarize(server).P50, "ms"),
			metric("dashboard: "+pg.name+", p99 on the loopback", report.Summarize(loopback).P99, "ms"))
	}
	return metrics, sets, nil
}
