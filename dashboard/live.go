package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/humanize"
)

const (
	// liveTimelineLen is how many executions the job page's timeline shows.
	liveTimelineLen = 20
	// liveWriteTimeout bounds one write to the browser.
	liveWriteTimeout = 30 * time.Second
	// liveRetry is how long a browser waits before it reconnects, as the API's stream says.
	liveRetry = "retry: 2000\n\n"
	// liveEnd is the event that ends a page's live updates for good (sse-close): the session
	// is over, so reconnecting would only be refused.
	liveEnd = "live-end"
	// The event types of the API's own notices.
	apiGap = "vecron.stream.gap"
	apiEnd = "vecron.stream.end"
)

// instantLayout writes the instants a page keeps its relative times fresh with (data-at,
// data-now): milliseconds, the precision every browser's Date.parse reads.
const instantLayout = "2006-01-02T15:04:05.000Z07:00"

// rowEvent and timelineEvent name the events a page's elements swap in (sse-swap): a job's row,
// and the timeline of its executions.
func rowEvent(jobID string) string      { return "job-" + jobID }
func timelineEvent(jobID string) string { return "exec-" + jobID }

// liveURL returns the address of the live updates of the rows of jobs ids and, when timeline
// is set, of that job's timeline; "" when there is nothing to follow.
func liveURL(ids []string, timeline string) string {
	if len(ids) == 0 && timeline == "" {
		return ""
	}
	q := url.Values{"job": ids}
	if timeline != "" {
		q.Set("timeline", timeline)
	}
	return "/live?" + q.Encode()
}

// liveState is what one connection has read from the API's stream and not yet sent on. The
// reader fills it as fast as the API writes; the writer takes it at most once per
// LiveInterval. It is bounded by what the page shows, whatever the rate of events.
type liveState struct {
	mu sync.Mutex
	// rows and timeline are what the page shows.
	rows     map[string]bool
	timeline string
	// seen is the newest stream id read. dirty holds the rows to render again, each with the
	// first id that made it so; timelineDirty the same for the timeline (0: clean).
	seen          uint64
	dirty         map[string]uint64
	timelineDirty uint64
	// ended is set once the API's stream is over; beat when it sent a heartbeat, passed on so
	// that proxies keep the browser's connection and the browser notices a dead one.
	ended, beat bool
	wake        chan struct{}
}

func (s *liveState) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// take reads one frame of the API's stream into the state.
func (s *liveState) take(f sseFrame) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.hasID && f.id > s.seen {
		s.seen = f.id
	}
	mark := func(id string) {
		if _, ok := s.dirty[id]; !ok && s.rows[id] {
			s.dirty[id] = f.id
		}
	}
	switch {
	case f.heartbeat():
		s.beat = true
	case f.name == apiEnd:
		s.ended = true
	case f.name == apiGap:
		// Events were lost: everything shown may be stale.
		for id := range s.rows {
			mark(id)
		}
		if s.timeline != "" && s.timelineDirty == 0 {
			s.timelineDirty = f.id
		}
	case strings.HasPrefix(f.name, event.ExecutionTypePrefix), strings.HasPrefix(f.name, event.JobTypePrefix):
		var ce struct {
			Subject string `json:"subject"`
		}
		if json.Unmarshal(f.data, &ce) != nil {
			break
		}
		mark(ce.Subject)
		if ce.Subject == s.timeline && s.timelineDirty == 0 && strings.HasPrefix(f.name, event.ExecutionTypePrefix) {
			s.timelineDirty = f.id
		}
	}
	s.signal()
	return !s.ended
}

// safe returns the newest id the browser may resume after: every event up to it that changes
// what the page shows has been sent.
func (s *liveState) safe() uint64 {
	first := s.seen + 1
	for _, id := range s.dirty {
		first = min(first, id)
	}
	if s.timelineDirty != 0 {
		first = min(first, s.timelineDirty)
	}
	return first - 1
}

// liveUpdates serves GET /live?job=<id>…&timeline=<id>: the page's live updates, as Server-Sent
// Events the page's elements swap in (sse-swap). It reads the API's stream in-process as the
// session's identity — the API decides what the caller may see — and answers each event about a
// row or the timeline the page shows with that row or timeline rendered again through the API.
// The ids are the API stream's, so a browser that reconnects resumes where it was.
func (ui *UI) liveUpdates(w http.ResponseWriter, r *http.Request) {
	sess, had, err := ui.sessions.find(r)
	switch {
	case errors.Is(err, errNoSession):
		ui.liveSignedOut(w, r, had)
		return
	case err != nil:
		ui.log.Error("dashboard session", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	q := r.URL.Query()
	st := &liveState{rows: map[string]bool{}, dirty: map[string]uint64{}, wake: make(chan struct{}, 1), timeline: q.Get("timeline")}
	for _, id := range q["job"] {
		if uuid.Validate(id) != nil || len(st.rows) >= pageSize {
			http.Error(w, "job: up to "+strconv.Itoa(pageSize)+" job ids", http.StatusBadRequest)
			return
		}
		st.rows[id] = true
	}
	if st.timeline != "" && uuid.Validate(st.timeline) != nil {
		http.Error(w, "timeline: not a job id", http.StatusBadRequest)
		return
	}
	params := url.Values{"types": {event.ExecutionTypePrefix + "*," + event.JobTypePrefix + "*"}}
	if one := st.only(); one != "" {
		params.Set("job_id", one)
	}
	lastID := r.Header.Get("Last-Event-ID")
	stream, err := ui.openStream(r, sess, "/api/v1/stream?"+params.Encode(), lastID)
	if err != nil {
		ui.log.Error("dashboard live", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer stream.close()
	if stream.status != http.StatusOK {
		p := stream.problem()
		if p.Status == http.StatusUnauthorized {
			ui.liveSignedOut(w, r, true)
			return
		}
		http.Error(w, p.Detail, p.Status)
		return
	}

	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{}) // the stream outlives the server's read timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &liveOut{w: w, rc: rc}
	out.raw(liveRetry)
	if out.flush() != nil {
		return
	}
	sent, _ := strconv.ParseUint(lastID, 10, 64)
	if lastID == "" && st.timeline != "" {
		// A page just rendered: what happened between its render and this connection is not in
		// the stream the browser follows, so the job page's few parts are rendered once more.
		st.timelineDirty = 1
		for id := range st.rows {
			st.dirty[id] = 1
		}
	}
	go func() {
		err := readFrames(stream.body, st.take)
		if err != nil && r.Context().Err() == nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, io.EOF) {
			ui.log.Warn("dashboard live: read the stream", "error", err)
		}
		st.mu.Lock()
		st.ended = true
		st.mu.Unlock()
		st.signal()
	}()

	interval := ui.sessions.cfg.LiveInterval
	recheck := time.NewTicker(ui.sessions.cfg.LiveRecheck)
	defer recheck.Stop()
	expiry := time.NewTimer(ui.untilExpiry(sess))
	defer expiry.Stop()
	flushAt := time.NewTimer(time.Hour)
	flushAt.Stop()
	defer flushAt.Stop()
	var last time.Time // of the last update sent
	armed := false
	st.signal()
	for {
		check := false
		select {
		case <-r.Context().Done():
			return
		case <-st.wake:
		case <-flushAt.C:
			armed = false
		case <-recheck.C:
			check = true
		case <-expiry.C:
			check = true
		}
		if check {
			// A sign-out elsewhere, a disabled user or an expiry ends the stream here, sooner
			// than the API's own recheck would.
			renewed, ok := ui.liveSession(r)
			if !ok {
				out.event(liveEnd, ui.liveEndNote(r))
				_ = out.flush()
				return
			}
			if renewed != nil {
				sess = renewed
			}
			expiry.Reset(ui.untilExpiry(sess))
		}
		st.mu.Lock()
		ended, beat := st.ended, st.beat
		pending := len(st.dirty) > 0 || st.timelineDirty != 0
		st.beat = false
		st.mu.Unlock()
		if beat {
			out.raw(": heartbeat\n\n")
		}
		if ended {
			if _, ok := ui.liveSession(r); !ok {
				out.event(liveEnd, ui.liveEndNote(r))
				_ = out.flush()
			}
			// Otherwise the browser reconnects with the id it was last sent, and the API replays
			// from there.
			return
		}
		if pending {
			if wait := time.Until(last.Add(interval)); wait > 0 {
				if !armed {
					flushAt.Reset(wait)
					armed = true
				}
			} else {
				last = time.Now()
				sent = ui.liveUpdate(r, sess, st, out, sent)
			}
		} else {
			st.mu.Lock()
			safe := st.safe()
			st.mu.Unlock()
			if safe > sent {
				// Heartbeats and events the page does not show move the browser's position on,
				// so that a resume does not read them back.
				out.id(safe)
				sent = safe
			}
		}
		if out.flush() != nil {
			return
		}
	}
}

// only returns the one job a connection follows, which the API can then filter by; "" when it
// follows several.
func (s *liveState) only() string {
	one := s.timeline
	for id := range s.rows {
		if one != "" && one != id {
			return ""
		}
		one = id
	}
	return one
}

// liveUpdate renders what is dirty in st and sends it, then the id the browser may resume
// after; it returns that id.
func (ui *UI) liveUpdate(r *http.Request, sess *session, st *liveState, out *liveOut, sent uint64) uint64 {
	st.mu.Lock()
	upTo := st.seen
	rows := make([]string, 0, len(st.dirty))
	for id := range st.dirty {
		rows = append(rows, id)
	}
	timeline := st.timelineDirty != 0
	clear(st.dirty)
	st.timelineDirty = 0
	st.mu.Unlock()

	if len(rows) > 0 {
		m, err := ui.me(r, sess)
		if err != nil {
			ui.log.Warn("dashboard live: who am I", "error", err)
			m = &me{}
		}
		for _, id := range rows {
			row, res, err := ui.jobRowAs(r, sess, id, m)
			switch {
			case err != nil:
				ui.log.Warn("dashboard live: render a row", "job", id, "error", err)
				continue
			case res != nil:
				continue // gone, or no longer readable: the row stays as it was
			}
			row.Live = true
			var buf bytes.Buffer
			if err := jobRowItem(words{cat: ui.cat, lang: row.L}, row).Render(context.Background(), &buf); err != nil {
				ui.log.Error("dashboard component", "component", "job row", "error", err)
				continue
			}
			out.event(rowEvent(id), buf.String())
		}
	}
	if timeline {
		tv := ui.timeline(r, sess, st.timeline)
		var buf bytes.Buffer
		if err := timelineItems(words{cat: ui.cat, lang: tv.L}, tv).Render(context.Background(), &buf); err != nil {
			ui.log.Error("dashboard component", "component", "timeline", "error", err)
		} else {
			out.event(timelineEvent(st.timeline), buf.String())
		}
	}
	if upTo > sent {
		out.id(upTo)
		return upTo
	}
	return sent
}

// liveSession looks r's session up again without counting it as the user's activity. It
// returns false when the session is over, and nil when it could not be read now (kept).
func (ui *UI) liveSession(r *http.Request) (*session, bool) {
	sess, err := ui.sessions.check(r)
	switch {
	case errors.Is(err, errNoSession):
		return nil, false
	case err != nil:
		ui.log.Warn("dashboard live: check the session", "error", err)
		return nil, true
	}
	return sess, true
}

// untilExpiry returns how long sess lasts unless it is used meanwhile.
func (ui *UI) untilExpiry(sess *session) time.Duration {
	end := sess.ds.ExpiresAt
	if !sess.ds.IdleExpiresAt.IsZero() && sess.ds.IdleExpiresAt.Before(end) {
		end = sess.ds.IdleExpiresAt
	}
	return max(end.Sub(ui.now()), time.Second)
}

// liveSignedOut answers a live request without a session as the dashboard answers an HTMX
// request: 401 with the login page to go to (HX-Redirect), the page it came from (its Referer)
// as the one to come back to. A browser's EventSource gives up on a 401 and htmx's extension
// tries again later, which the page's next request turns into a sign-in.
func (ui *UI) liveSignedOut(w http.ResponseWriter, r *http.Request, had bool) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("HX-Request", "true")
	r2.Header.Set("HX-Current-URL", r.Referer())
	ui.toLogin(w, r2, had)
}

// liveEndNote is the message shown where the page's live updates stopped.
func (ui *UI) liveEndNote(r *http.Request) string {
	lang := langOf(r)
	next := "/jobs"
	if u, err := url.Parse(r.Referer()); err == nil && u.Host == r.Host {
		next = SafeNext(u.RequestURI())
	}
	login := "/login?" + url.Values{"next": {next}}.Encode()
	return `<span>` + html.EscapeString(ui.cat.tr(lang, "live.ended")) + `</span> <a href="` +
		html.EscapeString(login) + `">` + html.EscapeString(ui.cat.tr(lang, "live.sign_in")) + `</a>`
}

// timelineView is the job page's timeline of executions, newest first.
type timelineView struct {
	L     string
	JobID string
	Items []timelineItem
	// Problem says why the API gave no executions.
	Problem string
}

// timelineItem is one execution: its status in words and an icon, never colour alone.
type timelineItem struct {
	ID, Status, Icon, Label, Trigger string
	// When is relative to Now; At and Now are instants (RFC 3339) that keep it fresh in the page.
	When, At, Now, Scheduled string
	Attempt                  int
	Duration                 string
	HTTPStatus               int
}

// timeline reads the newest executions of job id through the API, shown in the job's zone.
func (ui *UI) timeline(r *http.Request, sess *session, id string) timelineView {
	loc := time.UTC
	var j domain.Job
	if res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id, nil); err == nil && res.ok() && res.decode(&j) == nil {
		loc = ui.zones.get(j.Timezone)
	}
	return ui.timelineIn(r, sess, id, loc)
}

// timelineIn is timeline for a page that has read the job already: its times are shown in loc.
func (ui *UI) timelineIn(r *http.Request, sess *session, id string, loc *time.Location) timelineView {
	lang := langOf(r)
	tv := timelineView{L: lang, JobID: id}
	res, err := ui.call(r, sess, http.MethodGet, "/api/v1/jobs/"+id+"/executions?limit="+strconv.Itoa(liveTimelineLen), nil)
	if err != nil || !res.ok() {
		tv.Problem = ui.cat.tr(lang, "live.timeline_problem")
		return tv
	}
	var list struct {
		Items []domain.Execution `json:"items"`
	}
	if err := res.decode(&list); err != nil {
		tv.Problem = ui.cat.tr(lang, "live.timeline_problem")
		return tv
	}
	now := ui.now()
	for _, e := range list.Items {
		at := e.ScheduledAt
		if e.FinishedAt != nil {
			at = *e.FinishedAt
		} else if e.StartedAt != nil {
			at = *e.StartedAt
		}
		it := timelineItem{ID: e.ID, Status: string(e.Status), Icon: statusIcon(e.Status), Label: ui.cat.tr(lang, "status."+string(e.Status)),
			Trigger: ui.cat.tr(lang, triggerKey(e.Trigger)), When: humanize.Relative(now, at, lang),
			At: at.UTC().Format(instantLayout), Now: now.UTC().Format(instantLayout),
			Scheduled: humanize.DateTime(e.ScheduledAt.In(loc), lang), Attempt: e.Attempt, HTTPStatus: e.HTTPStatus}
		if e.FinishedAt != nil && e.Status != domain.StatusSkipped {
			it.Duration = humanize.Duration(time.Duration(e.DurationMS*float64(time.Millisecond)), lang)
		}
		tv.Items = append(tv.Items, it)
	}
	return tv
}

// triggerKey is the catalog key of what started an execution.
func triggerKey(t domain.Trigger) string { return "live.trigger." + string(t) }
