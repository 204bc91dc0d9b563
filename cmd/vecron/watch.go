package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/vecron/vecron/shared/domain"
)

// Names of the live stream's own notices (shared/api writes them).
const (
	sseGap = "vecron.stream.gap"
	sseEnd = "vecron.stream.end"
)

const (
	// idleLimit is how long a stream may stay silent before it is taken for dead: the API
	// writes a heartbeat every 15 s by default.
	idleLimit = 90 * time.Second
	// reconnectMax bounds the wait between attempts to reconnect.
	reconnectMax = 30 * time.Second
)

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	id, name, data string
}

// readSSE reads events from r and calls fn with each; a block with an id and no data (the API
// sends them with heartbeats) moves last on without an event. It returns at the end of r or
// at fn's first error.
func readSSE(r io.Reader, last *string, fn func(sseEvent) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var (
		cur  sseEvent
		data []string
		seen bool // an id field in the current block
	)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if seen {
				*last = cur.id
			}
			if len(data) > 0 {
				cur.data = strings.Join(data, "\n")
				if err := fn(cur); err != nil {
					return err
				}
			}
			cur, data, seen = sseEvent{}, nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a comment: the heartbeat
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			if !strings.ContainsRune(value, 0) {
				cur.id, seen = value, true
			}
		case "event":
			cur.name = value
		case "data":
			data = append(data, value)
		}
	}
}

// streamEvent is the part of a CloudEvent a line for people shows.
type streamEvent struct {
	Type      string          `json:"type"`
	Subject   string          `json:"subject"`
	Time      time.Time       `json:"time"`
	Namespace string          `json:"namespace"`
	JobName   string          `json:"jobname"`
	Data      json.RawMessage `json:"data"`
}

// eventLine is ev as one line for people.
func eventLine(ev streamEvent, local *time.Location) string {
	job := ev.Subject
	if ev.JobName != "" {
		job = cmpOr(ev.Namespace, "?") + "/" + ev.JobName
	}
	what := strings.TrimPrefix(ev.Type, "io.vecron.")
	detail := ""
	switch {
	case strings.HasPrefix(what, "execution."):
		var x domain.Execution
		if json.Unmarshal(ev.Data, &x) == nil {
			detail = fmt.Sprintf("%s attempt %d", x.ID, x.Attempt)
			if x.DurationMS > 0 {
				detail += " in " + human(x.DurationMS)
			}
			if x.HTTPStatus != 0 {
				detail += " HTTP " + strconv.Itoa(x.HTTPStatus)
			}
			if x.Error != "" {
				detail += ": " + clip(x.Error, 80)
			}
		}
	case strings.HasPrefix(what, "job."):
		var j domain.Job
		if json.Unmarshal(ev.Data, &j) == nil && j.Version > 0 {
			detail = "version " + strconv.FormatInt(j.Version, 10)
		}
	}
	return strings.TrimRight(fmt.Sprintf("%s  %-26s  %s  %s", clock(&ev.Time, local, "-"), what, job, detail), " ")
}

func executionsWatchCommand(e env) *cobra.Command {
	var job, namespace string
	var types []string
	var format *string
	cmd := e.apiCommand("watch", "Follow executions and job changes live, one line per event", cobra.NoArgs,
		func(cmd *cobra.Command, c *client, _ []string) error {
			if *format != formatTable && *format != formatJSON {
				return usageError{fmt.Errorf("-o: %q is not a format of watch: use table or json (one JSON line per event)", *format)}
			}
			// Ctrl-C ends a watch as intended, with status 0.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			q := url.Values{}
			if job != "" {
				id, err := c.jobID(ctx, job, namespace)
				if err != nil {
					return err
				}
				q.Set("job_id", id)
			}
			if namespace != "" {
				q.Set("namespace", namespace)
			}
			if len(types) > 0 {
				q.Set("types", strings.Join(types, ","))
			}
			w := &watcher{e: e, c: c, query: q, json: *format == formatJSON, out: cmd.OutOrStdout(), msg: cmd.ErrOrStderr()}
			err := w.run(ctx)
			if ctx.Err() != nil {
				return nil
			}
			return err
		})
	cmd.Long = `Follows the API's live stream (GET /api/v1/stream): each execution outcome and each change
to a job, one line per event, or with -o json each event as one line of JSON (the CloudEvent as
the API sends it). When the connection drops, or the server ends the stream (a deploy), it
reconnects and resumes after the last event it printed (Last-Event-ID), so nothing is missed or
printed twice; events the server no longer holds are announced as a gap. Ctrl-C ends it.`
	cmd.Example = `  vecron executions watch --job nightly
  vecron executions watch --types io.vecron.execution.failed,io.vecron.execution.dead_lettered -o json | jq .subject`
	cmd.Flags().StringVar(&job, "job", "", "only events of this job (id or name)")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "only events of this namespace (and of the job named by --job)")
	cmd.Flags().StringSliceVar(&types, "types", nil, "only these event types, exact or a family such as io.vecron.job.*")
	format = outputFlag(cmd)
	return cmd
}

// watcher follows the live stream across reconnections.
type watcher struct {
	e        env
	c        *client
	query    url.Values
	json     bool
	out, msg io.Writer
	// last is the id of the last event seen, what a reconnection resumes after.
	last string
}

// run follows the stream until ctx ends or the API refuses it.
func (w *watcher) run(ctx context.Context) error {
	failures := 0
	connected := false
	for {
		opened, n, err := w.once(ctx, !connected)
		if ctx.Err() != nil {
			return nil
		}
		connected = connected || opened
		var p *apiError
		if errors.As(err, &p) && (p.Status < 500 || !connected) {
			return err // refused: retrying asks the same question again
		}
		var un unreachableError
		if errors.As(err, &un) && !connected {
			return err
		}
		if n > 0 {
			failures = 0
		} else {
			failures++
		}
		why := "the stream ended"
		if err != nil {
			why = err.Error()
		}
		// At once after a stream that was open; backing off while the API does not answer.
		wait := time.Duration(0)
		if failures > 0 {
			wait = min(time.Second<<min(failures-1, 5), reconnectMax)
		}
		fmt.Fprintf(w.msg, "%s; reconnecting in %s\n", why, wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// errEnded is a stream the server ended on purpose.
type errEnded struct{ reason string }

func (e errEnded) Error() string { return "the server ended the stream: " + e.reason }

// once opens the stream and prints its events until it ends; opened says whether it was
// answered with a stream, n how many events it printed.
func (w *watcher) once(ctx context.Context, first bool) (opened bool, n int, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	h := http.Header{"Accept": {"text/event-stream"}}
	if w.last != "" {
		h.Set("Last-Event-ID", w.last)
	}
	resp, err := w.c.send(ctx, request{method: http.MethodGet, path: "/api/v1/stream", query: w.query, header: h})
	if err != nil {
		return false, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return false, 0, problemOf(resp.StatusCode, b)
	}
	if first {
		fmt.Fprintf(w.msg, "watching %s (Ctrl-C to stop)\n", w.c.server)
	} else {
		fmt.Fprintf(w.msg, "reconnected; resuming after event %s\n", cmpOr(w.last, "(none)"))
	}
	// A connection that goes silent (a dead peer behind a proxy) is dropped and made anew.
	idle := time.AfterFunc(idleLimit, func() { cancel(errors.New("no heartbeat from the server")) })
	defer idle.Stop()
	err = readSSE(resp.Body, &w.last, func(ev sseEvent) error {
		idle.Reset(idleLimit)
		if ev.name != sseEnd {
			n++
		}
		return w.print(ev)
	})
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil && !errors.Is(cause, context.Canceled) {
		return true, n, cause
	}
	var ended errEnded
	if err != nil && ctx.Err() == nil && !errors.As(err, &ended) {
		return true, n, unreachableError{server: w.c.server, cause: err}
	}
	return true, n, err
}

// print writes one event as a line.
func (w *watcher) print(ev sseEvent) error {
	switch ev.name {
	case sseEnd:
		var end struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal([]byte(ev.data), &end)
		return errEnded{reason: cmpOr(end.Reason, "no reason given")}
	case sseGap:
		if w.json {
			_, err := fmt.Fprintf(w.out, `{"type":%q,"data":%s}`+"\n", sseGap, ev.data)
			return err
		}
		var g struct {
			After  uint64 `json:"after"`
			Until  uint64 `json:"until"`
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal([]byte(ev.data), &g)
		_, err := fmt.Fprintf(w.msg, "missed the events after %d up to %d (%s): the history has them\n", g.After, g.Until, g.Reason)
		return err
	}
	if w.json {
		_, err := fmt.Fprintln(w.out, ev.data)
		return err
	}
	var se streamEvent
	if err := json.Unmarshal([]byte(ev.data), &se); err != nil {
		se = streamEvent{Type: ev.name}
	}
	_, err := fmt.Fprintln(w.out, eventLine(se, w.e.local))
	return err
}
