// Package jobs is the use case of defining jobs: it validates a job as a user wrote it, fills in
// its defaults, identity, shard and next run, and stores it.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"golang.org/x/net/http/httpguts"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/render"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/sqljob"
	"github.com/vecron/vecron/shared/store"
)

// Limits on what a job may hold.
const (
	MaxNameLen   = 200
	MaxBodyBytes = 256 << 10
	MaxHeaders   = 64
	// MaxURLBytes and MaxHeaderValueBytes bound what a target can be sent: servers refuse more.
	MaxURLBytes         = 8 << 10
	MaxHeaderValueBytes = 8 << 10
	// MaxRedirects bounds http.follow_redirects.
	MaxRedirects   = 10
	TimeoutDefault = 30 * time.Second
	MaxTimeout     = 24 * time.Hour
	// MaxCatchupDefault caps the catch-up fires of misfire policy fire_all.
	MaxCatchupDefault = 10
	MaxCatchupLimit   = 1000
	// MaxAttemptsLimit and the backoff bounds keep a failing fire from lingering for weeks.
	MaxAttemptsLimit = 100
	MaxBackoffSteps  = 20
	MinBackoff       = 100 * time.Millisecond
	MaxBackoff       = 24 * time.Hour
)

// Store is what the service needs of the database.
type Store interface {
	CreateJob(ctx context.Context, j *domain.Job) error
	GetJob(ctx context.Context, id string) (*domain.Job, error)
	ListJobs(ctx context.Context, p domain.ListJobsParams) ([]*domain.Job, error)
	DeleteJob(ctx context.Context, id string) error
	SetEnabled(ctx context.Context, id string, enabled bool, nextRunAt *time.Time, now time.Time) (*domain.Job, error)
	UpdateJob(ctx context.Context, j *domain.Job, ifVersion int64, keepNext bool, now time.Time) (*domain.Job, error)
	// JobsByName and ApplyJobs serve export and apply.
	JobsByName(ctx context.Context, namespaces []string, fn func(page []*domain.Job) error) error
	ApplyJobs(ctx context.Context, changes []domain.JobChange, proposed []*domain.Change, now time.Time) ([]*domain.Job, error)
	GetCalendars(ctx context.Context, names []string) (map[string]*domain.Calendar, error)
	ChainStore
}

// Service defines jobs.
type Service struct {
	store Store
	now   func() time.Time
	// matchers caches compiled event filters (events.go).
	matchers matcherCache
}

// New returns a service over st; now is the clock.
func New(st Store, now func() time.Time) *Service { return &Service{store: st, now: now} }

// Create validates j, fills its defaults, identity and next run, and stores it. It returns a
// *domain.ValidationError naming every bad field, or an error wrapping domain.ErrConflict when
// the name is taken in the namespace.
func (s *Service) Create(ctx context.Context, j *domain.Job) error {
	for attempt := 1; ; attempt++ {
		if err := s.prepareNew(ctx, j, s.now().UTC().Truncate(time.Microsecond), nil); err != nil {
			return err
		}
		err := s.store.CreateJob(ctx, j)
		if errors.Is(err, store.ErrCalendarsChanged) && attempt < maxCalendarRetries {
			continue // planned by a calendar edited meanwhile: plan again
		}
		if err != nil {
			return err
		}
		j.DeriveState()
		return nil
	}
}

// prepareNew validates j as a new job (its calendars resolved) and fills its defaults,
// identity and next run as of now, as Create stores it.
func (s *Service) prepareNew(ctx context.Context, j *domain.Job, now time.Time, cs ChainStore) error {
	sched, err := s.check(ctx, j, cs)
	if err != nil {
		return err
	}
	return s.prepare(j, sched, now)
}

// Update replaces the definition of job cur with j when the job is still at version ifVersion
// (0: any). A new schedule or time zone plans the next run anew from now; an unchanged one keeps
// it. j is the whole new definition; a blank namespace or
// kind keeps cur's, and neither may change (a job moves to another namespace or kind by a
// clone). Fires already claimed run the new version (ARCHITECTURE §11). It returns the stored
// job, a *domain.ValidationError naming every bad field, or an error wrapping domain.ErrStale or
// domain.ErrConflict.
func (s *Service) Update(ctx context.Context, cur, j *domain.Job, ifVersion int64) (*domain.Job, error) {
	for attempt := 1; ; attempt++ {
		now := s.now().UTC().Truncate(time.Microsecond)
		keepNext, err := s.prepareUpdate(ctx, cur, j, now, nil)
		if err != nil {
			return nil, err
		}
		out, err := s.store.UpdateJob(ctx, j, ifVersion, keepNext, now)
		if errors.Is(err, store.ErrCalendarsChanged) && attempt < maxCalendarRetries {
			continue // planned by a calendar edited meanwhile: plan again
		}
		return out, err
	}
}

// prepareUpdate validates j, the new definition of job cur (its calendars resolved), and fills
// its defaults, identity and next run as of now, as Update stores it. keepNext says whether the
// stored next run stands.
func (s *Service) prepareUpdate(ctx context.Context, cur, j *domain.Job, now time.Time, cs ChainStore) (keepNext bool, err error) {
	if strings.TrimSpace(j.Namespace) == "" {
		j.Namespace = cur.Namespace
	}
	if j.Kind == "" {
		j.Kind = cur.Kind
	}
	j.ID = cur.ID // the chains' cycle check sets the stored job's own chains aside
	sched, err := s.check(ctx, j, cs)
	var v domain.ValidationError
	if verr, ok := err.(*domain.ValidationError); ok {
		v.Fields = verr.Fields
	} else if err != nil {
		return false, err
	}
	if j.Namespace != cur.Namespace {
		v.Add("namespace", fmt.Sprintf("cannot be changed by an edit (the job is in %q); clone the job into the other namespace", cur.Namespace))
	}
	if j.Kind != cur.Kind {
		v.Add("kind", fmt.Sprintf("cannot be changed by an edit (the job is a %s job); clone it as a new job", cur.Kind))
	}
	if err := v.Err(); err != nil {
		return false, err
	}
	j.ID, j.Shard = cur.ID, cur.Shard
	if sched == nil { // events alone start it
		j.NextRunAt = nil
		return false, nil
	}
	samePlan := domain.SamePlan(cur.Schedule, cur.Timezone, j.Schedule, j.Timezone)
	next := nextRun(sched.WithSeed(j.ID), now)
	// An edit that leaves the plan alone may keep a schedule that has ended (to fix a
	// description); a new plan must fire, as on create.
	if next == nil && !samePlan {
		return false, neverFires(j, sched, now)
	}
	switch {
	case !j.Enabled:
		j.NextRunAt = nil
	case samePlan && !cur.Enabled && cur.PausedAt != nil && cur.PausedAt.Before(now):
		// Resumed by the edit: as POST …/enable, from the first fire the pause missed.
		j.NextRunAt = nextRun(sched.WithSeed(j.ID), *cur.PausedAt)
	default:
		j.NextRunAt = next
	}
	// The plan stands: the next run stays where the tick has it (a fixed_delay job's waits for
	// its run to end; a misfire backlog is still caught up) — if, under the row's lock, the job
	// is still enabled on the same plan; otherwise NextRunAt applies.
	return samePlan && cur.Enabled && j.Enabled, nil
}

// neverFires is the error of a schedule with no fire after now.
func neverFires(j *domain.Job, sched *schedule.Schedule, now time.Time) error {
	field := "schedule.cron"
	plain, err := schedule.Parse(j.Schedule, j.Timezone)
	switch {
	case j.CalendarRules != nil && err == nil && nextRun(plain.WithSeed(j.ID), now) != nil:
		field = "schedule.calendars" // it fires, but never on a day its calendars allow
	case j.Schedule.EndAt != nil && j.Schedule.EndAt.Before(now):
		field = "schedule.end_at"
	case sched.Kind() == domain.ScheduleOnce:
		field = "schedule.at"
	}
	return &domain.ValidationError{Fields: []domain.FieldError{{Field: field, Reason: "never fires after now"}}}
}

// BulkStore stores many jobs at once.
type BulkStore interface {
	CreateJobs(ctx context.Context, jobs []*domain.Job) error
}

// CreateMany is Create for many jobs in one transaction (an import, a load test): all are stored
// or none. A bad job is reported as a *domain.ValidationError whose fields start with its index,
// "jobs[3].schedule.cron".
func (s *Service) CreateMany(ctx context.Context, bs BulkStore, list []*domain.Job) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	var v domain.ValidationError
	// A job may chain to another of the same import, whatever their order.
	cs := s.batchChains(list, nil)
	for i, j := range list {
		sched, err := s.check(ctx, j, cs)
		if err == nil {
			err = s.prepare(j, sched, now)
		}
		var verr *domain.ValidationError
		switch {
		case errors.As(err, &verr):
			for _, f := range verr.Fields {
				v.Add(fmt.Sprintf("jobs[%d].%s", i, f.Field), f.Reason)
			}
		case err != nil:
			return err
		}
	}
	if err := v.Err(); err != nil {
		return err
	}
	return bs.CreateJobs(ctx, list)
}

// prepare fills j's identity and next run as of now; sched is its checked schedule.
func (s *Service) prepare(j *domain.Job, sched *schedule.Schedule, now time.Time) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new job id: %w", err)
	}
	j.ID = id.String()
	j.Shard = domain.ShardOf(j.ID)
	j.Version = 1
	j.CreatedAt, j.UpdatedAt = now, now
	j.NextRunAt = nil
	if sched == nil { // events alone start it
		return nil
	}
	next := nextRun(sched.WithSeed(j.ID), now)
	if next == nil {
		return neverFires(j, sched, now)
	}
	j.NextRunAt = nil
	if j.Enabled {
		j.NextRunAt = next
	}
	return nil
}

// Get returns the job with id, or an error wrapping domain.ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (*domain.Job, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	return s.store.GetJob(ctx, id)
}

// List returns a page of jobs.
func (s *Service) List(ctx context.Context, p domain.ListJobsParams) ([]*domain.Job, error) {
	if p.After != "" {
		if err := uuid.Validate(p.After); err != nil {
			return nil, &domain.ValidationError{Fields: []domain.FieldError{{Field: "cursor", Reason: "is not a cursor this API returned"}}}
		}
	}
	return s.store.ListJobs(ctx, p)
}

// Delete deletes the job with id; its execution history stays.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := checkID(id); err != nil {
		return err
	}
	return s.store.DeleteJob(ctx, id)
}

// SetEnabled disables the job with id, or enables it. A job resumed after a pause resumes at the
// first fire the pause missed, so the tick applies its misfire policy to what was missed.
// Enabling an enabled job or disabling a disabled one changes nothing.
func (s *Service) SetEnabled(ctx context.Context, id string, enabled bool) (*domain.Job, error) {
	j, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if j.Enabled == enabled {
		return j, nil
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var next *time.Time
	if enabled && j.HasSchedule() {
		sched, err := schedule.ForJob(j)
		if err != nil {
			return nil, err
		}
		from := now
		if j.PausedAt != nil && j.PausedAt.Before(now) {
			from = *j.PausedAt
		}
		next = nextRun(sched, from)
	}
	return s.store.SetEnabled(ctx, id, enabled, next, now)
}

func nextRun(sched *schedule.Schedule, now time.Time) *time.Time {
	next, ok := sched.Next(now)
	if !ok {
		return nil
	}
	return &next
}

func checkID(id string) error {
	if uuid.Validate(id) != nil {
		return fmt.Errorf("job %q: %w", id, domain.ErrNotFound)
	}
	return nil
}

// WithDefaults fills the fields a user may leave out (namespace, kind, time zone, timeout, HTTP
// method) and normalises the tags (domain.NormalizeTags) in place, and returns j.
func WithDefaults(j *domain.Job) *domain.Job {
	j.Namespace = strings.TrimSpace(j.Namespace)
	if j.Namespace == "" {
		j.Namespace = domain.DefaultNamespace
	}
	j.Name = strings.TrimSpace(j.Name)
	j.Tags = domain.NormalizeTags(j.Tags)
	if j.Kind == "" && j.SQL != nil && j.HTTP == nil {
		j.Kind = domain.KindSQL
	}
	if j.Kind == "" && j.HTTP != nil {
		j.Kind = domain.KindHTTP
	}
	if j.Timezone == "" {
		j.Timezone = domain.DefaultTimezone
	}
	if j.Timeout == 0 {
		j.Timeout = domain.Duration(TimeoutDefault)
	}
	if j.HTTP != nil && j.HTTP.Method == "" {
		j.HTTP.Method = http.MethodGet
	}
	if j.HTTP != nil {
		j.HTTP.Method = strings.ToUpper(j.HTTP.Method)
	}
	if j.MisfirePolicy == "" {
		j.MisfirePolicy = domain.MisfireFireOnce
	}
	if j.MaxCatchup == 0 {
		j.MaxCatchup = MaxCatchupDefault
	}
	if j.ConcurrencyPolicy == "" {
		j.ConcurrencyPolicy = domain.ConcurrencyAllow
	}
	if j.Retry.MaxAttempts == 0 {
		j.Retry.MaxAttempts = domain.MaxAttemptsDefault
	}
	if j.Retry.Backoff == nil {
		j.Retry.Backoff = domain.BackoffDefault()
	}
	j.Alert = j.Alert.Normal()
	return j
}

var methods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodHead: true, http.MethodOptions: true,
}

// Validate checks a job after defaults were applied and returns its parsed schedule, or a
// *domain.ValidationError naming every bad field and why.
func Validate(j *domain.Job) (*schedule.Schedule, error) {
	var v domain.ValidationError
	switch {
	case j.Name == "":
		v.Add("name", "is required")
	case len(j.Name) > MaxNameLen:
		v.Add("name", fmt.Sprintf("is longer than %d bytes", MaxNameLen))
	case strings.IndexFunc(j.Name, unicode.IsControl) >= 0:
		v.Add("name", "must not contain control characters")
	}
	if !domain.ValidNamespace(j.Namespace) {
		v.Add("namespace", "must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if len(j.Description) > 4096 {
		v.Add("description", "is longer than 4096 bytes")
	}
	domain.CheckTags(&v, j.Tags)
	domain.CheckAlert(&v, j.Alert)
	validateChains(&v, j)
	switch j.Kind {
	case domain.KindHTTP:
		validateHTTP(&v, j.HTTP)
	case domain.KindSQL:
		validateSQL(&v, j.SQL)
	case "":
		v.Add("kind", `is required ("http" or "sql")`)
	default:
		v.Add("kind", fmt.Sprintf(`%q is not one of http, sql`, j.Kind))
	}
	if t := time.Duration(j.Timeout); t < time.Millisecond || t > MaxTimeout {
		v.Add("timeout", fmt.Sprintf(`must be a duration such as "30s", from 1ms to %s`, MaxTimeout))
	}
	switch j.MisfirePolicy {
	case domain.MisfireFireOnce, domain.MisfireSkip, domain.MisfireFireAll:
	default:
		v.Add("misfire_policy", fmt.Sprintf("%q is not one of fire_once, skip, fire_all", j.MisfirePolicy))
	}
	if j.MaxCatchup < 1 || j.MaxCatchup > MaxCatchupLimit {
		v.Add("max_catchup", fmt.Sprintf("must be from 1 to %d", MaxCatchupLimit))
	}
	if d := time.Duration(j.StartingDeadline); d < 0 || (d > 0 && d < time.Second) {
		v.Add("starting_deadline", "must be at least 1s when set")
	}
	if d := time.Duration(j.MissedAfter); d != 0 && (d < domain.MissedAfterMin || d > domain.MissedAfterMax) {
		v.Add("missed_after", fmt.Sprintf("must be from %s to %s when set", domain.MissedAfterMin, domain.MissedAfterMax))
	}
	switch j.ConcurrencyPolicy {
	case domain.ConcurrencyAllow, domain.ConcurrencyForbid, domain.ConcurrencyReplace:
	default:
		v.Add("concurrency_policy", fmt.Sprintf("%q is not one of allow, forbid, replace", j.ConcurrencyPolicy))
	}
	validateRetry(&v, j.Retry)
	validateTriggers(&v, j.Triggers)
	if !j.HasSchedule() && len(j.Triggers) > 0 {
		// Events alone start the job: the rest of a schedule would be about no fire.
		if b, err := json.Marshal(j.Schedule); err != nil || string(b) != "{}" {
			v.Add("schedule", "sets fields of a schedule without one (kind or cron); leave it out for a job that runs on events alone")
		}
		return nil, v.Err()
	}
	sched, err := schedule.Parse(j.Schedule, j.Timezone)
	if verr, ok := err.(*domain.ValidationError); ok {
		v.Fields = append(v.Fields, verr.Fields...)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return sched, nil
}

func validateRetry(v *domain.ValidationError, r domain.RetryPolicy) {
	if r.MaxAttempts < 1 || r.MaxAttempts > MaxAttemptsLimit {
		v.Add("retry.max_attempts", fmt.Sprintf("must be from 1 (no retries) to %d", MaxAttemptsLimit))
	}
	switch {
	case r.MaxAttempts > 1 && len(r.Backoff) == 0:
		v.Add("retry.backoff", `must list at least one delay, such as ["5s", "1m"]`)
	case len(r.Backoff) > MaxBackoffSteps:
		v.Add("retry.backoff", fmt.Sprintf("lists more than %d delays; the last one repeats, so it need not", MaxBackoffSteps))
	}
	for i, d := range r.Backoff {
		if d := time.Duration(d); d < MinBackoff || d > MaxBackoff {
			v.Add(fmt.Sprintf("retry.backoff[%d]", i), fmt.Sprintf("must be from %s to %s", MinBackoff, MaxBackoff))
		}
	}
}

// MaxStatements bounds a sql job.
const MaxStatements = 100

func validateSQL(v *domain.ValidationError, q *domain.SQLSpec) {
	if q == nil {
		v.Add("sql", "is required for a sql job")
		return
	}
	switch q.Driver {
	case domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle:
	default:
		v.Add("sql.driver", fmt.Sprintf("%q is not one of postgres, mysql, oracle", q.Driver))
	}
	if q.DSN == "" && q.Host == "" {
		v.Add("sql.dsn", "is required (or host, port, database, user, password)")
	}
	badTemplate := map[string]bool{}
	for _, f := range []struct{ name, val string }{{"sql.dsn", q.DSN}, {"sql.host", q.Host}, {"sql.database", q.Database},
		{"sql.user", q.User}, {"sql.password", q.Password}} {
		if err := render.Check(f.name, f.val); err != nil {
			v.Add(f.name, strings.TrimPrefix(err.Error(), f.name+": "))
			badTemplate[f.name] = true
		}
	}
	// A database password is a credential like any other: in a secret variable, never in clear.
	if q.Password != "" && !badTemplate["sql.password"] && sqljob.PasswordInClear(q.Password) {
		v.Add("sql.password", passwordHint)
	}
	// A connection string is checked as the executor will check it: by the driver's parser,
	// against the parameters a job may set. One whose templates fill more than its password is
	// checked once they are filled, before each run.
	if q.DSN != "" && !badTemplate["sql.dsn"] && slices.Contains([]string{domain.DriverPostgres, domain.DriverMySQL, domain.DriverOracle}, q.Driver) {
		if sqljob.DSNPasswordInClear(q.Driver, q.DSN) {
			v.Add("sql.dsn", passwordHint+" in place of the password, or keep the whole connection string in one")
		}
		if err := sqljob.CheckDSN(q.Driver, q.DSN); err != nil {
			v.Add("sql.dsn", strings.TrimPrefix(err.Error(), "sql.dsn: "))
		}
	}
	switch {
	case len(q.Statements) == 0:
		v.Add("sql.statements", "needs at least one statement")
	case len(q.Statements) > MaxStatements:
		v.Add("sql.statements", fmt.Sprintf("has more than %d statements", MaxStatements))
	}
	for i, st := range q.Statements {
		if strings.TrimSpace(st.SQL) == "" {
			v.Add(fmt.Sprintf("sql.statements[%d].sql", i), "is empty")
		}
		for k, p := range st.Params {
			validateParam(v, fmt.Sprintf("sql.statements[%d].params[%d]", i, k), p)
		}
		if len(st.NamedParams) > 0 {
			switch {
			case len(st.Params) > 0:
				v.Add(fmt.Sprintf("sql.statements[%d].named_params", i), "cannot be given with params: bind by position or by name")
			case q.Driver == domain.DriverMySQL:
				v.Add(fmt.Sprintf("sql.statements[%d].named_params", i), "MySQL has no named parameters: use params with ? placeholders")
			}
		}
		for name, p := range st.NamedParams {
			field := fmt.Sprintf("sql.statements[%d].named_params.%s", i, name)
			if !paramName.MatchString(name) {
				v.Add(field, "a parameter name is a letter or _ then letters, digits or _")
				continue
			}
			validateParam(v, field, p)
		}
	}
	if q.MaxRows < 0 || q.MaxRows > 1000 {
		v.Add("sql.max_rows", "must be from 0 (default 20) to 1000")
	}
	if d := time.Duration(q.StatementTimeout); d < 0 || (d > 0 && d < time.Millisecond) || d > MaxTimeout {
		v.Add("sql.statement_timeout", fmt.Sprintf("must be 0 (none but the job's timeout) or from 1ms to %s", MaxTimeout))
	}
}

// paramName is a bind parameter's name: what both @name (PostgreSQL) and :name (Oracle) accept.
var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

func validateParam(v *domain.ValidationError, field string, p any) {
	switch p := p.(type) {
	case string:
		if err := render.Check(field, p); err != nil {
			v.Add(field, strings.TrimPrefix(err.Error(), field+": "))
		}
	case float64, bool, nil:
	default:
		v.Add(field, "must be a string, number, boolean or null")
	}
}

// placeholderRender fills a template with stand-in values, to check the shape of what it makes.
func placeholderRender(tmpl string) string {
	vars := map[string]string{}
	for _, name := range render.Variables(tmpl) {
		vars[name] = "placeholder"
	}
	out, err := render.Render("", tmpl, &render.Context{Vars: vars, JobID: "job", JobName: "job", ExecutionID: "execution",
		Trigger: "schedule", Payload: []byte(`{}`)})
	if err != nil {
		return "http://placeholder/" // a payload field: known only at run time
	}
	return out
}

func validateHTTP(v *domain.ValidationError, h *domain.HTTPSpec) {
	if h == nil {
		v.Add("http", "is required for an http job")
		return
	}
	if !methods[h.Method] {
		v.Add("http.method", fmt.Sprintf("%q is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS", h.Method))
	}
	// A templated field must parse; a templated URL must still be an http(s) URL once filled.
	rawURL := h.URL
	if err := render.Check("http.url", h.URL); err != nil {
		v.Add("http.url", strings.TrimPrefix(err.Error(), "http.url: "))
		rawURL = ""
	} else if strings.Contains(h.URL, "{{") {
		rawURL = placeholderRender(h.URL)
	}
	for k, val := range h.Headers {
		if err := render.Check("http.headers."+k, val); err != nil {
			v.Add("http.headers."+k, strings.TrimPrefix(err.Error(), "http.headers."+k+": "))
		}
	}
	if err := render.Check("http.body", h.Body); err != nil {
		v.Add("http.body", strings.TrimPrefix(err.Error(), "http.body: "))
	}
	u, err := url.Parse(rawURL)
	switch {
	case h.URL == "":
		v.Add("http.url", "is required")
	case err != nil:
		v.Add("http.url", "is not a valid URL")
	case u.Scheme != "http" && u.Scheme != "https":
		v.Add("http.url", "must be an absolute http:// or https:// URL")
	case u.Hostname() == "":
		v.Add("http.url", "has no host")
	}
	if h.FollowRedirects < 0 || h.FollowRedirects > MaxRedirects {
		v.Add("http.follow_redirects", fmt.Sprintf("must be from 0 (the default: a redirect is the answer) to %d", MaxRedirects))
	}
	if len(h.Headers) > MaxHeaders {
		v.Add("http.headers", fmt.Sprintf("has more than %d headers", MaxHeaders))
	}
	for k, val := range h.Headers {
		if !httpguts.ValidHeaderFieldName(k) {
			v.Add("http.headers", fmt.Sprintf("%q is not a valid header name", k))
		}
		if !httpguts.ValidHeaderFieldValue(val) {
			v.Add("http.headers."+k, "must not contain control characters such as line breaks")
		}
		switch http.CanonicalHeaderKey(k) {
		case "Idempotency-Key":
			v.Add("http.headers."+k, "is set by vecron to the fire's idempotency key")
		case "Host", "Content-Length", "Transfer-Encoding", "Connection", "Upgrade", "Te", "Trailer", "Keep-Alive", "Proxy-Connection":
			// The transport writes these from the URL and the body; a job's value would be
			// ignored or would desynchronise the request.
			v.Add("http.headers."+k, "is set by the HTTP transport, not by a job")
		}
		if len(k) > 256 || len(val) > MaxHeaderValueBytes {
			v.Add("http.headers."+k, fmt.Sprintf("name at most 256 bytes, value at most %d", MaxHeaderValueBytes))
		}
	}
	if len(h.URL) > MaxURLBytes {
		v.Add("http.url", fmt.Sprintf("is longer than %d bytes", MaxURLBytes))
	}
	validateNoCredentials(v, h)
	if len(h.Body) > MaxBodyBytes {
		v.Add("http.body", fmt.Sprintf("is larger than %d bytes", MaxBodyBytes))
	}
}

// credentialHint says where a credential belongs instead of a job's text.
const credentialHint = "holds a credential in clear; keep it in a secret variable and refer to it, e.g. {{ var.API_TOKEN }}"

// passwordHint is credentialHint for a database password.
const passwordHint = "holds a password in clear; keep it in a secret variable and refer to it, e.g. {{ var.DB_PASSWORD }}"

// validateNoCredentials refuses credentials written into a job in clear: a job is read by
// everyone who may read its namespace, returned by the API and kept in its history, while a
// secret variable is sealed, masked and bound to where it may go.
func validateNoCredentials(v *domain.ValidationError, h *domain.HTTPSpec) {
	if i := strings.Index(h.URL, "://"); i >= 0 {
		authority := h.URL[i+3:]
		if j := strings.IndexAny(authority, "/?#"); j >= 0 {
			authority = authority[:j]
		}
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			if _, pw, ok := strings.Cut(authority[:at], ":"); ok && pw != "" && !refersToVariable(pw) {
				v.Add("http.url", "holds a password; "+strings.TrimPrefix(credentialHint, "holds a credential in clear; "))
			}
		}
	}
	if u, err := url.Parse(h.URL); err == nil {
		for k, vals := range u.Query() {
			for _, val := range vals {
				if credentialName(k) && val != "" && !refersToVariable(val) {
					v.Add("http.url", "query parameter "+k+" "+credentialHint)
				}
			}
		}
	}
	for k, val := range h.Headers {
		if credentialName(k) && val != "" && !refersToVariable(val) {
			v.Add("http.headers."+k, credentialHint)
		}
	}
}

// refersToVariable reports whether a credential's value takes its secret from a variable; a
// template of a literal ({{ "sk_live_…" }}) is a credential in clear.
func refersToVariable(val string) bool {
	return len(render.Variables(val)) > 0
}

// credentialName reports whether a header or query parameter named name carries a credential.
func credentialName(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, part := range []string{"token", "secret", "password", "passwd", "api-key", "api_key", "apikey"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}
