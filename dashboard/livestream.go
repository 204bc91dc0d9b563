package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pipeResponse is the ResponseWriter the API's live stream writes to in-process: each Write
// reaches the dashboard's reader through a pipe before it returns, so the API's flushes need do
// nothing and a reader that stops reading holds the API's handler, not a growing buffer.
type pipeResponse struct {
	header  http.Header
	pw      *io.PipeWriter
	once    sync.Once
	status  int
	started chan struct{}
}

func (p *pipeResponse) Header() http.Header { return p.header }

func (p *pipeResponse) WriteHeader(code int) {
	p.once.Do(func() {
		p.status = code
		close(p.started)
	})
}

func (p *pipeResponse) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.pw.Write(b)
}

// FlushError is what http.ResponseController calls: the pipe holds nothing back.
func (p *pipeResponse) FlushError() error { return nil }

// Flush serves callers that look for http.Flusher.
func (p *pipeResponse) Flush() {}

// apiStream is one open GET /api/v1/stream, served in-process.
type apiStream struct {
	status int
	header http.Header
	body   *bufio.Reader
	pr     *io.PipeReader
	cancel context.CancelFunc
	done   chan struct{}
}

// openStream calls the API's live stream at path as sess's identity, resuming after lastID when
// it is not empty, and returns once the API has answered its status. The API's handler runs
// until the stream is closed.
func (ui *UI) openStream(r *http.Request, sess *session, path, lastID string) (*apiStream, error) {
	ctx, cancel := context.WithCancel(r.Context())
	req, err := ui.apiRequest(ctx, r, sess, http.MethodGet, path, http.NoBody)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	pr, pw := io.Pipe()
	res := &pipeResponse{header: http.Header{}, pw: pw, started: make(chan struct{})}
	s := &apiStream{pr: pr, cancel: cancel, done: make(chan struct{}), body: bufio.NewReaderSize(pr, 16<<10)}
	go func() {
		defer close(s.done)
		ui.api.ServeHTTP(res, req)
		res.WriteHeader(http.StatusOK) // an answer with no body at all
		_ = pw.Close()
	}()
	<-res.started
	s.status, s.header = res.status, res.header
	return s, nil
}

// close ends the API's handler and waits for it.
func (s *apiStream) close() {
	s.cancel()
	_ = s.pr.CloseWithError(io.ErrClosedPipe)
	<-s.done
}

// problem reads the API's refusal, when the stream did not open.
func (s *apiStream) problem() problem {
	var p problem
	_ = json.NewDecoder(io.LimitReader(s.body, 64<<10)).Decode(&p)
	p.Status = s.status
	return p
}

// sseFrame is one event of a stream: a frame with neither name nor data (a heartbeat, the
// position a resume starts from) only moves the id on, if it has one.
type sseFrame struct {
	id    uint64
	hasID bool
	name  string
	data  []byte
}

// heartbeat reports whether f is no event, only a sign of life.
func (f sseFrame) heartbeat() bool { return f.name == "" && f.data == nil }

// maxFrame bounds one event of the API's stream; the API's events are CloudEvents of a few
// kilobytes.
const maxFrame = 1 << 20

// readFrames reads the API's stream and calls fn with each frame, until the stream ends, it
// cannot be read, or fn returns false.
func readFrames(r *bufio.Reader, fn func(sseFrame) bool) error {
	var (
		f    sseFrame
		size int
		any  bool
	)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it, within maxFrame.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull && len(long) <= maxFrame {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			if len(long) > maxFrame {
				return errFrameTooLarge
			}
			line = long
		}
		if err != nil {
			return err
		}
		l := strings.TrimRight(string(line), "\r\n")
		if l == "" {
			if any && !fn(f) {
				return nil
			}
			f, size, any = sseFrame{}, 0, false
			continue
		}
		if size += len(l); size > maxFrame {
			return errFrameTooLarge
		}
		field, value, _ := strings.Cut(l, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "": // a comment: the API's heartbeats are
			any = true
		case "id":
			if n, err := strconv.ParseUint(value, 10, 64); err == nil {
				f.id, f.hasID, any = n, true, true
			}
		case "event":
			f.name, any = value, true
		case "data":
			if f.data != nil {
				f.data = append(f.data, '\n')
			}
			f.data, any = append(f.data, value...), true
		}
	}
}

type frameError string

func (e frameError) Error() string { return string(e) }

const errFrameTooLarge = frameError("dashboard: an event of the live stream is too large")

// liveOut writes the dashboard's own event stream to the browser, each write bounded by a
// deadline so that a tab that stops reading ends its stream instead of holding it.
type liveOut struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (o *liveOut) raw(s string) {
	if o.err == nil {
		_ = o.rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
		_, o.err = io.WriteString(o.w, s)
	}
}

// event writes one event named name carrying html. Every line of html is a data line of its
// own, CR and LF alike, so no user string in it can end the data and start a field of its own.
func (o *liveOut) event(name string, html string) {
	var b strings.Builder
	b.WriteString("event: ")
	b.WriteString(name)
	b.WriteByte('\n')
	html = strings.ReplaceAll(strings.ReplaceAll(html, "\r\n", "\n"), "\r", "\n")
	for line := range strings.SplitSeq(html, "\n") {
		b.WriteString("data: ")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	o.raw(b.String())
}

// id tells the browser where its stream stands: a reconnect sends it back as Last-Event-ID.
func (o *liveOut) id(n uint64) { o.raw("id: " + strconv.FormatUint(n, 10) + "\n\n") }

func (o *liveOut) flush() error {
	if o.err == nil {
		o.err = o.rc.Flush()
	}
	return o.err
}
