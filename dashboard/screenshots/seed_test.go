package screenshots_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/dashboard/dashboardtest"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/store"
)

// demo names what the screenshots of one job and one execution show.
type demo struct{ job, execution string }

// demoJob is a job of the demo and its history: one letter for each of its last fires before
// now, oldest first: S succeeded, F failed, T timed out, K skipped (paused), D dead-lettered
// after three attempts (the execution the screenshots show).
type demoJob struct {
	def     map[string]any
	tags    []string
	history string
	// took is the usual duration of a run.
	took time.Duration
}

func httpJob(ns, name, description, cron, method, url string) map[string]any {
	return map[string]any{"namespace": ns, "name": name, "description": description, "timezone": "Asia/Ho_Chi_Minh",
		"schedule": map[string]string{"cron": cron}, "timeout": "30s", "http": map[string]any{"method": method, "url": url,
			"headers": map[string]string{"Authorization": "Bearer {{ var.CORE_API_TOKEN }}"}},
		"retry": map[string]any{"max_attempts": 3, "backoff": []string{"10s", "30s"}}}
}

func sqlJob(ns, name, description, cron, sql string) map[string]any {
	return map[string]any{"namespace": ns, "name": name, "description": description, "timezone": "Asia/Ho_Chi_Minh",
		"schedule": map[string]string{"cron": cron}, "sql": map[string]any{"driver": "postgres", "dsn": "{{ var.REPORTS_DSN }}",
			"statements": []map[string]any{{"sql": sql}}, "transaction": true}}
}

// demoJobs are what a Vietnamese bank's operators might schedule. The first is the one whose
// page and failed run the screenshots show.
var demoJobs = []demoJob{
	{def: httpJob("payments", "napas-settlement", "Đối soát giao dịch NAPAS 247 với ngân hàng thành viên",
		"0 */15 * * * *", "POST", "https://settlement.example.vn/api/v1/napas/settle"),
		tags:    []string{"napas", "settlement", "tier-1"},
		took:    1800 * time.Millisecond,
		history: "SSSSSSSSFSSSSSSSSSSSSSSSSSKSSSSSSSSSDSSS"},
	{def: httpJob("payments", "vietqr-reconcile", "Khớp lệnh chuyển khoản VietQR chưa xác nhận",
		"0 */5 * * * *", "POST", "https://payments.example.vn/api/v1/vietqr/reconcile"),
		tags:    []string{"vietqr", "tier-1"},
		took:    640 * time.Millisecond,
		history: "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"},
	{def: httpJob("payments", "sbv-exchange-rates", "Cập nhật tỷ giá trung tâm của Ngân hàng Nhà nước",
		"0 0 8-17 * * MON-FRI", "GET", "https://treasury.example.vn/api/v1/fx/sbv/sync"),
		tags:    []string{"treasury", "fx"},
		took:    420 * time.Millisecond,
		history: "SSSSSSSSSSSTSSSSSSSSSS"},
	{def: sqlJob("reports", "daily-balance-report", "Báo cáo số dư cuối ngày gửi khối Tài chính",
		"0 30 6 * * *", "INSERT INTO daily_balances SELECT account_id, sum(amount) FROM ledger WHERE posted_on = current_date - 1 GROUP BY account_id"),
		tags:    []string{"finance", "daily"},
		took:    41 * time.Second,
		history: "SSSSSS"},
	{def: sqlJob("reports", "monthly-e-statements", "Sao kê điện tử hằng tháng cho khách hàng cá nhân",
		"0 0 2 1 * *", "CALL build_e_statements(date_trunc('month', current_date) - interval '1 month')"),
		tags:    []string{"statements"},
		took:    4 * time.Minute,
		history: "S"},
	{def: sqlJob("ops", "ledger-partition-maintenance", "Tạo phân vùng sổ cái tháng tới và dọn phân vùng cũ",
		"0 0 3 * * SUN", "SELECT partman.run_maintenance('public.ledger')"),
		tags:    []string{"maintenance"},
		took:    12 * time.Second,
		history: "SSS"},
	{def: httpJob("ops", "core-banking-healthcheck", "Kiểm tra sức khoẻ hệ thống core banking",
		"0 * * * * *", "GET", "https://core.example.vn/healthz"),
		tags:    []string{"core", "tier-1"},
		took:    85 * time.Millisecond,
		history: "SSSSSSSSSSSSSSSSSSSSSSSSSSSSSSSFFSSSSSSSSSSSSSSSSSSSSSSSSSSSSS"},
}

// seed creates the demo's variables and jobs through the API, and their history through the
// store's paths the executors take.
func seed(t *testing.T, srv *dashboardtest.Server, token string) demo {
	t.Helper()
	for _, v := range []map[string]any{
		{"name": "CORE_API_TOKEN", "value": "demo-token", "is_secret": true, "allowed_hosts": []string{"*.example.vn"}},
		{"name": "REPORTS_DSN", "value": "postgres://reports@reports-db.internal:5432/reports", "is_secret": true,
			"namespaces": []string{"reports", "ops"}},
	} {
		body, err := json.Marshal(v)
		require.NoError(t, err)
		code, resp := srv.API(t, token, http.MethodPost, "/api/v1/variables", string(body))
		require.Equal(t, http.StatusCreated, code, resp)
	}
	now := time.Now().UTC()
	var out demo
	for _, dj := range demoJobs {
		// A copy: demoJobs is shared by every caller, so its maps are only read.
		def := maps.Clone(dj.def)
		def["tags"] = dj.tags
		body, err := json.Marshal(def)
		require.NoError(t, err)
		code, resp := srv.API(t, token, http.MethodPost, "/api/v1/jobs", string(body))
		require.Equal(t, http.StatusCreated, code, resp)
		var j domain.Job
		require.NoError(t, json.Unmarshal([]byte(resp), &j))
		for k, at := range pastFires(t, &j, len(dj.history), now) {
			if dj.history[k] == 'D' {
				out.job, out.execution = j.ID, gaveUp(t, srv.Store, &j, at).ID
				continue
			}
			// Durations vary a little, the same way on every run of the screenshots.
			took := dj.took + dj.took*time.Duration((k*37)%23)/50
			record(t, srv.Store, &j, dj.history[k], at, took)
		}
	}
	require.NotEmpty(t, out.execution, "a demo job has a dead-lettered fire")
	return out
}

// pastFires returns the last n fires of j's schedule up to now, so that the history reads as
// the schedule's: a weekday job has no runs on a Sunday.
func pastFires(t *testing.T, j *domain.Job, n int, now time.Time) []time.Time {
	t.Helper()
	s, err := schedule.ForJob(j)
	require.NoError(t, err)
	for span := time.Hour; span < 60*24*time.Hour; span *= 2 {
		var fires []time.Time
		for at, ok := s.Next(now.Add(-span)); ok && !at.After(now); at, ok = s.Next(at) {
			fires = append(fires, at)
		}
		if len(fires) >= n {
			return fires[len(fires)-n:]
		}
	}
	t.Fatalf("%s has fewer than %d fires in the last 60 days", j.Name, n)
	return nil
}

// record records j's fire at `at` as the executor would have: started then finished, or
// skipped.
func record(t *testing.T, st *store.Store, j *domain.Job, outcome byte, at time.Time, took time.Duration) {
	t.Helper()
	at = at.UTC().Truncate(time.Microsecond)
	end := at.Add(took)
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at,
		StartedAt: &at, Status: domain.StatusRunning, Attempt: 1, WorkerID: worker(j)}
	if outcome == 'K' {
		e.StartedAt, e.Status, e.FinishedAt, e.WorkerID = nil, domain.StatusSkipped, &at, ""
		e.Error = "skipped: the job was paused before this fire started"
		_, err := st.RecordSkipped(t.Context(), e)
		require.NoError(t, err)
		return
	}
	_, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Hour})
	require.NoError(t, err)
	a := &domain.Attempt{Attempt: 1, StartedAt: &at, FinishedAt: end, DurationMS: float64(took.Milliseconds()), WorkerID: e.WorkerID}
	switch outcome {
	case 'S':
		a.Status = domain.StatusSucceeded
		if j.Kind == domain.KindHTTP {
			a.HTTPStatus, e.ResponseExcerpt = http.StatusOK, `{"status":"ok"}`
		}
	case 'F':
		a.Status, a.HTTPStatus, a.Error = domain.StatusFailed, http.StatusServiceUnavailable, "target answered 503 Service Unavailable"
	case 'T':
		a.Status, a.Error = domain.StatusTimedOut, j.HTTP.Method+" request: timed out"
	}
	e.Status, e.FinishedAt, e.DurationMS, e.HTTPStatus, e.Error = a.Status, &end, a.DurationMS, a.HTTPStatus, a.Error
	require.NoError(t, st.FinishExecution(t.Context(), e, a))
}

// gaveUp records j's fire at `at` whose three attempts failed and which was dead-lettered, as
// the executor records retries: each attempt starts the same execution again.
func gaveUp(t *testing.T, st *store.Store, j *domain.Job, at time.Time) *domain.Execution {
	t.Helper()
	attempts := []struct {
		after, took time.Duration
		http        int
		err         string
	}{
		{0, 2100 * time.Millisecond, http.StatusBadGateway, "target answered 502 Bad Gateway"},
		{12 * time.Second, 1900 * time.Millisecond, http.StatusBadGateway, "target answered 502 Bad Gateway"},
		{44 * time.Second, 30 * time.Second, 0, j.HTTP.Method + " request: timed out"},
	}
	e := &domain.Execution{ID: uuid.Must(uuid.NewV7()).String(), JobID: j.ID, JobVersion: j.Version,
		IdempotencyKey: domain.ScheduledKey(j.ID, at), Trigger: domain.TriggerSchedule, ScheduledAt: at}
	for n, a := range attempts {
		started := at.Add(a.after)
		finished := started.Add(a.took)
		e.StartedAt, e.Status, e.Attempt, e.WorkerID = &started, domain.StatusRunning, n+1, fmt.Sprintf("execute-http-%d", n)
		_, err := st.StartExecution(t.Context(), e, store.StartParams{StaleAfter: time.Hour})
		require.NoError(t, err)
		status := domain.StatusFailed
		if a.http == 0 {
			status = domain.StatusTimedOut
		}
		rec := &domain.Attempt{Attempt: n + 1, StartedAt: &started, FinishedAt: finished, Status: status, HTTPStatus: a.http,
			DurationMS: float64(a.took.Milliseconds()), Error: a.err, WorkerID: e.WorkerID}
		next := at.Add(attempts[min(n+1, len(attempts)-1)].after)
		e.Status, e.HTTPStatus, e.Error, e.NextAttemptAt, e.FinishedAt, e.DurationMS = domain.StatusQueued, a.http, a.err, &next, nil, rec.DurationMS
		e.ResponseExcerpt = ""
		if a.http != 0 {
			e.ResponseExcerpt = "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
		}
		if n == len(attempts)-1 {
			e.Status, e.FinishedAt, e.NextAttemptAt = domain.StatusDeadLettered, &finished, nil
			e.Error = "gave up after 3 attempts: " + a.err
		}
		require.NoError(t, st.FinishExecution(t.Context(), e, rec))
	}
	return e
}

// worker names the executor a job's runs would go to.
func worker(j *domain.Job) string {
	if j.Kind == domain.KindSQL {
		return "execute-db-0"
	}
	return "execute-http-0"
}
