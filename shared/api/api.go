// Package api serves vecron's REST API (/api/v1) and health endpoints over net/http with chi.
// Errors are RFC 9457 problem+json documents that name the offending field.
package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"go.opentelemetry.io/otel/trace"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/feed"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/variables"
)

const (
	maxBody      = 1 << 20
	limitDefault = 50
	limitMax     = 500
)

// Store is what the API reads and writes beside the jobs service: execution history, backfill
// queueing, and users, roles and tokens.
type Store interface {
	ListExecutions(ctx context.Context, jobID string, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) ([]*domain.Execution, error)
	Attempts(ctx context.Context, executionID string, scheduledAt time.Time) ([]domain.Attempt, error)
	ListDeadLetters(ctx context.Context, p store.ListDeadLettersParams) ([]*domain.Execution, error)
	DiscardDeadLetter(ctx context.Context, id string, at time.Time) (*domain.Execution, error)
	CancelExecution(ctx context.Context, id, reason string, at time.Time) (*domain.Execution, error)
	DeadLetterUndelivered(ctx context.Context, u store.Undelivered, at time.Time) (*domain.Execution, bool, *domain.Job, error)
	GetJob(ctx context.Context, id string) (*domain.Job, error)
	ScheduleAfterFinish(ctx context.Context, jobID string, firedAt time.Time, next *time.Time) error
	JobStats(ctx context.Context, ids []string, now time.Time) (map[string]*domain.JobStats, error)
	Upstreams(ctx context.Context, ref string, limit int) ([]domain.UpstreamJob, error)
	AlertStreak(ctx context.Context, jobID string) (failures int, alerted bool, err error)
	JobAlerts(ctx context.Context, jobID string, limit int) ([]*domain.Alert, error)
	ListAllExecutions(ctx context.Context, scope domain.ExecutionScope, f domain.ExecutionFilter, after *domain.ExecutionCursor, limit int) ([]*domain.Execution, error)
	jobs.BackfillStore
	jobs.DeadLetterStore
	jobs.TriggerStore
	jobs.ChangeStore
	jobs.CalendarStore
	jobs.FreezeStore
	jobs.EventStore
	jobs.WebhookStore
	MissedStore
	AccessStore
	SessionStore
	TimelineStore
}

var _ Store = (*store.Store)(nil)

// Deps are what the API serves.
type Deps struct {
	Jobs     *jobs.Service
	Vars     *variables.Service
	Store    Store
	Identity *identity.Service
	// Checks run on /readyz.
	Checks []server.Check
	// Feed serves the live stream; nil answers it with 503 (the api runs without NATS).
	Feed *feed.Hub
	// Stream shapes the live stream's connections.
	Stream StreamConfig
	// Clock drives the stream's timers; nil is the real clock.
	Clock clockwork.Clock
	// EventLimiter enforces event triggers' max_rate; nil refuses events that match a job
	// with one (503).
	EventLimiter jobs.RateLimiter
	// WebhookLimiter enforces webhooks' rate limits; nil refuses every webhook call (503).
	WebhookLimiter jobs.WebhookLimiter
	// Keys seal and open webhooks' secrets; nil or empty: webhooks cannot be enabled.
	Keys jobs.Sealer
	// RequestDurations is vecron_http_request_duration_seconds; nil measures nothing.
	RequestDurations *metric.HistogramVec
	// Tracer starts a server span per request, and the runs a request starts continue its
	// trace; nil traces nothing.
	Tracer trace.TracerProvider
	// DeadLetters publishes what the dead-letter sink records to the dead-letter and events
	// streams of Names; nil answers the sink with 503 (the api runs without NATS).
	DeadLetters Publisher
	Names       event.Names
}

// Server is the API's HTTP handler.
type Server struct {
	jobs  *jobs.Service
	vars  *variables.Service
	store Store
	ident *identity.Service
	feed  *feed.Hub
	// limiter enforces event triggers' max_rate, hookLimiter webhooks' rate limits.
	limiter     jobs.RateLimiter
	hookLimiter jobs.WebhookLimiter
	// keys seal webhooks' secrets.
	keys jobs.Sealer
	// streamCfg shapes the live stream; clock drives its timers.
	streamCfg StreamConfig
	clock     clockwork.Clock
	now       func() time.Time
	log       *slog.Logger
	router    chi.Router
	docsTags  func() map[string]string
	liveH     http.Handler
	readyH    http.Handler
	// segments are the first path segments of the routes (see Owns).
	segments map[string]struct{}
	// tracer is Deps.Tracer, for the internal events listener.
	tracer trace.TracerProvider
	// deadLetters publishes the dead-letter sink's records to the streams of names.
	deadLetters Publisher
	names       event.Names
}

// New returns the API handler; now is the clock.
func New(d Deps, now func() time.Time, log *slog.Logger) *Server {
	s := &Server{jobs: d.Jobs, vars: d.Vars, store: d.Store, ident: d.Identity, feed: d.Feed, limiter: d.EventLimiter, hookLimiter: d.WebhookLimiter, keys: d.Keys, streamCfg: d.Stream, tracer: d.Tracer,
		deadLetters: d.DeadLetters, names: d.Names,
		clock: cmp.Or[clockwork.Clock](d.Clock, clockwork.NewRealClock()), now: now, log: log,
		liveH: server.Live(), readyH: server.Ready(d.Checks...), docsTags: sync.OnceValue(docsETags)}
	r := chi.NewRouter()
	r.Use(requestMetrics(d.RequestDurations, now), serverSpans(d.Tracer, true), requestID, recoverer(log), securityHeaders, validUTF8)
	routes := s.routes()
	s.segments = firstSegments(routes)
	for _, rt := range routes {
		var h http.Handler = s.guard(rt.access, rt.handler)
		switch {
		case takesYAML(rt.method, rt.pattern):
			h = jsonOrYAML(h)
		case rt.pattern == EventsPath:
			h = cloudEventsOnly(h)
		case strings.HasPrefix(rt.pattern, "/api/v1/"):
			h = jsonOnly(h)
		}
		r.Method(rt.method, rt.pattern, h)
	}
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problem{Status: http.StatusNotFound, Detail: "no such endpoint"})
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeProblem(w, problem{Status: http.StatusMethodNotAllowed, Detail: "method not allowed on this endpoint"})
	})
	s.router = r
	return s
}

func (s *Server) live(w http.ResponseWriter, r *http.Request)  { s.liveH.ServeHTTP(w, r) }
func (s *Server) ready(w http.ResponseWriter, r *http.Request) { s.readyH.ServeHTTP(w, r) }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.router.ServeHTTP(w, r) }

// jobRequest is a job as a client writes it.
type jobRequest struct {
	Name        string           `json:"name"`
	Namespace   string           `json:"namespace"`
	Description string           `json:"description"`
	Tags        []string         `json:"tags"`
	Kind        domain.JobKind   `json:"kind"`
	HTTP        *domain.HTTPSpec `json:"http"`
	SQL         *domain.SQLSpec  `json:"sql"`
	Schedule    domain.Schedule  `json:"schedule"`
	Timezone    string           `json:"timezone"`
	Enabled     *bool            `json:"enabled"`
	Timeout     domain.Duration  `json:"timeout"`

	MisfirePolicy     string             `json:"misfire_policy"`
	MaxCatchup        int                `json:"max_catchup"`
	StartingDeadline  domain.Duration    `json:"starting_deadline"`
	MissedAfter       domain.Duration    `json:"missed_after"`
	ConcurrencyPolicy string             `json:"concurrency_policy"`
	Retry             domain.RetryPolicy `json:"retry"`

	Triggers []domain.JobTrigger `json:"triggers"`
	// Chains: on_success, on_failure, on_completion (docs/chaining.md).
	domain.Chains
	// Alert: after how many consecutive failures the job alerts (docs/alerts.md).
	Alert domain.AlertPolicy `json:"alert"`
}

// toJob converts the request.
func (in jobRequest) toJob() *domain.Job {
	return &domain.Job{
		Name: in.Name, Namespace: in.Namespace, Description: in.Description, Tags: in.Tags, Kind: in.Kind,
		HTTP: in.HTTP, SQL: in.SQL, Schedule: in.Schedule, Timezone: in.Timezone, Enabled: in.Enabled == nil || *in.Enabled,
		Timeout: in.Timeout, MisfirePolicy: in.MisfirePolicy, MaxCatchup: in.MaxCatchup,
		StartingDeadline: in.StartingDeadline, ConcurrencyPolicy: in.ConcurrencyPolicy, Retry: in.Retry,
		MissedAfter: in.MissedAfter, Triggers: in.Triggers, Chains: in.Chains, Alert: in.Alert,
	}
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	var in jobRequest
	if err := decodeBody(w, r, &in); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.create(w, r, in.toJob())
}

// create stores new job j when the caller may write in its namespace, and answers 201.
func (s *Server) create(w http.ResponseWriter, r *http.Request, j *domain.Job) {
	// Creating in a namespace one cannot see reveals nothing, so it is a plain 403.
	if ns := jobs.WithDefaults(&domain.Job{Namespace: j.Namespace}).Namespace; domain.ValidNamespace(ns) && !identityOf(r).Can(domain.PermJobWrite, ns) {
		writeProblem(w, problem{Status: http.StatusForbidden, Detail: "missing permission job:write in namespace " + ns})
		return
	}
	if s.proposed(w, r, jobs.WithDefaults(&domain.Job{Namespace: j.Namespace}).Namespace, jobs.Proposal{Action: domain.ChangeCreate, Job: j}) {
		return
	}
	if err := s.jobs.Create(r.Context(), j); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+j.ID)
	writeJob(w, http.StatusCreated, j)
}

// page is a list response; NextCursor is empty on the last page.
type page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	withStats, err := parseInclude(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p, err := jobFilter(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	p.After, p.Limit = r.URL.Query().Get("cursor"), limit
	if all, list := identityOf(r).Namespaces(domain.PermJobRead); !all {
		p.Namespaces = append([]string{}, list...)
	}
	list, err := s.jobs.List(r.Context(), p)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := page[jobListItem]{Items: make([]jobListItem, len(list))}
	for i, j := range list {
		out.Items[i].Job = j
	}
	if withStats && len(list) > 0 {
		ids := make([]string, len(list))
		for i, j := range list {
			ids[i] = j.ID
		}
		stats, err := s.store.JobStats(r.Context(), ids, s.now())
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		for i, j := range list {
			out.Items[i].Stats = forCaller(r, j, stats[j.ID])
		}
	}
	if len(list) == limit {
		out.NextCursor = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
}

// maxSearch bounds the name search of a job list: a job name is at most this long.
const maxSearch = 200

// jobFilter reads the filters of a job list: namespace, q (in the name), kind, state, tag
// (repeated: every one), and those of jobSelection.
func jobFilter(r *http.Request) (domain.ListJobsParams, error) {
	q := r.URL.Query()
	p := domain.ListJobsParams{Namespace: q.Get("namespace"), Search: q.Get("q"), Kind: domain.JobKind(q.Get("kind")), State: q.Get("state")}
	var v domain.ValidationError
	p.Tags = tagFilter(&v, q["tag"])
	if len(p.Search) > maxSearch || !utf8.ValidString(p.Search) {
		v.Add("q", "must be text of at most 200 bytes")
	}
	if p.Kind != "" && p.Kind != domain.KindHTTP && p.Kind != domain.KindSQL {
		v.Add("kind", quoted(printable(string(p.Kind), 40))+" is not a job kind; use http or sql")
	}
	if p.State != "" && !slices.Contains(jobStates, p.State) {
		v.Add("state", quoted(printable(p.State, 40))+" is not a job state; use one of "+strings.Join(jobStates, ", "))
	}
	jobSelection(q, &p, &v)
	return p, v.Err()
}

// jobStates are the states a job list filters on.
var jobStates = []string{domain.StateScheduled, domain.StatePaused, domain.StateWaiting, domain.StateCompleted, domain.StateEnded, domain.StateOnEvent}

// jobListItem is a job of the list, with its statistics when asked for (include=stats).
type jobListItem struct {
	*domain.Job
	Stats *domain.JobStats `json:"stats,omitempty"`
}

// parseInclude reads include, a comma-separated list of what to add to each listed job: only
// "stats" so far.
func parseInclude(r *http.Request) (stats bool, err error) {
	raw := r.URL.Query().Get("include")
	if raw == "" {
		return false, nil
	}
	for part := range strings.SplitSeq(raw, ",") {
		if strings.TrimSpace(part) != "stats" {
			return false, &domain.ValidationError{Fields: []domain.FieldError{{Field: "include",
				Reason: quoted(printable(part, 40)) + " is not something a job list can include; use stats"}}}
		}
	}
	return true, nil
}

// jobStats serves GET /api/v1/jobs/{id}/stats.
func (s *Server) jobStats(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobRead)
	if !ok {
		return
	}
	stats, err := s.store.JobStats(r.Context(), []string{j.ID}, s.now())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, forCaller(r, j, stats[j.ID]))
}

// forCaller leaves the execution ids out of st for a caller who may read job j but not its
// executions: the statistics are the job's, the executions are not theirs to look up.
func forCaller(r *http.Request, j *domain.Job, st *domain.JobStats) *domain.JobStats {
	if st == nil || identityOf(r).Can(domain.PermExecutionRead, j.Namespace) {
		return st
	}
	for i := range st.LastOutcomes {
		st.LastOutcomes[i].ExecutionID = ""
	}
	return st
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	if j, ok := s.allowJob(w, r, domain.PermJobRead); ok {
		writeJob(w, http.StatusOK, j)
	}
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	cur, ok := s.allowJob(w, r, domain.PermJobDelete)
	if !ok || s.proposed(w, r, cur.Namespace, jobs.Proposal{Action: domain.ChangeDelete, Current: cur}) {
		return
	}
	if err := s.jobs.Delete(r.Context(), chi.URLParam(r, "id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) setEnabled(enabled bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.allowJob(w, r, domain.PermJobEnable); !ok {
			return
		}
		j, err := s.jobs.SetEnabled(r.Context(), chi.URLParam(r, "id"), enabled)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJob(w, http.StatusOK, j)
	}
}

func (s *Server) listExecutions(w http.ResponseWriter, r *http.Request) {
	s.jobHistory(w, r, chi.URLParam(r, "id"))
}

// jobHistory answers a page of the history of the job id.
func (s *Server) jobHistory(w http.ResponseWriter, r *http.Request, id string) {
	if uuid.Validate(id) != nil {
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	// The history of a deleted job stays readable by those who may read every namespace.
	// A 404 for a job that does not exist and one the caller may not read alike, so that ids of
	// other namespaces cannot be probed.
	j, err := s.jobs.Get(r.Context(), id)
	switch {
	case err == nil:
		if !s.allow(w, r, domain.PermExecutionRead, j.Namespace) {
			return
		}
	case !errors.Is(err, domain.ErrNotFound):
		writeError(w, r, s.log, err)
		return
	case !identityOf(r).Can(domain.PermExecutionRead, domain.AllNamespaces):
		writeError(w, r, s.log, domain.ErrNotFound)
		return
	}
	f, cursor, limit, ok := s.historyParams(w, r)
	if !ok {
		return
	}
	list, err := s.store.ListExecutions(r.Context(), id, f, cursor, limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, executionPage(list, limit, func(e *domain.Execution) time.Time { return e.ScheduledAt }))
}

// historyParams reads what every history listing takes: limit, cursor and the filters.
func (s *Server) historyParams(w http.ResponseWriter, r *http.Request) (domain.ExecutionFilter, *domain.ExecutionCursor, int, bool) {
	limit, err := parseLimit(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return domain.ExecutionFilter{}, nil, 0, false
	}
	at, after, ok := decodeCursor(r.URL.Query().Get("cursor"))
	if !ok {
		writeError(w, r, s.log, badCursor)
		return domain.ExecutionFilter{}, nil, 0, false
	}
	var cursor *domain.ExecutionCursor
	if after != "" {
		cursor = &domain.ExecutionCursor{ScheduledAt: at, ID: after}
	}
	f, err := parseExecutionFilter(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return domain.ExecutionFilter{}, nil, 0, false
	}
	return f, cursor, limit, true
}

// allExecutions serves GET /api/v1/executions: the history of every job the caller may read the
// executions of, newest first, narrowed by job_id, namespace and the filters of a job's history.
func (s *Server) allExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if id := q.Get("job_id"); id != "" {
		if uuid.Validate(id) != nil {
			writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "job_id", Reason: "is not a job id"}}})
			return
		}
		s.jobHistory(w, r, id)
		return
	}
	var scope domain.ExecutionScope
	id := identityOf(r)
	switch ns := q.Get("namespace"); {
	case ns != "":
		if !domain.ValidNamespace(ns) {
			writeError(w, r, s.log, &domain.ValidationError{Fields: []domain.FieldError{{Field: "namespace", Reason: quoted(printable(ns, 80)) + " is not a namespace name"}}})
			return
		}
		if !s.allow(w, r, domain.PermExecutionRead, ns) {
			return
		}
		scope.Namespaces = []string{ns}
	default:
		if all, list := id.Namespaces(domain.PermExecutionRead); !all {
			scope.Namespaces = append([]string{}, list...)
		}
	}
	f, cursor, limit, ok := s.historyParams(w, r)
	if !ok {
		return
	}
	list, err := s.store.ListAllExecutions(r.Context(), scope, f, cursor, limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, executionPage(list, limit, func(e *domain.Execution) time.Time { return e.ScheduledAt }))
}

// executionPage is a page of list, which asked for limit items; a full page's cursor is the
// last item's sort key (by) and id.
func executionPage(list []*domain.Execution, limit int, by func(*domain.Execution) time.Time) page[*domain.Execution] {
	p := page[*domain.Execution]{Items: list}
	if p.Items == nil {
		p.Items = []*domain.Execution{}
	}
	if len(list) == limit {
		last := list[len(list)-1]
		p.NextCursor = encodeCursor(by(last), last.ID)
	}
	return p
}

func parseLimit(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return limitDefault, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > limitMax {
		return 0, &domain.ValidationError{Fields: []domain.FieldError{{Field: "limit", Reason: "must be a whole number from 1 to " + strconv.Itoa(limitMax)}}}
	}
	return n, nil
}

// encodeCursor makes an opaque cursor of a position in a list ordered by an instant and an id:
// "<unix ns>_<id>", base64url.
func encodeCursor(at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixNano(), 10) + "_" + id))
}

// decodeCursor reads what encodeCursor made; ok is false for anything else. An empty cursor is
// the first page (ok, zero values).
func decodeCursor(s string) (at time.Time, id string, ok bool) {
	if s == "" {
		return time.Time{}, "", true
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", false
	}
	ns, id, found := strings.Cut(string(raw), "_")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !found || err != nil || uuid.Validate(id) != nil {
		return time.Time{}, "", false
	}
	return time.Unix(0, n).UTC(), id, true
}

var badCursor = &domain.ValidationError{Fields: []domain.FieldError{{Field: "cursor", Reason: "is not a cursor this API returned"}}}

// jobAlerts is a job's alert state (docs/alerts.md): its policy, its current failure streak and
// its newest notices.
type jobAlerts struct {
	Policy domain.AlertPolicy `json:"policy"`
	// ConsecutiveFailures is the current streak; Alerted says whether it has alerted.
	ConsecutiveFailures int             `json:"consecutive_failures"`
	Alerted             bool            `json:"alerted"`
	Alerts              []*domain.Alert `json:"alerts"`
}

// maxJobAlerts is how many of a job's newest notices GET …/alerts answers.
const maxJobAlerts = 20

func (s *Server) jobAlerts(w http.ResponseWriter, r *http.Request) {
	j, ok := s.allowJob(w, r, domain.PermJobRead)
	if !ok {
		return
	}
	n, alerted, err := s.store.AlertStreak(r.Context(), j.ID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list, err := s.store.JobAlerts(r.Context(), j.ID, maxJobAlerts)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if list == nil {
		list = []*domain.Alert{}
	}
	// The execution ids are the executions', as in the statistics, and so is the error one
	// recorded (it may quote the target's answer), as in the timeline. A missed fire's reason,
	// with no execution, is the watchdog's and stays.
	if !identityOf(r).Can(domain.PermExecutionRead, j.Namespace) {
		for _, a := range list {
			if a.ExecutionID != "" {
				a.ExecutionID, a.LastError = "", ""
			}
		}
	}
	writeJSON(w, http.StatusOK, jobAlerts{Policy: j.Alert.Normal(), ConsecutiveFailures: n, Alerted: alerted, Alerts: list})
}
