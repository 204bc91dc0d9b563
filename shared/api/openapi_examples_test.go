package api

import (
	"net/http"
	"reflect"
	"time"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/timeline"
	"github.com/vecron/vecron/shared/variables"
)

// Examples of the document. Request examples are JSON texts as a client writes them; response
// examples are values of the types the handlers encode. The document's validation checks every
// one against its schema, so an example cannot drift from its type either.

// typeExamples holds an example of every type a route reads or writes; a page of T is made
// of T's example.
func typeExamples() map[reflect.Type]any {
	at := func(s string) time.Time {
		t, _ := time.Parse(time.RFC3339, s)
		return t
	}
	created, next, fired := at("2026-03-01T03:00:00Z"), at("2026-03-02T19:30:00Z"), at("2026-03-01T19:30:00Z")
	finished := fired.Add(1200 * time.Millisecond)
	rate, p50, p95 := 0.96, 180.0, 940.0
	job := domain.Job{ID: exampleJobID, Namespace: "payments", Name: "nightly-settlement",
		Description: "Settle the day's card payments with the acquirer", Kind: domain.KindHTTP,
		HTTP: &domain.HTTPSpec{Method: http.MethodPost, URL: "https://settlement.example.com/api/run",
			Headers: map[string]string{"Authorization": "Bearer {{ var.SETTLEMENT_TOKEN }}"}, Body: `{"job":"{{ job.name }}"}`},
		Schedule: domain.Schedule{Kind: domain.ScheduleCron, Cron: "0 30 2 * * *"}, Timezone: domain.DefaultTimezone,
		Enabled: true, Timeout: domain.Duration(45 * time.Second), MisfirePolicy: domain.MisfireFireOnce,
		ConcurrencyPolicy: domain.ConcurrencyForbid, Retry: domain.RetryPolicy{MaxAttempts: 5, Backoff: domain.BackoffDefault()},
		State: domain.StateScheduled, NextRunAt: &next, Shard: 93, Version: 3, CreatedAt: created, UpdatedAt: created,
		CreatedBy: "minh.nguyen", UpdatedBy: "minh.nguyen"}
	execution := domain.Execution{ID: exampleExecutionID, JobID: exampleJobID, JobVersion: 3,
		IdempotencyKey: exampleJobID + ":1772393400000", Trigger: domain.TriggerSchedule, ScheduledAt: fired,
		StartedAt: &fired, FinishedAt: &finished, Status: domain.StatusSucceeded, Attempt: 1, HTTPStatus: 200,
		DurationMS: 1200, ResponseExcerpt: `{"settled":1284}`, WorkerID: "execute-http-7d9f-1",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	user := domain.User{ID: exampleUserID, Username: "minh.nguyen", DisplayName: "Nguyễn Văn Minh",
		Source: domain.UserSourceDatabase, CreatedAt: created, UpdatedAt: created}
	binding := domain.RoleBinding{ID: "0193b6f2-3e4f-7a5b-9c6d-7e8f9a0b1c2d", Role: "editor", UserID: exampleUserID,
		Namespace: "payments", CreatedAt: created}
	expires := at("2026-09-01T00:00:00Z")
	token := domain.APIToken{ID: "0193b6f4-5a6b-7c7d-8e8f-9a0b1c2d3e4f", UserID: exampleUserID, Name: "ci-deploy",
		Scopes: []domain.Permission{domain.PermJobRead, domain.PermJobWrite}, Namespace: "payments", ExpiresAt: &expires,
		CreatedAt: created}
	definition := jobs.DefinitionOf(&job)
	calendar := domain.Calendar{Name: "vn-holidays", Namespace: domain.AllNamespaces, Description: "Vietnamese public holidays and weekends",
		ExcludedDates: []domain.CalendarDate{{Date: "01-01", Label: "Tết Dương lịch"}, {Date: "2026-02-17", Label: "Tết Nguyên Đán"},
			{Date: "04-30", Label: "Ngày Giải phóng miền Nam"}, {Date: "09-02", Label: "Quốc khánh"}},
		Weekdays: []string{"mon", "tue", "wed", "thu", "fri"}, Version: 4, CreatedAt: created, UpdatedAt: created,
		CreatedBy: "minh.nguyen", UpdatedBy: "minh.nguyen"}
	replanned := 12
	freezeStart, freezeEnd := at("2026-02-14T17:00:00Z"), at("2026-02-22T17:00:00Z")
	expiresChange := created.Add(7 * 24 * time.Hour)
	change := domain.Change{ID: "0193b8a1-2c3d-7e4f-8a9b-0c1d2e3f4a5b", Namespace: "payments", Action: domain.ChangeUpdate,
		JobID: exampleJobID, BaseVersion: 3, Definition: &definition,
		Diff:        []domain.FieldChange{{Path: "timeout", Old: "30s", New: "45s"}},
		RequestedBy: "minh.nguyen", RequestedAt: created, ExpiresAt: expiresChange, Status: domain.ChangePending}
	updatedSettings := created
	seen, idle, identityUntil := at("2026-03-01T04:12:00Z"), at("2026-03-01T05:12:00Z"), at("2026-03-01T04:17:00Z")
	session := domain.SessionInfo{ID: "0193b9d0-1a2b-7c3d-8e4f-5a6b7c8d9e0f", Mode: identity.ModeOIDC,
		Subject: "f1c2a3b4-5d6e-4f70-8a9b-0c1d2e3f4a5b", Username: "lan.tran", Groups: []string{"payments-ops"},
		CreatedAt: created, LastSeenAt: seen, IdleExpiresAt: idle, ExpiresAt: created.Add(12 * time.Hour), IdentityExpiresAt: &identityUntil}
	ended := session
	ended.EndedAt = &seen
	return map[reflect.Type]any{
		reflect.TypeFor[domain.SessionInfo]():       session,
		reflect.TypeFor[endSessionsRequest]():       `{"subject":"f1c2a3b4-5d6e-4f70-8a9b-0c1d2e3f4a5b"}`,
		reflect.TypeFor[endedSessions]():            endedSessions{Ended: 1, Sessions: []*domain.SessionInfo{&ended}},
		reflect.TypeFor[domain.Change]():            change,
		reflect.TypeFor[decisionRequest]():          `{"comment":"checked with finance"}`,
		reflect.TypeFor[namespaceSettingsRequest](): `{"four_eyes":true,"change_expiry":"72h"}`,
		reflect.TypeFor[domain.NamespaceSettings](): domain.NamespaceSettings{Namespace: "payments", FourEyes: true,
			ChangeExpiry: domain.Duration(72 * time.Hour), UpdatedAt: &updatedSettings, UpdatedBy: "minh.nguyen"},
		reflect.TypeFor[exportDocument](): exportDocument{Jobs: []jobs.Definition{definition}},
		reflect.TypeFor[applyDocument](): `{"jobs":[{"name":"nightly-settlement","namespace":"payments",` +
			`"http":{"method":"POST","url":"https://settlement.example.com/api/run"},"schedule":{"cron":"0 30 2 * * *"}}],` +
			`"prune":false,"dry_run":true}`,
		reflect.TypeFor[applyResponse](): applyResponse{DryRun: true, Plan: []planItem{{Namespace: "payments", Name: "nightly-settlement",
			Action: jobs.ActionUpdate, Diff: []jobs.FieldChange{{Path: "schedule.cron", Old: "0 0 2 * * *", New: "0 30 2 * * *"}}}}},
		reflect.TypeFor[calendarRequest](): `{"name":"vn-holidays","namespace":"*","description":"Vietnamese public holidays and weekends",` +
			`"excluded_dates":[{"date":"01-01","label":"Tết Dương lịch"},{"date":"2026-02-17","label":"Tết Nguyên Đán"}],` +
			`"weekdays":["mon","tue","wed","thu","fri"]}`,
		reflect.TypeFor[calendarResponse](): calendarResponse{Calendar: &calendar, ReplannedJobs: &replanned},
		reflect.TypeFor[domain.Calendar]():  calendar,
		reflect.TypeFor[freezeRequest]():    `{"namespace":"payments","reason":"Tết change freeze","starts_at":"2026-02-14T17:00:00Z","ends_at":"2026-02-22T17:00:00Z"}`,
		reflect.TypeFor[domain.Freeze](): domain.Freeze{ID: "0193b8c4-7d8e-7f9a-8b0c-1d2e3f4a5b6c", Namespace: "payments",
			Reason: "Tết change freeze", StartsAt: freezeStart, EndsAt: freezeEnd, CreatedAt: created, CreatedBy: "minh.nguyen", Active: true},
		reflect.TypeFor[jobRequest](): `{"name":"nightly-settlement","namespace":"payments",` +
			`"description":"Settle the day's card payments with the acquirer",` +
			`"http":{"method":"POST","url":"https://settlement.example.com/api/run",` +
			`"headers":{"Authorization":"Bearer {{ var.SETTLEMENT_TOKEN }}"}},` +
			`"schedule":{"cron":"0 30 2 * * *"},"timezone":"Asia/Ho_Chi_Minh","timeout":"45s",` +
			`"concurrency_policy":"forbid","retry":{"max_attempts":5,"backoff":["10s","1m","5m"]}}`,
		reflect.TypeFor[domain.Job](): job,
		reflect.TypeFor[jobListItem](): jobListItem{Job: &job, Stats: &domain.JobStats{JobID: exampleJobID,
			WindowFrom: at("2026-02-22T03:00:00Z"), Counts: domain.OutcomeCounts{Succeeded: 24, Failed: 1},
			SuccessRate: &rate, LastSuccessAt: &finished, LastOutcomes: []domain.Outcome{{ExecutionID: exampleExecutionID,
				Status: domain.StatusSucceeded, ScheduledAt: fired, FinishedAt: &finished}},
			Duration: domain.DurationStats{P50: &p50, P95: &p95, Samples: 25}}},
		reflect.TypeFor[upstreamResponse](): upstreamResponse{Items: []domain.UpstreamJob{{ID: "0193b7c4-5e1f-7c2a-9d3e-8f00aa11bb22",
			Namespace: "payments", Name: "extract-settlements", Conditions: []string{"on_success"}}}, Hidden: 1},
		reflect.TypeFor[timeline.Execution](): timelineExample(execution, fired, finished),
		reflect.TypeFor[firesResponse]():      firesExample(fired),
		reflect.TypeFor[domain.JobStats](): domain.JobStats{JobID: exampleJobID, WindowFrom: at("2026-02-22T03:00:00Z"),
			Counts: domain.OutcomeCounts{Succeeded: 24, Failed: 1}, SuccessRate: &rate, LastSuccessAt: &finished,
			LastOutcomes: []domain.Outcome{{ExecutionID: exampleExecutionID, Status: domain.StatusSucceeded,
				ScheduledAt: fired, FinishedAt: &finished}},
			Duration: domain.DurationStats{P50: &p50, P95: &p95, Samples: 25}},
		reflect.TypeFor[domain.Execution](): execution,
		reflect.TypeFor[jobAlerts](): jobAlerts{Policy: domain.AlertPolicy{AfterFailures: 3}, ConsecutiveFailures: 4, Alerted: true,
			Alerts: []*domain.Alert{{ID: 17, JobID: exampleJobID, Namespace: "payments", JobName: "nightly-settlement",
				State: domain.AlertFiring, ConsecutiveFailures: 3, Threshold: 3, LastError: "target answered 503 Service Unavailable",
				ExecutionID: exampleExecutionID, CreatedAt: finished,
				Deliveries: map[string]*domain.AlertDelivery{
					"events":    {State: domain.DeliveryDelivered, Attempts: 1, At: &finished},
					"ops-slack": {State: domain.DeliveryDelivered, Attempts: 2, At: &finished}}}}},
		reflect.TypeFor[cloneRequest]():   `{"name":"nightly-settlement-copy","namespace":"payments-staging"}`,
		reflect.TypeFor[triggerRequest](): `{"payload":{"reason":"re-run after the acquirer's outage"}}`,
		reflect.TypeFor[triggerResponse](): triggerResponse{ExecutionID: exampleExecutionID,
			IdempotencyKey: exampleJobID + ":manual:01JNR8Z6W4K3V2Q9M7B5X1C0D8", Status: domain.StatusQueued},
		reflect.TypeFor[cloudEventDoc](): `{"specversion":"1.0","id":"order-1042-paid","source":"/shop/orders","type":"com.example.order.paid","datacontenttype":"application/json","data":{"order_id":1042,"amount":250000}}`,
		reflect.TypeFor[eventsResponse](): eventsResponse{Executions: []jobs.EventExecution{{EventID: "order-1042-paid", EventSource: "/shop/orders",
			JobID: exampleJobID, ExecutionID: exampleExecutionID, IdempotencyKey: exampleJobID + ":event:/shop/orders/order-1042-paid",
			Status: domain.StatusQueued}}},
		reflect.TypeFor[webhookDoc](): `{"order_id":1042,"status":"paid"}`,
		reflect.TypeFor[jobs.WebhookRun](): jobs.WebhookRun{ExecutionID: exampleExecutionID,
			IdempotencyKey: exampleJobID + ":webhook:5d41402abc4b2a76b9719d911017c592ae2d8b5e0bd1a5c1b7e3e1f9a3d4c5b6", Status: domain.StatusQueued},
		reflect.TypeFor[domain.Webhook](): exampleWebhook(created),
		reflect.TypeFor[domain.MissedFire](): domain.MissedFire{Key: exampleJobID + ":1772393400000", JobID: exampleJobID,
			Namespace: "payments", ScheduledAt: fired, DetectedAt: fired.Add(70 * time.Second), Stage: domain.MissedUndelivered,
			StreamSeq: 48213, Consumer: "execute-http", Detail: "in the due stream; consumer execute-http never delivered it (no executor pulling)",
			StartedAt: &finished, ExecutionID: exampleExecutionID, ExecutionStatus: domain.StatusSucceeded},
		reflect.TypeFor[jobs.EnabledWebhook](): jobs.EnabledWebhook{Webhook: exampleWebhook(created),
			URLPath: "/hooks/vwh_Q2x1Y2tfdGhpc19pc19hbl9leGFtcGxlX3Rva2VuX29r", Token: "vwh_Q2x1Y2tfdGhpc19pc19hbl9leGFtcGxlX3Rva2VuX29r",
			Secret: "whsec_RXhhbXBsZV9zZWNyZXRfbmV2ZXJfdXNlX3RoaXNfb25l"},
		reflect.TypeFor[cancelRequest]():        `{"reason":"the acquirer asked us to hold today's run"}`,
		reflect.TypeFor[jobs.BackfillRequest](): `{"from":"2026-02-20T00:00:00+07:00","to":"2026-02-23T00:00:00+07:00","dry_run":true}`,
		reflect.TypeFor[jobs.BackfillResult](): jobs.BackfillResult{DryRun: true, Fires: []jobs.BackfillFire{
			{ScheduledAt: at("2026-02-20T19:30:00Z"), Local: "2026-02-21T02:30:00+07:00", AlreadyRan: true},
			{ScheduledAt: at("2026-02-21T19:30:00Z"), Local: "2026-02-22T02:30:00+07:00"}}},
		reflect.TypeFor[previewRequest](): `{"schedule":{"cron":"0 30 2 * * *"},"timezone":"America/New_York","after":"2026-03-07T00:00:00Z","count":2}`,
		reflect.TypeFor[previewResponse](): previewResponse{Timezone: "America/New_York", Fires: []previewFire{
			{At: at("2026-03-07T07:30:00Z"), Local: "2026-03-07T02:30:00-05:00"},
			{At: at("2026-03-08T07:00:00Z"), Local: "2026-03-08T03:00:00-04:00", Notes: []schedule.Note{{Kind: schedule.NoteDSTGapShifted,
				Detail: "2026-03-08 02:30 does not exist in America/New_York; fired when the gap ended, at 03:00 EDT"}}}}},
		reflect.TypeFor[loginRequest]():   `{"username":"minh.nguyen","password":"correct horse battery staple"}`,
		reflect.TypeFor[refreshRequest](): `{"refresh_token":"vcr_3kq9R2mXw7TzP4bN8sLd1Yf6Hc0Ja5Ue"}`,
		reflect.TypeFor[identity.Tokens](): identity.Tokens{AccessToken: "eyJhbGciOiJFZERTQSIsImtpZCI6IjEifQ.eyJzdWIiOiJtaW5oIn0.c2ln",
			TokenType: "Bearer", ExpiresIn: 900, RefreshToken: "vcr_3kq9R2mXw7TzP4bN8sLd1Yf6Hc0Ja5Ue"},
		reflect.TypeFor[passwordChange](): `{"current_password":"correct horse battery staple","new_password":"a longer passphrase of mine"}`,
		reflect.TypeFor[meResponse](): meResponse{Subject: exampleUserID, Name: "minh.nguyen", Kind: "user", Mode: identity.ModeDatabase,
			UserID: exampleUserID, Bindings: []*domain.RoleBinding{&binding},
			Permissions: map[string][]domain.Permission{"payments": {domain.PermJobRead, domain.PermJobWrite, domain.PermExecutionRead}}},
		reflect.TypeFor[variableRequest]():      `{"name":"SETTLEMENT_TOKEN","value":"s3cr3t","is_secret":true,"allowed_hosts":["settlement.example.com"]}`,
		reflect.TypeFor[variables.PutRequest](): `{"value":"https://settlement.example.com"}`,
		reflect.TypeFor[domain.Variable](): domain.Variable{ID: "0193b7d0-6a7b-7c8d-9e0f-1a2b3c4d5e6f", Name: "SETTLEMENT_TOKEN",
			Scope: domain.ScopeGlobal, IsSecret: true, Masked: "••••••", AllowedHosts: []string{"settlement.example.com"},
			CreatedAt: created, UpdatedAt: created},
		reflect.TypeFor[tokenRequest]():    `{"name":"ci-deploy","scopes":["job:read","job:write"],"namespace":"payments","expires_at":"2026-09-01T00:00:00Z"}`,
		reflect.TypeFor[createdToken]():    createdToken{APIToken: &token, Token: "vct_9fK2mQ7xR4tW1zB8nL5sD3hJ6cV0pY2a"},
		reflect.TypeFor[domain.APIToken](): token,
		reflect.TypeFor[audit.Record](): audit.Record{Seq: 1042, Time: created, ActorID: exampleUserID, ActorName: "minh.nguyen",
			ActorKind: "user", AuthMode: identity.ModeDatabase, Action: "job.update", ObjectKind: "job", ObjectID: exampleJobID,
			Namespace: "payments", Before: []byte(`{"timeout":"30s"}`), After: []byte(`{"timeout":"45s"}`),
			SourceIP: "10.20.0.7", UserAgent: "vecron-cli/1.4", RequestID: "01JNR8Z6W4K3V2Q9M7B5X1C0D8", KeyID: "2026-01",
			PrevMAC: []byte("previous row's HMAC-SHA256 \x00\x01"), MAC: []byte("this row's HMAC-SHA256 \x02\x03\x04")},
		reflect.TypeFor[userRequest]():        `{"username":"lan.tran","display_name":"Trần Thị Lan","password":"a long enough password"}`,
		reflect.TypeFor[userPatch]():          `{"disabled":true}`,
		reflect.TypeFor[domain.User]():        user,
		reflect.TypeFor[roleRequest]():        `{"description":"Reads jobs and their history","permissions":["job:read","execution:read"]}`,
		reflect.TypeFor[domain.Role]():        domain.Role{Name: "auditor", Description: "Reads jobs and their history", Permissions: []domain.Permission{domain.PermJobRead, domain.PermExecutionRead}},
		reflect.TypeFor[bindingRequest]():     `{"role":"editor","user_id":"` + exampleUserID + `","namespace":"payments"}`,
		reflect.TypeFor[domain.RoleBinding](): binding,
		reflect.TypeFor[map[string]string]():  map[string]string{"status": "ok"},
		reflect.TypeFor[map[string]any]():     map[string]any{},
	}
}

// exampleWebhook is a job's webhook as GET tells it.
func exampleWebhook(created time.Time) domain.Webhook {
	return domain.Webhook{JobID: exampleJobID, Enabled: true, TokenHint: "vwh_Q2x1", PathHint: "/hooks/vwh_Q2x1…",
		CreatedAt: created, CreatedBy: "minh.nguyen"}
}

// timelineExample is the timeline of the example execution, published by a tick and pulled.
func timelineExample(e domain.Execution, fired, finished time.Time) timeline.Execution {
	claimed, stored := fired.Add(-1250*time.Millisecond), fired.Add(-500*time.Millisecond)
	return timeline.ForExecution(&e, &domain.DeliveryFacts{ClaimedBy: "tick-0", ClaimedAt: &claimed, PublishedAt: &stored,
		StreamSeq: 481516, Consumer: "execute-http", DeliveryCount: 1},
		[]domain.Attempt{{Attempt: 1, StartedAt: &fired, FinishedAt: finished, Status: domain.StatusSucceeded, HTTPStatus: 200,
			DurationMS: 1200, WorkerID: e.WorkerID}})
}

// firesExample is two days of a nightly job: one fire ran, one fell on an excluded date.
func firesExample(fired time.Time) firesResponse {
	loc, _ := time.LoadLocation(domain.DefaultTimezone)
	next := fired.Add(24 * time.Hour)
	return firesResponse{JobID: exampleJobID, Timezone: domain.DefaultTimezone, From: fired.Add(-time.Hour), To: next.Add(time.Hour),
		Fires: []timeline.Fire{
			{At: fired, Local: fired.In(loc).Format("2006-01-02 15:04:05 MST"), Expected: true, Trigger: domain.TriggerSchedule,
				ExecutionID: exampleExecutionID, Status: domain.StatusSucceeded},
			{At: next, Local: next.In(loc).Format("2006-01-02 15:04:05 MST"), Expected: true, Trigger: domain.TriggerSchedule,
				Reason: timeline.ReasonExcludedDate, Detail: "no fire on 2026-03-03: Ngày lễ (calendar vn-holidays)"},
		}}
}
