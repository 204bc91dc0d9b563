package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard"
	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/functions/api/apifn"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/rbac"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// liveFrame is one event of the dashboard's live stream.
type liveFrame struct {
	id    string
	event string
	data  string
}

// liveWatch is an open GET /live.
type liveWatch struct {
	t      *testing.T
	resp   *http.Response
	frames chan liveFrame
	cancel context.CancelFunc
}

// watchLive opens path (/live?…) with c's session; header holds pairs of names and values.
func watchLive(t *testing.T, c *client, path string, header ...string) *liveWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.srv.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.c.Do(req)
	require.NoError(t, err)
	w := &liveWatch{t: t, resp: resp, frames: make(chan liveFrame, 1024), cancel: cancel}
	done := make(chan struct{})
	t.Cleanup(func() { w.close(); <-done })
	go func() {
		defer close(done)
		defer close(w.frames)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		var f liveFrame
		seen := false
		for sc.Scan() {
			line := sc.Text()
			if line == "" {
				if seen {
					w.frames <- f
				}
				f, seen = liveFrame{}, false
				continue
			}
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "retry":
				seen = true
			case "id":
				f.id, seen = value, true
			case "event":
				f.event, seen = value, true
			case "data":
				if f.data != "" {
					f.data += "\n"
				}
				f.data, seen = f.data+value, true
			}
		}
	}()
	return w
}

func (w *liveWatch) close() {
	w.cancel()
	_ = w.resp.Body.Close()
}

// next returns the next frame, failing when none comes in time; ok is false once the stream
// ended.
func (w *liveWatch) next() (liveFrame, bool) {
	w.t.Helper()
	select {
	case f, ok := <-w.frames:
		return f, ok
	case <-time.After(testenv.Timeout(30 * time.Second)):
		w.t.Fatal("no live event within 30 s")
		return liveFrame{}, false
	}
}

// until reads frames until one satisfies done, and returns every frame read.
func (w *liveWatch) until(what string, done func(liveFrame) bool) []liveFrame {
	w.t.Helper()
	var got []liveFrame
	for {
		f, ok := w.next()
		if !ok {
			w.t.Fatalf("the live stream ended before %s; read %v", what, got)
		}
		got = append(got, f)
		if done(f) {
			return got
		}
	}
}

// idAtLeast is a frame's test: it moves the browser's position to seq or past it.
func idAtLeast(seq uint64) func(liveFrame) bool {
	return func(f liveFrame) bool {
		n, err := strconv.ParseUint(f.id, 10, 64)
		return err == nil && n >= seq
	}
}

// liveJob creates an http job named name in namespace ns through the API.
func liveJob(t *testing.T, srv *dashboardtest.Server, token, name, ns string) *domain.Job {
	t.Helper()
	id := createJob(t, srv, token, name, ns)
	code, b := srv.API(t, token, http.MethodGet, "/api/v1/jobs/"+id, "")
	require.Equal(t, http.StatusOK, code, b)
	var j domain.Job
	require.NoError(t, json.Unmarshal([]byte(b), &j))
	return &j
}

// publishExecution publishes an execution event of job j, as an executor does, and returns its
// stream sequence.
func publishExecution(t *testing.T, srv *dashboardtest.Server, j *domain.Job, typ string, x *domain.Execution) uint64 {
	t.Helper()
	if x == nil {
		x = &domain.Execution{ID: fmt.Sprint("exec-", time.Now().UnixNano()), JobID: j.ID, Status: domain.StatusSucceeded, Attempt: 1, ScheduledAt: time.Now()}
	}
	ev, err := event.NewExecution(typ, x, event.Due{Kind: domain.KindHTTP, Namespace: j.Namespace, JobName: j.Name}, "/test")
	require.NoError(t, err)
	msg, err := event.ToNATS(t.Context(), ev)
	require.NoError(t, err)
	msg.Subject = srv.Names.EventSubject(typ)
	ack, err := srv.JS.PublishMsg(t.Context(), msg)
	require.NoError(t, err)
	return ack.Sequence
}

// outcome records an execution of j that succeeded or failed, and publishes its event.
func outcome(t *testing.T, srv *dashboardtest.Server, j *domain.Job, status domain.ExecutionStatus, at time.Time) uint64 {
	t.Helper()
	x := testfactory.Outcome(t, srv.Store, j, status, at, 20*time.Millisecond)
	typ := event.TypeExecutionSucceeded
	if status == domain.StatusFailed {
		typ = event.TypeExecutionFailed
	}
	return publishExecution(t, srv, j, typ, x)
}

func TestLiveSendsRowsOfReadableJobsOnly(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	token := srv.Token(t, srv.User(t, rbac.RoleAdmin, ""))
	seen := liveJob(t, srv, token, `<b>settle</b> & "pay"`, "pay")
	hidden := liveJob(t, srv, token, "hidden", "hr")
	viewer := srv.User(t, rbac.RoleViewer, "pay")
	c := newClient(t, srv)
	c.login(viewer.Username)
	admin := newClient(t, srv)
	admin.login(srv.User(t, rbac.RoleAdmin, "").Username)
	path := "/live?" + url.Values{"job": {seen.ID, hidden.ID}}.Encode()
	w := watchLive(t, c, path)
	require.Equal(t, http.StatusOK, w.resp.StatusCode)
	require.Equal(t, "text/event-stream", w.resp.Header.Get("Content-Type"))
	wa := watchLive(t, admin, path)
	w.next() // the stream is open: its retry
	wa.next()

	hiddenSeq := outcome(t, srv, hidden, domain.StatusFailed, time.Now().Add(-time.Minute))
	seenSeq := outcome(t, srv, seen, domain.StatusSucceeded, time.Now().Add(-time.Second))
	got := w.until("the readable job's row", idAtLeast(seenSeq))
	var row string
	for _, f := range got {
		require.NotEqual(t, "job-"+hidden.ID, f.event, "a job of a namespace the viewer cannot read")
		if f.event == "job-"+seen.ID {
			row = f.data
		}
	}
	require.NotEmpty(t, row, "the row of the job the viewer reads, in %v", got)
	require.Contains(t, row, `<tr id="job-`+seen.ID+`"`)
	require.Contains(t, row, `sse-swap="job-`+seen.ID+`"`)
	require.Contains(t, row, "&lt;b&gt;settle&lt;/b&gt; &amp; &#34;pay&#34;")
	require.NotContains(t, row, "<b>")
	require.Contains(t, row, "Succeeded", "the row shows the execution just recorded")
	require.Contains(t, row, `hx-preserve="true"`, "a live row keeps what an action said")
	require.NotContains(t, row, "act-pause", "no buttons for a viewer")

	// Someone who reads both namespaces gets both rows.
	events := map[string]bool{}
	for _, f := range wa.until("both rows", idAtLeast(max(seenSeq, hiddenSeq))) {
		events[f.event] = true
	}
	require.True(t, events["job-"+hidden.ID] && events["job-"+seen.ID], "%v", events)
}

func TestLiveResumesFromLastEventID(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := liveJob(t, srv, srv.Token(t, admin), "resumed", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	path := "/live?job=" + j.ID

	w := watchLive(t, c, path)
	seq := outcome(t, srv, j, domain.StatusSucceeded, time.Now().Add(-time.Minute))
	got := w.until("the first update", idAtLeast(seq))
	last := got[len(got)-1].id
	w.close()

	// Published while no one watches: the browser's reconnect brings it.
	missed := outcome(t, srv, j, domain.StatusFailed, time.Now().Add(-time.Second))
	w = watchLive(t, c, path, "Last-Event-ID", last)
	require.Equal(t, http.StatusOK, w.resp.StatusCode)
	var row string
	for _, f := range w.until("the missed event", idAtLeast(missed)) {
		if f.event == "job-"+j.ID {
			row = f.data
		}
	}
	require.Contains(t, row, "Failed", "the row shows the execution of the gap")

	// An id the API cannot resume from is refused, not taken for a fresh start.
	r := c.get(path, "Last-Event-ID", "not-a-number")
	require.Equal(t, http.StatusBadRequest, r.StatusCode, r.body)
}

func TestLiveCoalescesABurst(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{})
	admin := srv.User(t, rbac.RoleAdmin, "")
	token := srv.Token(t, admin)
	busy := liveJob(t, srv, token, "busy", "default")
	quiet := liveJob(t, srv, token, "quiet", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	w := watchLive(t, c, "/live?"+url.Values{"job": {busy.ID, quiet.ID}}.Encode())
	w.next()

	const burst = 40
	start := time.Now()
	for range burst {
		publishExecution(t, srv, busy, event.TypeExecutionStarted, nil)
	}
	end := publishExecution(t, srv, quiet, event.TypeExecutionStarted, nil)
	renders, quietSeen := 0, false
	for _, f := range w.until("the burst and the event after it", func(f liveFrame) bool {
		quietSeen = quietSeen || f.event == "job-"+quiet.ID
		return quietSeen && idAtLeast(end)(f)
	}) {
		if f.event == "job-"+busy.ID {
			renders++
		}
	}
	elapsed := time.Since(start)
	// Updates of one connection are LiveInterval apart: however slow the machine, no more than
	// one per interval passed, plus the first.
	bound := 1 + int(elapsed/dashboard.LiveIntervalDefault)
	require.LessOrEqual(t, renders, bound, "%d events in %v", burst, elapsed)
	require.Positive(t, renders)
	if elapsed < 10*time.Second {
		require.Less(t, renders, burst/2, "the burst was coalesced")
	}
}

func TestLiveEndsWithTheSession(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) {
		s.Dashboard.LiveRecheck = 100 * time.Millisecond
	}})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := liveJob(t, srv, srv.Token(t, admin), "watched", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	path := "/live?job=" + j.ID
	w := watchLive(t, c, path, "Referer", srv.URL+"/jobs/"+j.ID)
	w.next()

	// Signed out in another tab: this stream ends, saying so, within a recheck.
	r := c.post("/logout", url.Values{"csrf": {c.csrf("/jobs")}})
	require.Equal(t, http.StatusSeeOther, r.StatusCode, r.body)
	got := w.until("the end of the live updates", func(f liveFrame) bool { return f.event == "live-end" })
	end := got[len(got)-1]
	require.Contains(t, end.data, "your session has ended")
	require.Contains(t, end.data, `href="/login?next=%2Fjobs%2F`+j.ID+`"`)
	_, open := w.next()
	require.False(t, open, "the stream ended")

	// Signed out, the endpoint answers as to any HTMX request: 401 and where to sign in.
	r = newClient(t, srv).get(path)
	require.Equal(t, http.StatusUnauthorized, r.StatusCode)
	require.True(t, strings.HasPrefix(r.Header.Get("HX-Redirect"), "/login"), r.Header.Get("HX-Redirect"))
}

func TestLivePassesHeartbeatsOn(t *testing.T) {
	t.Parallel()
	srv := dashboardtest.Start(t, dashboardtest.Options{Settings: func(s *apifn.Settings) { s.Stream.Heartbeat = 100 * time.Millisecond }})
	admin := srv.User(t, rbac.RoleAdmin, "")
	j := liveJob(t, srv, srv.Token(t, admin), "quiet", "default")
	c := newClient(t, srv)
	c.login(admin.Username)
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Timeout(30*time.Second))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/live?job="+j.ID, nil)
	require.NoError(t, err)
	resp, err := c.c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	// A quiet stream still writes, so that proxies keep it and the browser notices a dead one.
	sc := bufio.NewScanner(resp.Body)
	beats := 0
	for beats < 3 && sc.Scan() {
		if sc.Text() == ": heartbeat" {
			beats++
		}
	}
	require.Equal(t, 3, beats, sc.Err())
}
