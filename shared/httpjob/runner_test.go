package httpjob

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/egress"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }

// seenRequest is what the target server received.
type seenRequest struct {
	method string
	path   string
	query  string
	header http.Header
	body   string
}

// target is a test server that records the requests it answers with handler.
type target struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seenRequest
}

func newTarget(t *testing.T, handler http.HandlerFunc) *target {
	t.Helper()
	tg := &target{}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.reqs = append(tg.reqs, seenRequest{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: string(body)})
		tg.mu.Unlock()
		if handler != nil {
			handler(w, r)
		}
	}))
	t.Cleanup(tg.Close)
	return tg
}

// only returns the single request the target received.
func (tg *target) only(t *testing.T) seenRequest {
	t.Helper()
	tg.mu.Lock()
	defer tg.mu.Unlock()
	require.Len(t, tg.reqs, 1)
	return tg.reqs[0]
}

func newRunner(t *testing.T, cfg Config) *Runner {
	t.Helper()
	r := New(clockwork.NewRealClock(), cfg, egress.LoopbackPolicy())
	t.Cleanup(r.Close)
	return r
}

func dueFor(spec *domain.HTTPSpec) event.Due {
	at := time.Date(2025, 3, 10, 2, 0, 0, 123_000_000, time.UTC)
	return event.Due{
		JobID:          "0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b",
		Kind:           domain.KindHTTP,
		HTTP:           spec,
		ScheduledAt:    at,
		Trigger:        domain.TriggerSchedule,
		IdempotencyKey: domain.ScheduledKey("0195f1b2-7c3d-7e4f-8a9b-0c1d2e3f4a5b", at),
	}
}

func TestRunDefaultsToGET(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL + "/ping?x=1"}))
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	req := tg.only(t)
	assert.Equal(t, http.MethodGet, req.method)
	assert.Equal(t, "/ping", req.path)
	assert.Equal(t, "x=1", req.query)
	assert.Empty(t, req.body)
}

func TestRunMethodIsUpperCased(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{Method: "delete", URL: tg.URL}))
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	assert.Equal(t, http.MethodDelete, tg.only(t).method)
}

func TestRunSendsBodyAndHeaders(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	spec := &domain.HTTPSpec{
		Method: http.MethodPost,
		URL:    tg.URL + "/hooks/report",
		Headers: map[string]string{
			"Content-Type":  "application/json",
			"Authorization": "Bearer abc",
			"x-team":        "billing",
		},
		Body: `{"full":true,"note":"héllo"}`,
	}
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(spec))
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	req := tg.only(t)
	assert.Equal(t, http.MethodPost, req.method)
	assert.Equal(t, "/hooks/report", req.path)
	assert.Equal(t, spec.Body, req.body)
	assert.Equal(t, "application/json", req.header.Get("Content-Type"))
	assert.Equal(t, "Bearer abc", req.header.Get("Authorization"))
	assert.Equal(t, "billing", req.header.Get("X-Team"))
	assert.Equal(t, UserAgentDefault, req.header.Get("User-Agent"))
}

func TestRunSendsVecronHeaders(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	d := dueFor(&domain.HTTPSpec{
		URL: tg.URL,
		// The job cannot override the headers vecron sets.
		Headers: map[string]string{"Idempotency-Key": "forged", "X-Vecron-Job-Id": "other", "User-Agent": "curl"},
	})
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	require.NoError(t, err)
	d.ScheduledAt = d.ScheduledAt.In(loc) // sent as UTC whatever its zone
	res := newRunner(t, Config{UserAgent: "vecron-test/2"}).Run(t.Context(), d)
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	h := tg.only(t).header
	assert.Equal(t, []string{d.IdempotencyKey}, h.Values("Idempotency-Key"))
	assert.Equal(t, []string{d.JobID}, h.Values("X-Vecron-Job-Id"))
	assert.Equal(t, []string{"2025-03-10T02:00:00.123Z"}, h.Values("X-Vecron-Scheduled-At"))
	assert.Equal(t, []string{"vecron-test/2"}, h.Values("User-Agent"))
}

func TestRunOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		status      int
		body        string
		wantStatus  domain.ExecutionStatus
		wantExcerpt string
		wantError   string // substring; "" means no error
	}{
		{name: "OK", status: 200, body: "all good", wantStatus: domain.StatusSucceeded, wantExcerpt: "all good"},
		{name: "Created", status: 201, body: `{"id":7}`, wantStatus: domain.StatusSucceeded, wantExcerpt: `{"id":7}`},
		{name: "NoContent", status: 204, wantStatus: domain.StatusSucceeded},
		{name: "Upper2xx", status: 299, body: "odd", wantStatus: domain.StatusSucceeded, wantExcerpt: "odd"},
		{name: "ServerError", status: 500, body: "boom", wantStatus: domain.StatusFailed, wantExcerpt: "boom", wantError: "target answered 500 Internal Server Error"},
		{name: "Unavailable", status: 503, wantStatus: domain.StatusFailed, wantError: "target answered 503 Service Unavailable"},
		{name: "NotFound", status: 404, body: "nope", wantStatus: domain.StatusFailed, wantExcerpt: "nope", wantError: "target answered 404"},
		{name: "NotModified", status: 304, wantStatus: domain.StatusFailed, wantError: "target answered 304"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			})
			res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL}))
			assert.Equal(t, tt.wantStatus, res.Status)
			assert.Equal(t, tt.status, res.HTTPStatus)
			assert.Equal(t, tt.wantExcerpt, res.Excerpt)
			if tt.wantError == "" {
				assert.Empty(t, res.Error)
			} else {
				assert.Contains(t, res.Error, tt.wantError)
			}
			assert.Positive(t, res.Duration)
		})
	}
}

func TestRunFollowsRedirect(t *testing.T) {
	t.Parallel()
	final := newTarget(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "landed") })
	first := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL+"/there", http.StatusFound)
	})
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: first.URL, FollowRedirects: 1}))
	require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
	assert.Equal(t, 200, res.HTTPStatus)
	assert.Equal(t, "landed", res.Excerpt)
}

func TestRunExcerpt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		limit int
		body  string
		want  string
	}{
		{name: "ShorterThanLimit", limit: 10, body: "short", want: "short"},
		{name: "ExactlyLimit", limit: 5, body: "abcde", want: "abcde"},
		{name: "CutASCII", limit: 10, body: strings.Repeat("a", 100), want: strings.Repeat("a", 10)},
		{name: "CutInsideThreeByteRune", limit: 10, body: "aaaaaaaaa€€€", want: "aaaaaaaaa"}, // € is 3 bytes
		{name: "CutInsideThreeByteRuneAfterTwo", limit: 11, body: "aaaaaaaaa€€€", want: "aaaaaaaaa"},
		{name: "CutAtRuneBoundary", limit: 12, body: "aaaaaaaaa€€€", want: "aaaaaaaaa€"},
		{name: "CutInsideFourByteRune", limit: 5, body: "ab😀😀", want: "ab"}, // 😀 is 4 bytes; 3 kept
		{name: "CutOneByteIntoFourByteRune", limit: 7, body: "ab😀😀", want: "ab😀"},
		{name: "CutInsideTwoByteRune", limit: 3, body: "aéé", want: "aé"},
		{name: "NULRemoved", limit: 100, body: "a\x00b\x00\x00c", want: "abc"},
		{name: "InvalidBytesReplaced", limit: 100, body: "a\xffb\xc3(c", want: "a\uFFFDb\uFFFD(c"},
		{name: "DefaultLimit", limit: 0, body: strings.Repeat("x", ExcerptBytesDefault+500), want: strings.Repeat("x", ExcerptBytesDefault)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, tt.body) })
			res := newRunner(t, Config{ExcerptBytes: tt.limit}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL}))
			require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
			assert.Equal(t, tt.want, res.Excerpt)
			assert.LessOrEqual(t, len(res.Excerpt), cmp.Or(tt.limit, ExcerptBytesDefault))
			assert.True(t, utf8.ValidString(res.Excerpt))
			assert.NotContains(t, res.Excerpt, "\x00")
		})
	}
}

// TestRunDrainsLargeBodyAndReusesConnection checks that a body longer than the excerpt does not
// fail the run and that the next run reuses the connection.
func TestRunDrainsLargeBodyAndReusesConnection(t *testing.T) {
	t.Parallel()
	var (
		mu    sync.Mutex
		conns = map[string]bool{}
	)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		_, _ = io.WriteString(w, strings.Repeat("z", 32<<10))
	})
	r := newRunner(t, Config{ExcerptBytes: 16})
	for range 3 {
		res := r.Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL}))
		require.Equal(t, domain.StatusSucceeded, res.Status, res.Error)
		assert.Equal(t, strings.Repeat("z", 16), res.Excerpt)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, conns, 1, "runs should share one keep-alive connection")
}

func TestRunTimesOutWaitingForHeaders(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tg := newTarget(t, func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	res := newRunner(t, Config{}).Run(ctx, dueFor(&domain.HTTPSpec{URL: tg.URL + "/slow?token=secret"}))
	assert.Equal(t, domain.StatusTimedOut, res.Status)
	assert.Zero(t, res.HTTPStatus)
	assert.Contains(t, res.Error, "timed out")
	assert.NotContains(t, res.Error, "secret")
	assert.NotContains(t, res.Error, tg.URL)
}

func TestRunTimesOutReadingBody(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	res := newRunner(t, Config{}).Run(ctx, dueFor(&domain.HTTPSpec{URL: tg.URL}))
	assert.Equal(t, domain.StatusTimedOut, res.Status, res.Error)
	assert.Equal(t, http.StatusOK, res.HTTPStatus)
	assert.Equal(t, "partial", res.Excerpt)
	assert.Contains(t, res.Error, "read response")
}

func TestRunCancelledIsFailed(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	tg := newTarget(t, func(_ http.ResponseWriter, r *http.Request) {
		cancel() // the request arrived; the caller gives up
		<-r.Context().Done()
	})
	res := newRunner(t, Config{}).Run(ctx, dueFor(&domain.HTTPSpec{URL: tg.URL}))
	assert.Equal(t, domain.StatusFailed, res.Status, "a cancel is not a timeout")
	assert.Contains(t, res.Error, "canceled")
}

func TestRunConnectionRefusedHidesURL(t *testing.T) {
	t.Parallel()
	url := "http://alice:password@" + testenv.RefusedAddr(t).String() + "/hook?token=secret"
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{Method: "post", URL: url}))
	assert.Equal(t, domain.StatusFailed, res.Status)
	assert.Zero(t, res.HTTPStatus)
	assert.Empty(t, res.Excerpt)
	assert.Contains(t, res.Error, "POST request")
	assert.Contains(t, res.Error, "connection refused")
	for _, secret := range []string{"password", "secret", "token", "alice", "/hook"} {
		assert.NotContains(t, res.Error, secret)
	}
}

func TestRunRedirectToDeadTargetHidesURL(t *testing.T) {
	t.Parallel()
	dead := "http://bob:password@" + testenv.RefusedAddr(t).String() + "/next?token=secret"
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, dead, http.StatusFound) })
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{URL: tg.URL, FollowRedirects: 1}))
	assert.Equal(t, domain.StatusFailed, res.Status)
	assert.Contains(t, res.Error, "connection refused")
	for _, secret := range []string{"password", "secret", "token"} {
		assert.NotContains(t, res.Error, secret)
	}
}

func TestRunBadRequestHidesURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		url    string
	}{
		{name: "ControlCharacter", url: "http://alice:password@example.com/\x7f?token=secret"},
		{name: "BadPort", url: "http://alice:password@example.com:port/?token=secret"},
		{name: "NoScheme", url: "alice:password@example.com/?token=secret"},
		{name: "BadMethod", method: "GE T", url: "http://alice:password@example.com/?token=secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newRunner(t, Config{}).Run(t.Context(), dueFor(&domain.HTTPSpec{Method: tt.method, URL: tt.url}))
			assert.Equal(t, domain.StatusFailed, res.Status)
			assert.NotEmpty(t, res.Error)
			for _, secret := range []string{"password", "secret", "token"} {
				assert.NotContains(t, res.Error, secret)
			}
		})
	}
}

func TestRunWithoutSpec(t *testing.T) {
	t.Parallel()
	res := newRunner(t, Config{}).Run(t.Context(), dueFor(nil))
	assert.Equal(t, domain.StatusFailed, res.Status)
	assert.Equal(t, "job has no http spec", res.Error)
}
