package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/feed"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/rbac"
)

// Defaults of StreamConfig.
const (
	HeartbeatDefault = 15 * time.Second
	RecheckDefault   = time.Minute
)

// StreamConfig shapes the live stream's connections.
type StreamConfig struct {
	// Heartbeat is how often an idle stream writes a comment, so that proxies keep it open and
	// a client notices a dead connection.
	Heartbeat time.Duration
	// Recheck is how often the caller's credential is checked again: a revoked token or an
	// expired session ends its stream, and a changed role changes what it shows.
	Recheck time.Duration
}

// SSE event names of the stream's own notices, beside the CloudEvent types.
const (
	sseGap = "vecron.stream.gap"
	sseEnd = "vecron.stream.end"
)

// streamFilter is what a watcher asked to see.
type streamFilter struct {
	namespace string
	jobID     string
	// types holds exact types and, ending in ".", families ("io.vecron.job.").
	types []string
}

// parseStreamFilter reads namespace, job_id and types (a comma-separated list of event types,
// each exact or a family ending in ".*", such as io.vecron.execution.*), and Last-Event-ID.
func parseStreamFilter(r *http.Request) (streamFilter, *uint64, error) {
	q := r.URL.Query()
	var (
		f streamFilter
		v domain.ValidationError
	)
	if ns := q.Get("namespace"); ns != "" {
		if !domain.ValidNamespace(ns) {
			v.Add("namespace", fmt.Sprintf("%q is not a namespace name", ns))
		}
		f.namespace = ns
	}
	if id := q.Get("job_id"); id != "" {
		if !domain.WellFormedID(id) {
			v.Add("job_id", "is not a job id")
		}
		f.jobID = id
	}
	if raw := q.Get("types"); raw != "" {
		for t := range strings.SplitSeq(raw, ",") {
			t = strings.TrimSpace(t)
			family, isFamily := strings.CutSuffix(t, "*")
			switch {
			case isFamily && (family == event.ExecutionTypePrefix || family == event.JobTypePrefix):
				f.types = append(f.types, family)
			case knownStreamType(t):
				f.types = append(f.types, t)
			default:
				v.Add("types", fmt.Sprintf("%q is not an event type of the stream; use such as %s or %s*", t,
					event.TypeExecutionFailed, event.JobTypePrefix))
			}
			if len(f.types) > 32 {
				v.Add("types", "lists more than 32 types")
				break
			}
		}
	}
	var last *uint64
	id := cmp.Or(r.Header.Get("Last-Event-ID"), q.Get("last_event_id"))
	if id != "" {
		n, err := strconv.ParseUint(id, 10, 64)
		if err != nil {
			v.Add("Last-Event-ID", fmt.Sprintf("%q is not an event id of this stream (a whole number)", printable(id, 40)))
		}
		last = &n
	}
	return f, last, v.Err()
}

func knownStreamType(t string) bool { return slices.Contains(event.LifecycleTypes(), t) }

// shows reports whether it passes f for a caller with id: an execution event needs
// execution:read in the event's namespace, a job event job:read (an alert both, for the
// execution's error it carries); an event of no namespace (from
// an executor of an earlier version) needs the permission for all namespaces.
func (f streamFilter) shows(id *rbac.Identity, it feed.Item) bool {
	if f.namespace != "" && it.Namespace != f.namespace {
		return false
	}
	if f.jobID != "" && it.Subject != f.jobID {
		return false
	}
	if len(f.types) > 0 {
		ok := false
		for _, t := range f.types {
			if it.Type == t || (strings.HasSuffix(t, ".") && strings.HasPrefix(it.Type, t)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	ns := cmp.Or(it.Namespace, domain.AllNamespaces)
	switch {
	case strings.HasPrefix(it.Type, event.ExecutionTypePrefix):
		return id.Can(domain.PermExecutionRead, ns)
	case it.Type == event.TypeJobAlert:
		// A job's event, carrying what one of its executions recorded (its error, its id).
		return id.Can(domain.PermJobRead, ns) && id.Can(domain.PermExecutionRead, ns)
	case strings.HasPrefix(it.Type, event.JobTypePrefix):
		return id.Can(domain.PermJobRead, ns)
	}
	return false
}

// stream serves GET /api/v1/stream: Server-Sent Events of execution and job events the caller
// may read, each with its stream sequence as id, so a client that reconnects with
// Last-Event-ID resumes without a gap.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	f, last, err := parseStreamFilter(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if ns := f.namespace; ns != "" && !identityOf(r).Can(domain.PermJobRead, ns) && !s.allow(w, r, domain.PermExecutionRead, ns) {
		return
	}
	if s.feed == nil {
		writeProblem(w, problem{Status: http.StatusServiceUnavailable, Detail: "the live stream needs NATS: this api runs without nats.url"})
		return
	}
	sub, err := s.feed.Subscribe(r.Context(), last)
	switch {
	case errors.Is(err, feed.ErrClosed):
		// Shutting down: a browser gives up on an answer other than 200, so tell it to come back
		// (through the load balancer, to another replica) instead.
		out := startSSE(w)
		out.end("the server is shutting down; reconnect")
		return
	case err != nil:
		s.log.ErrorContext(r.Context(), "live stream: subscribe", "error", err)
		writeProblem(w, problem{Status: http.StatusServiceUnavailable, Detail: "the live stream is not available: the event stream cannot be read now; try again shortly"})
		return
	}
	defer sub.Close()
	out := startSSE(w)
	if sub.After() > 0 {
		// The client's last id from the start: a reconnect before the first event resumes here.
		out.raw("id: " + strconv.FormatUint(sub.After(), 10) + "\n\n")
	}
	if out.flush() != nil {
		return
	}

	id := identityOf(r)
	sent := sub.After()
	gap := func(g feed.Gap) error {
		if g.After > 0 { // a hole in what the client follows (0: a stream made anew)
			if g.Until <= sent {
				return nil // before what the client has seen: its last id must never go back
			}
			g.After = max(g.After, sent)
		}
		b, _ := json.Marshal(map[string]any{"after": g.After, "until": g.Until, "reason": g.Reason})
		sent = max(sent, g.Until)
		return out.event(strconv.FormatUint(g.Until, 10), sseGap, b)
	}
	send := func(it feed.Item) error {
		if it.Gap != nil {
			return gap(*it.Gap)
		}
		if it.Seq <= sent {
			return nil
		}
		sent = it.Seq
		if !f.shows(id, it) {
			return nil
		}
		return out.event(strconv.FormatUint(it.Seq, 10), it.Type, it.JSON)
	}
	if err := sub.Replay(r.Context(), gap, send); err != nil {
		if r.Context().Err() == nil {
			s.log.WarnContext(r.Context(), "live stream: replay", "error", err)
			out.end("the missed events could not be read back; reconnect to try again")
		}
		return
	}
	if out.flush() != nil {
		return
	}
	heartbeat := s.clock.NewTicker(cmp.Or(s.streamCfg.Heartbeat, HeartbeatDefault))
	defer heartbeat.Stop()
	recheck := s.clock.NewTicker(cmp.Or(s.streamCfg.Recheck, RecheckDefault))
	defer recheck.Stop()
	cred, _ := bearer(r)
	again := func(ctx context.Context) (*rbac.Identity, error) { return s.ident.Authenticate(ctx, cred) }
	if ip, ok := inProcessOf(r); ok {
		again = ip.again
		if again == nil {
			again = func(context.Context) (*rbac.Identity, error) { return nil, identity.ErrUnauthenticated }
		}
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case it, ok := <-sub.C():
			// Write what else is waiting before flushing: a burst costs one flush.
			for more := true; more; {
				if !ok {
					out.end(sub.Reason())
					return
				}
				if send(it) != nil {
					return
				}
				select {
				case it, ok = <-sub.C():
				default:
					more = false
				}
			}
			if out.flush() != nil {
				return
			}
		case <-heartbeat.Chan():
			// With the id of the newest event passed, shown or not: a client whose filter shows
			// few events resumes from here, not from its last shown one.
			if sent > 0 {
				out.raw(": heartbeat\nid: " + strconv.FormatUint(sent, 10) + "\n\n")
			} else {
				out.raw(": heartbeat\n\n")
			}
			if out.flush() != nil {
				return
			}
		case <-recheck.Chan():
			renewed, err := again(r.Context())
			if err != nil {
				reason := "the credential is no longer valid: sign in again"
				if !errors.Is(err, identity.ErrUnauthenticated) {
					reason = "the credential could not be checked again; reconnect"
				}
				out.end(reason)
				return
			}
			id = renewed
		}
	}
}

// startSSE answers 200 with an event stream and returns its writer. The stream outlives the
// server's read timeout, which would otherwise end it.
func startSSE(w http.ResponseWriter) *sseWriter {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseWriter{w: w, rc: rc}
	// retry: how long a browser waits before reconnecting.
	out.raw("retry: 2000\n: vecron live stream\n\n")
	return out
}

// sseWriter writes Server-Sent Events, each write bounded by a deadline so that a client that
// stops reading ends its stream instead of holding it for ever.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

const sseWriteTimeout = 30 * time.Second

func (o *sseWriter) raw(s string) {
	if o.err == nil {
		_ = o.rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		_, o.err = o.w.Write([]byte(s))
	}
}

// event writes one event; data is one line of JSON.
func (o *sseWriter) event(id, name string, data []byte) error {
	o.raw("id: " + id + "\nevent: " + name + "\ndata: ")
	if o.err == nil {
		_, o.err = o.w.Write(data)
	}
	o.raw("\n\n")
	return o.err
}

func (o *sseWriter) flush() error {
	if o.err == nil {
		o.err = o.rc.Flush()
	}
	return o.err
}

// end tells the client why the stream ends, then flushes.
func (o *sseWriter) end(reason string) {
	b, _ := json.Marshal(map[string]string{"reason": reason})
	o.raw("event: " + sseEnd + "\ndata: " + string(b) + "\n\n")
	_ = o.flush()
}
