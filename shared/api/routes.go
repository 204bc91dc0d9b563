package api

import (
	"net/http"

	"github.com/vecron/vecron/shared/audit"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/identity"
	"github.com/vecron/vecron/shared/jobs"
	"github.com/vecron/vecron/shared/server"
	"github.com/vecron/vecron/shared/timeline"
	"github.com/vecron/vecron/shared/variables"
	"github.com/vecron/vecron/shared/webhook"
)

// access is what a route asks of its caller.
type access struct {
	// public routes need no credential.
	public bool
	// perm is the permission the caller must hold in at least one namespace to reach the
	// handler, which then checks it in the namespace of the object at hand. Empty with public
	// false: any signed-in caller (their own profile, password and tokens).
	perm domain.Permission
}

var (
	public   = access{public: true}
	signedIn = access{}
)

func need(p domain.Permission) access { return access{perm: p} }

// route is one entry of the route table, with its documentation: the OpenAPI document is
// generated from this table (see op).
type route struct {
	method, pattern string
	access          access
	handler         http.HandlerFunc
	doc             op
}

// routes is the API's one route table: every route, the permission it needs and its
// documentation. The router and the OpenAPI document are built from it alone; a test walks the
// router to prove that no route escapes it, checks every route against every built-in role in its
// own and in another namespace, and checks that the document has every route and nothing else.
func (s *Server) routes() []route {
	const v1 = "/api/v1"
	jobVars, globalVars := s.variableHandlers(domain.ScopeJob), s.variableHandlers(domain.ScopeGlobal)
	ifMatch := inHeader("If-Match", "The ETag of the version the edit is made on, or * for whatever version is current.", `"3"`).must()
	ifMatchOptional := inHeader("If-Match", "The ETag of the version the delete is made on; left out, whatever version is current.", `"3"`)
	jobRead, varRead := need(domain.PermJobRead), need(domain.PermVariableRead)
	var (
		jobPage  page[jobListItem]
		missPage page[domain.MissedFire]
		execPage page[*domain.Execution]
		varPage  page[*domain.Variable]
	)
	return []route{
		{http.MethodGet, server.LivePath, public, s.live, op{summary: "Liveness probe", resp: map[string]string{}}},
		{http.MethodGet, server.ReadyPath, public, s.ready, op{summary: "Readiness probe",
			description: "200 when every dependency answers, 503 naming the one that does not.",
			resp:        map[string]string{}, also: []int{http.StatusServiceUnavailable}, respExample: `{"postgres":"ok"}`}},
		{http.MethodGet, openAPIPath, public, s.serveOpenAPI, op{summary: "This OpenAPI document", tag: "docs",
			description: "Generated from the route table and the Go types of the handlers; it changes only with the binary (ETag).",
			resp:        map[string]any{}, respExample: `{"openapi":"3.1.0"}`, headers: []string{"ETag"}}},
		{http.MethodGet, docsPath, public, s.serveDocs, op{summary: "The API reference page", tag: "docs", respType: "text/html"}},
		{http.MethodGet, docsPath + "/init.js", public, s.serveDocs, op{summary: "The reference page's script", tag: "docs", respType: "text/javascript"}},
		{http.MethodGet, docsPath + "/swagger-ui-bundle.js", public, s.serveDocs, op{summary: "The reference page's renderer", tag: "docs", respType: "text/javascript"}},
		{http.MethodGet, docsPath + "/swagger-ui.css", public, s.serveDocs, op{summary: "The reference page's style sheet", tag: "docs", respType: "text/css"}},

		{http.MethodPost, EventsPath, need(domain.PermEventPublish), s.ingestEvents, op{summary: "Publish CloudEvents to start jobs",
			description: "CloudEvents 1.0 in binary, structured or batch HTTP mode (as a Knative Trigger sends them) start the enabled jobs whose event trigger matches, in the namespaces where the caller holds both event:publish and job:execute: one execution per job and event, however often the event is delivered (key <job id>:event:<source>/<id>). 202 with the executions, recorded queued (skipped when over the job's max_rate); 200 with none when nothing matched; 503 when a matching job's max_rate cannot be checked.",
			tag:         "events", body: cloudEventDoc{}, bodyTypes: []string{"application/cloudevents+json", batchMediaType, "application/json"},
			bodyExample: `{"specversion":"1.0","id":"order-1042-paid","source":"/shop/orders","type":"com.example.order.paid","datacontenttype":"application/json","data":{"order_id":1042,"amount":250000}}`,
			resp:        eventsResponse{}, also: []int{http.StatusAccepted},
			errs: []int{http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable}}},

		// Public: the token addresses the webhook, the signature authenticates the call
		// (ARCHITECTURE §11: "webhooks authenticate by their own signature").
		{http.MethodPost, hooksPattern, public, s.callHook, op{summary: "Call a job's webhook",
			description: "Starts the job, once per signed call however often it is delivered (key <job id>:webhook:<signature>). Sign with the webhook's secret: X-Vecron-Timestamp is the Unix time in seconds, within 5 minutes of the server's; X-Vecron-Signature is sha256= and the hex HMAC-SHA256 of \"<timestamp>.<body>\". The body's type is one the job's webhook trigger declares (application/json by default), at most 64 KiB; templates read trigger.webhook.body, query and the declared headers. 202 with the execution, recorded queued; 401 for a missing, stale or wrong signature; 403 when the webhook or its job is disabled; 404 for a token that is not one (or was regenerated); 429 over the job's rate limit, with Retry-After; 503, with Retry-After, when the rate limiter or the key that sealed the webhook's secret is not available.",
			tag:         "webhooks", body: webhookDoc{}, bodyTypes: []string{"application/json"},
			params: []param{inHeader(webhook.HeaderTimestamp, "The time of the call in Unix seconds.", "1772355600").must(),
				inHeader(webhook.HeaderSignature, "sha256= and the hex HMAC-SHA256, under the webhook's secret, of \"<timestamp>.<body>\".", "sha256=5d41402abc4b2a76b9719d911017c592ae2d8b5e0bd1a5c1b7e3e1f9a3d4c5b6").must()},
			bodyExample: `{"order_id":1042,"status":"paid"}`, status: http.StatusAccepted, resp: jobs.WebhookRun{}, headers: []string{"Location", "Idempotent-Replayed"},
			errs: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge, http.StatusTooManyRequests, http.StatusServiceUnavailable}}},

		{http.MethodPost, v1 + "/auth/login", public, s.login, op{summary: "Sign in with a password",
			description: "Answers an access token and a refresh token. Repeated failures from one address or for one user are slowed down with 429.",
			body:        loginRequest{}, resp: identity.Tokens{}, errs: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests}}},
		{http.MethodPost, v1 + "/auth/refresh", public, s.refresh, op{summary: "Trade a refresh token for new tokens",
			description: "The refresh token is used up: a second use of the same one ends the whole session.",
			body:        refreshRequest{}, resp: identity.Tokens{}, errs: []int{http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests}}},
		{http.MethodPost, v1 + "/auth/logout", public, s.logout, op{summary: "End the session of a refresh token", body: refreshRequest{}}},
		{http.MethodGet, v1 + "/auth/me", signedIn, s.me, op{summary: "Who the caller is, and their permissions by namespace", resp: meResponse{}}},
		{http.MethodPost, v1 + "/auth/password", signedIn, s.changeOwnPassword, op{summary: "Change one's own password",
			description: "For users signed in with a password; their other sessions end.", body: passwordChange{}, errs: []int{http.StatusTooManyRequests}}},
		{http.MethodGet, v1 + "/auth/jwks", public, s.jwks, op{summary: "The public keys of the access tokens (JWK set, RFC 7517)",
			resp: map[string]any{}, respType: "application/jwk-set+json",
			respExample: `{"keys":[{"kty":"OKP","crv":"Ed25519","use":"sig","kid":"2026-01","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`, errs: []int{http.StatusNotFound}}},

		{http.MethodPost, v1 + "/jobs", need(domain.PermJobWrite), s.createJob, op{summary: "Create a job", proposed: true,
			body: jobRequest{}, status: http.StatusCreated, resp: domain.Job{}, headers: []string{"ETag", "Location"}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/jobs", jobRead, s.listJobs, op{summary: "List jobs", resp: jobPage,
			params: append([]param{query("namespace", "Keep the jobs of this namespace.", "payments"),
				query("q", "Keep the jobs whose name holds this text, ignoring case.", "settle"),
				query("name", "Keep the jobs of exactly this name (one per namespace).", "settle-payments"),
				query("id", "Keep the jobs of these ids: repeat the parameter, at most 100 times (set limit to list them all).", exampleJobID).format("uuid").many(maxListIDs),
				query("kind", "Keep the jobs of this kind.", "http").oneOf(string(domain.KindHTTP), string(domain.KindSQL)),
				query("state", "Keep the jobs in this state.", domain.StatePaused).oneOf(jobStates...),
				taggedParam(),
				query("include", "Add to each job: stats (its statistics).", "stats").oneOf("stats")}, pageParams()...)}},
		{http.MethodGet, v1 + "/jobs/export", jobRead, s.exportJobs, op{summary: "Export job definitions",
			description: "Every job of the namespace (or of every namespace the caller may read) as its owner writes it, every default explicit, sorted by namespace and name; JSON, or YAML for Accept: application/yaml. Secret values are never in a definition: jobs name variables.",
			tag:         "jobs as code", resp: exportDocument{}, errs: []int{http.StatusNotAcceptable},
			params: []param{query("namespace", "Export one namespace.", "payments")}}},
		{http.MethodPost, v1 + "/jobs/apply", need(domain.PermJobWrite), s.applyJobs, op{summary: "Apply job definitions",
			description: "Makes the jobs of the namespaces the request names be as it lists them, in one transaction: creates, updates what differs, and with prune (which needs job:delete) deletes what is not listed. dry_run answers the plan and changes nothing. In a namespace that requires four eyes the changes are proposed (202).",
			tag:         "jobs as code", body: applyDocument{}, yaml: true, resp: applyResponse{}, also: []int{http.StatusAccepted},
			errs: []int{http.StatusConflict, http.StatusRequestEntityTooLarge}}},
		{http.MethodGet, v1 + "/jobs/{id}", jobRead, s.getJob, op{summary: "Get a job", resp: domain.Job{}, headers: []string{"ETag"}}},
		{http.MethodPut, v1 + "/jobs/{id}", need(domain.PermJobWrite), s.putJob, op{summary: "Replace a job's definition", proposed: true,
			description: "Conditional on If-Match. Left out, enabled keeps the job's state; namespace and kind cannot change.",
			params:      []param{ifMatch}, body: jobRequest{}, resp: domain.Job{}, headers: []string{"ETag"},
			errs: []int{http.StatusConflict, http.StatusPreconditionFailed, http.StatusPreconditionRequired}}},
		{http.MethodPatch, v1 + "/jobs/{id}", need(domain.PermJobWrite), s.patchJob, op{summary: "Change some of a job's fields", proposed: true,
			description: "A JSON merge patch (RFC 7396) of the job's definition, conditional on If-Match: null resets a field to its default.",
			params:      []param{ifMatch}, body: jobRequest{}, bodyExample: `{"description":"Settle card and wallet payments","timeout":"90s"}`,
			resp: domain.Job{}, headers: []string{"ETag"},
			errs: []int{http.StatusConflict, http.StatusPreconditionFailed, http.StatusPreconditionRequired}}},
		{http.MethodDelete, v1 + "/jobs/{id}", need(domain.PermJobDelete), s.deleteJob, op{summary: "Delete a job", proposed: true,
			description: "Its history stays readable to those who may read every namespace."}},
		{http.MethodPost, v1 + "/jobs/{id}/enable", need(domain.PermJobEnable), s.setEnabled(true), op{summary: "Resume a job", resp: domain.Job{}, headers: []string{"ETag"}}},
		{http.MethodPost, v1 + "/jobs/{id}/disable", need(domain.PermJobEnable), s.setEnabled(false), op{summary: "Pause a job", resp: domain.Job{}, headers: []string{"ETag"}}},
		{http.MethodGet, v1 + "/jobs/{id}/executions", need(domain.PermExecutionRead), s.listExecutions, op{summary: "A job's execution history",
			description: "Newest first.", resp: execPage, params: historyParams()}},
		{http.MethodGet, v1 + "/jobs/{id}/fires", jobRead, s.jobFires, op{summary: "Why a job did or did not run, instant by instant",
			description: "Every instant the job's schedule names in [from, to) — RFC 3339, at most 7 days and 2000 instants; by default the last 24 hours — with its execution or the reason it has none: paused, outside_window, dst_gap, excluded_date, frozen, forbid, misfire_policy, deadline, breaker_open, not_yet_due, before_created, missed, unknown (docs/fire-timeline.md); then the executions of other triggers in the range. Execution ids and recorded details need execution:read.",
			resp:        firesResponse{}, params: []param{
				query("from", "The range's first instant, RFC 3339; by default 24 hours before to.", "2026-03-28T00:00:00+01:00").format("date-time"),
				query("to", "The instant the range ends before, RFC 3339; by default now, or 24 hours after from.", "2026-03-30T00:00:00+02:00").format("date-time"),
			}}},
		{http.MethodGet, v1 + "/jobs/{id}/missed", jobRead, s.listMissedFires, op{summary: "A job's missed fires",
			description: "Fires that were due and had not started within the job's missed_after (default 1m), as the watchdog recorded them, newest first: stage says how far each got (unclaimed: no tick claimed it; unpublished: claimed, never acknowledged by the broker; undelivered: published, no executor took it; unacknowledged: taken, never started). A missed fire still runs when the system recovers; started_at and execution_id then say when and as what.",
			resp:        missPage, params: append([]param{
				query("from", "Keep fires scheduled at or after this RFC 3339 instant.", "2026-03-01T00:00:00+07:00").format("date-time"),
				query("to", "Keep fires scheduled before this RFC 3339 instant; after from.", "2026-03-02T00:00:00+07:00").format("date-time"),
			}, pageParams()...)}},
		{http.MethodGet, v1 + "/jobs/{id}/stats", jobRead, s.jobStats, op{summary: "A job's statistics over the last 7 days", resp: domain.JobStats{}}},
		{http.MethodGet, v1 + "/jobs/{id}/upstream", jobRead, s.jobUpstream, op{summary: "The jobs that chain to a job",
			description: "The jobs whose on_success, on_failure or on_completion name this job, with the lists that do, in (namespace, name) order. Jobs in namespaces the caller may not read are counted in hidden, never named. At most 500 are read; truncated says there are more.",
			resp:        upstreamResponse{}}},
		{http.MethodGet, v1 + "/jobs/{id}/alerts", jobRead, s.jobAlerts, op{summary: "A job's failure streak and its newest alerts, with each channel's delivery", resp: jobAlerts{}}},
		{http.MethodPost, v1 + "/jobs/{id}/backfill", need(domain.PermJobExecute), s.backfill, op{summary: "Run the fires of a past range",
			description: "200 with the fires on a dry run; otherwise 202 with what was queued. A fire that already ran is not queued again.",
			body:        jobs.BackfillRequest{}, resp: jobs.BackfillResult{}, also: []int{http.StatusAccepted}}},
		{http.MethodPost, v1 + "/jobs/{id}/trigger", need(domain.PermJobExecute), s.trigger, op{summary: "Run a job now",
			description: "The run is recorded queued before the answer. An Idempotency-Key makes a retried request answer the first run.",
			params:      []param{inHeader("Idempotency-Key", "Makes the request safe to retry: the same key answers the same run.", "deploy-2026-03-02-1")},
			body:        triggerRequest{}, bodyOptional: true, status: http.StatusAccepted, resp: triggerResponse{},
			headers: []string{"Location", "Idempotent-Replayed"}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/jobs/{id}/webhook", jobRead, s.getWebhook, op{summary: "A job's webhook",
			description: "Whether it is enabled, the start of its token and when it was made; never the token or the secret. 404 when the job has none.",
			tag:         "webhooks", resp: domain.Webhook{}}},
		{http.MethodPost, v1 + "/jobs/{id}/webhook", need(domain.PermJobWrite), s.enableWebhook, op{summary: "Enable a job's webhook, or regenerate its credentials",
			description: "Mints a token (the URL: url_path) and a signing secret, answered this once and never again: 201 for the first, 200 when they replace earlier ones, which stop working at once. A disabled webhook is enabled again this way. The job's webhook trigger, when it declares one, says which content types, headers and rate the calls have. 409 when the server has no secrets.keys to keep the secret, or (on triggers) when the namespace requires four eyes and the job's approved definition declares no webhook trigger.",
			tag:         "webhooks", status: http.StatusCreated, also: []int{http.StatusOK}, resp: jobs.EnabledWebhook{}, errs: []int{http.StatusConflict}}},
		{http.MethodDelete, v1 + "/jobs/{id}/webhook", need(domain.PermJobWrite), s.disableWebhook, op{summary: "Disable a job's webhook",
			description: "Calls with its token answer 403 until it is enabled again, with new credentials.",
			tag:         "webhooks", resp: domain.Webhook{}}},
		{http.MethodPost, v1 + "/jobs/{id}/clone", need(domain.PermJobWrite), s.cloneJob, op{summary: "Copy a job", proposed: true,
			description: "A new job with the source's definition, paused unless enabled says otherwise; its own variables are not copied. Needs job:read on the source and job:write where the copy goes.",
			body:        cloneRequest{}, status: http.StatusCreated, resp: domain.Job{}, headers: []string{"ETag", "Location"}, errs: []int{http.StatusConflict}}},
		{http.MethodPost, v1 + "/schedules/preview", jobRead, s.preview, op{summary: "The next fires of a schedule",
			description: "Each fire's instant and local time, with notes where a DST change or an excluded date moved it.",
			body:        previewRequest{}, resp: previewResponse{}}},
		{http.MethodPost, v1 + "/calendars", need(domain.PermJobWrite), s.createCalendar, op{summary: "Create a calendar",
			description: "Excluded dates and business weekdays that jobs name in schedule.calendars. A calendar of every namespace (\"*\") needs job:write in every namespace.",
			body:        calendarRequest{}, status: http.StatusCreated, resp: calendarResponse{}, headers: []string{"ETag", "Location"}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/calendars", jobRead, s.listCalendars, op{summary: "List calendars", resp: page[*domain.Calendar]{}, params: pageParams()}},
		{http.MethodGet, v1 + "/calendars/{name}", jobRead, s.getCalendar, op{summary: "Get a calendar", resp: calendarResponse{}, headers: []string{"ETag"}}},
		{http.MethodPut, v1 + "/calendars/{name}", need(domain.PermJobWrite), s.putCalendar, op{summary: "Replace a calendar",
			description: "Conditional on If-Match. Every job naming the calendar is planned again in the same transaction; replanned_jobs says how many.",
			params:      []param{ifMatch}, body: calendarRequest{}, resp: calendarResponse{}, headers: []string{"ETag"},
			errs: []int{http.StatusConflict, http.StatusPreconditionFailed, http.StatusPreconditionRequired}}},
		{http.MethodDelete, v1 + "/calendars/{name}", need(domain.PermJobWrite), s.deleteCalendar, op{summary: "Delete a calendar",
			description: "Refused (409, naming them) while jobs name it.", params: []param{ifMatchOptional},
			errs: []int{http.StatusConflict, http.StatusPreconditionFailed}}},
		{http.MethodPost, v1 + "/freezes", need(domain.PermJobEnable), s.createFreeze, op{summary: "Freeze a namespace",
			description: "Until ends_at every scheduled fire of the namespace's jobs (or of every job, \"*\") is recorded skipped with the freeze's reason; the jobs stay enabled.",
			body:        freezeRequest{}, status: http.StatusCreated, resp: domain.Freeze{}}},
		{http.MethodGet, v1 + "/freezes", jobRead, s.listFreezes, op{summary: "List freezes", resp: page[*domain.Freeze]{},
			params: append([]param{query("ended", "Include freezes that have ended or were lifted.", "true").oneOf("true", "false")}, pageParams()...)}},
		{http.MethodGet, v1 + "/freezes/{id}", jobRead, s.getFreeze, op{summary: "Get a freeze", resp: domain.Freeze{}}},
		{http.MethodDelete, v1 + "/freezes/{id}", need(domain.PermJobEnable), s.liftFreeze, op{summary: "Lift a freeze early", resp: domain.Freeze{}}},
		{http.MethodGet, v1 + "/executions", need(domain.PermExecutionRead), s.allExecutions, op{summary: "The execution history of every job",
			description: "Newest first, over the namespaces the caller may read the executions of.", resp: execPage,
			params: append([]param{query("job_id", "Keep one job's executions.", exampleJobID).format("uuid"),
				query("namespace", "Keep one namespace's executions.", "payments")}, historyParams()...)}},
		{http.MethodGet, v1 + "/executions/{id}", need(domain.PermExecutionRead), s.getExecution, op{summary: "Get an execution with every attempt", resp: domain.Execution{}}},
		{http.MethodGet, v1 + "/executions/{id}/timeline", need(domain.PermExecutionRead), s.executionTimeline, op{summary: "An execution's way, step by step",
			description: "scheduled → claimed (tick replica, time) → published (stream sequence, time) → delivered (consumer, delivery count) → each attempt → result, each step done, pending, not_applicable or unknown: a step nothing recorded is unknown, never guessed (docs/fire-timeline.md).",
			resp:        timeline.Execution{}}},
		{http.MethodPost, v1 + "/executions/{id}/cancel", need(domain.PermJobExecute), s.cancelExecution, op{summary: "Cancel a queued or running execution",
			description: "Recorded cancelled at once; a running attempt stops at its worker's next heartbeat.",
			body:        cancelRequest{}, bodyOptional: true, resp: domain.Execution{}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/stream", need(domain.PermExecutionRead), s.stream, op{summary: "Live stream of execution and job events",
			description: "Server-sent events: each event is a CloudEvent (JSON) of a job or an execution the caller may see. Resume with Last-Event-ID.",
			respType:    "text/event-stream", errs: []int{http.StatusServiceUnavailable},
			params: []param{query("namespace", "Keep one namespace's events.", "payments"),
				query("job_id", "Keep one job's events.", exampleJobID),
				query("types", "Event types (comma-separated), exact or a family such as io.vecron.execution.*.", "io.vecron.execution.failed"),
				query("last_event_id", "Resume after this event (as the Last-Event-ID header).", "1042"),
				inHeader("Last-Event-ID", "Resume after this event.", "1042")}}},
		{http.MethodGet, v1 + "/dead-letters", need(domain.PermExecutionRead), s.listDeadLetters, op{summary: "List dead-lettered executions",
			resp: execPage, params: append([]param{
				query("state", "Which dead letters: pending (the default), replayed, discarded or all.", "pending").oneOf(
					domain.DeadLetterPending, domain.DeadLetterReplayed, domain.DeadLetterDiscarded, "all"),
				query("job_id", "Keep one job's dead letters.", exampleJobID).format("uuid")}, pageParams()...)}},
		{http.MethodPost, v1 + "/dead-letters/{id}/replay", need(domain.PermJobExecute), s.replayDeadLetter, op{summary: "Run a dead letter again",
			status: http.StatusAccepted, resp: domain.Execution{}, errs: []int{http.StatusConflict}}},
		{http.MethodPost, v1 + "/dead-letters/{id}/discard", need(domain.PermJobExecute), s.discardDeadLetter, op{summary: "Discard a dead letter",
			resp: domain.Execution{}, errs: []int{http.StatusConflict}}},

		{http.MethodGet, v1 + "/variables", varRead, globalVars.list, op{summary: "List global variables", resp: varPage}},
		{http.MethodPost, v1 + "/variables", need(domain.PermVariableWrite), globalVars.create, op{summary: "Create a global variable",
			body: variableRequest{}, status: http.StatusCreated, resp: domain.Variable{}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/variables/{name}", varRead, globalVars.get, op{summary: "Get a global variable", resp: domain.Variable{}}},
		{http.MethodPut, v1 + "/variables/{name}", need(domain.PermVariableWrite), globalVars.put, op{summary: "Create or replace a global variable",
			body: variables.PutRequest{}, resp: domain.Variable{}, also: []int{http.StatusCreated}}},
		{http.MethodDelete, v1 + "/variables/{name}", need(domain.PermVariableWrite), globalVars.delete, op{summary: "Delete a global variable"}},
		{http.MethodGet, v1 + "/jobs/{id}/variables", varRead, jobVars.list, op{summary: "List a job's variables", tag: "variables", resp: varPage}},
		{http.MethodPost, v1 + "/jobs/{id}/variables", need(domain.PermVariableWrite), jobVars.create, op{summary: "Create a job's variable",
			description: "Needs job:write on the job as well.", tag: "variables",
			body: variableRequest{}, status: http.StatusCreated, resp: domain.Variable{}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/jobs/{id}/variables/{name}", varRead, jobVars.get, op{summary: "Get a job's variable", tag: "variables", resp: domain.Variable{}}},
		{http.MethodPut, v1 + "/jobs/{id}/variables/{name}", need(domain.PermVariableWrite), jobVars.put, op{summary: "Create or replace a job's variable",
			description: "Needs job:write on the job as well.", tag: "variables",
			body: variables.PutRequest{}, resp: domain.Variable{}, also: []int{http.StatusCreated}}},
		{http.MethodDelete, v1 + "/jobs/{id}/variables/{name}", need(domain.PermVariableWrite), jobVars.delete, op{summary: "Delete a job's variable",
			description: "Needs job:write on the job as well.", tag: "variables"}},

		{http.MethodGet, v1 + "/changes", jobRead, s.listChanges, op{summary: "List changes awaiting or past approval",
			description: "Newest first, in the namespaces whose jobs the caller may read.", tag: "four eyes", resp: page[*domain.Change]{},
			params: append([]param{query("namespace", "Keep one namespace's changes.", "payments"),
				query("job_id", "Keep one job's changes.", exampleJobID).format("uuid"),
				query("status", "Keep the changes in this state.", "pending").oneOf(string(domain.ChangePending), string(domain.ChangeApproved),
					string(domain.ChangeRejected), string(domain.ChangeWithdrawn), string(domain.ChangeExpired), string(domain.ChangeFailed))}, pageParams()...)}},
		{http.MethodGet, v1 + "/changes/{id}", jobRead, s.getChange, op{summary: "Get a change", tag: "four eyes", resp: domain.Change{}}},
		{http.MethodPost, v1 + "/changes/{id}/approve", need(domain.PermJobApprove), s.decide(domain.PermJobApprove, s.jobs.Approve), op{summary: "Approve a change",
			description: "Another user than its requester applies it, in the same transaction; 409 when the job moved on or the name was taken since.",
			tag:         "four eyes", body: decisionRequest{}, bodyOptional: true, resp: domain.Change{}, errs: []int{http.StatusConflict}}},
		{http.MethodPost, v1 + "/changes/{id}/reject", need(domain.PermJobApprove), s.decide(domain.PermJobApprove, s.jobs.Reject), op{summary: "Reject a change",
			tag: "four eyes", body: decisionRequest{}, bodyOptional: true, resp: domain.Change{}, errs: []int{http.StatusConflict}}},
		// Only the requester withdraws a change (the handler checks); it grants nothing, so
		// seeing the namespace's jobs is enough.
		{http.MethodPost, v1 + "/changes/{id}/withdraw", jobRead, s.decide(domain.PermJobRead, s.jobs.Withdraw), op{summary: "Withdraw one's own change",
			tag: "four eyes", body: decisionRequest{}, bodyOptional: true, resp: domain.Change{}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/namespaces/{namespace}/settings", jobRead, s.getNamespaceSettings, op{summary: "A namespace's settings",
			tag: "four eyes", resp: domain.NamespaceSettings{}}},
		{http.MethodPut, v1 + "/namespaces/{namespace}/settings", need(domain.PermUserAdmin), s.putNamespaceSettings, op{summary: "Change a namespace's settings",
			description: "Whether creates, edits and deletes of its jobs wait for another user's approval (four_eyes, required), and how long a change waits. Needs user:admin in every namespace.",
			tag:         "four eyes", body: namespaceSettingsRequest{}, resp: domain.NamespaceSettings{}}},

		{http.MethodGet, v1 + "/tokens", signedIn, s.listTokens, op{summary: "List API tokens",
			description: "The caller's own; a user admin may ask for another user's (user_id) or everyone's (user_id=*).",
			resp:        page[*domain.APIToken]{}, params: []param{query("user_id", "Whose tokens: a user id, or * for everyone's.", exampleUserID)}}},
		{http.MethodPost, v1 + "/tokens", signedIn, s.createToken, op{summary: "Create an API token",
			description: "The secret is answered once, in token. Scopes cannot exceed the caller's own permissions; a token cannot create tokens.",
			body:        tokenRequest{}, status: http.StatusCreated, resp: createdToken{}, headers: []string{"Location"}}},
		{http.MethodDelete, v1 + "/tokens/{id}", signedIn, s.revokeToken, op{summary: "Revoke an API token",
			description: "One's own, or anyone's for a user admin.", resp: domain.APIToken{}}},

		{http.MethodGet, v1 + "/auth/sessions", signedIn, s.ownSessions, op{summary: "List one's own dashboard sessions", tag: "sessions",
			description: "The caller's browser sign-ins that are still valid, newest first: when each began, was last used and ends. Nothing in them signs anyone in.",
			resp:        page[*domain.SessionInfo]{}}},
		{http.MethodDelete, v1 + "/auth/sessions/{id}", signedIn, s.endOwnSession, op{summary: "End one of one's own dashboard sessions",
			description: "Its next request goes to the login page. Another user's session is answered 404, as one that does not exist.",
			tag:         "sessions", resp: domain.SessionInfo{}}},
		{http.MethodGet, v1 + "/sessions", need(domain.PermUserAdmin), s.listSessions, op{summary: "List dashboard sessions",
			description: "The browser sign-ins still valid, newest first, of everyone or of one database user or identity provider's subject. Needs user:admin in every namespace.",
			resp:        page[*domain.SessionInfo]{}, params: append([]param{query("user_id", "Keep one database user's sessions.", exampleUserID).format("uuid"),
				query("subject", "Keep the sessions of one user of the identity provider (the sub claim).", "f1c2a3b4-5d6e-4f70-8a9b-0c1d2e3f4a5b"),
				query("mode", "Keep the sessions of one sign-in mode.", identity.ModeOIDC).oneOf(identity.ModeDatabase, identity.ModeOIDC)}, pageParams()...)}},
		{http.MethodPost, v1 + "/sessions/end", need(domain.PermUserAdmin), s.endSessions, op{summary: "End every dashboard session of a user",
			description: "Of a database user (user_id) or of a user of the identity provider (subject), who is not a row of users. Their next request goes to the login page. Needs user:admin in every namespace.",
			body:        endSessionsRequest{}, resp: endedSessions{}, errs: []int{http.StatusNotFound}}},
		{http.MethodDelete, v1 + "/sessions/{id}", need(domain.PermUserAdmin), s.endSession, op{summary: "End a dashboard session",
			description: "Its next request goes to the login page. Needs user:admin in every namespace.", resp: domain.SessionInfo{}}},

		{http.MethodGet, v1 + "/audit", need(domain.PermAuditRead), s.listAudit, op{summary: "The audit log",
			description: "Newest first, over the namespaces where the caller holds audit:read.", resp: page[*audit.Record]{},
			params: append([]param{query("actor", "Keep one actor's rows (their id).", exampleUserID),
				query("action", "Keep one action.", "job.update"),
				query("object_kind", "Keep one kind of object.", "job"),
				query("object_id", "Keep one object's rows.", exampleJobID),
				query("namespace", "Keep one namespace's rows, or * for rows about no single namespace.", "payments"),
				query("since", "Keep rows at or after this RFC 3339 time.", "2026-03-01T00:00:00Z").format("date-time"),
				query("until", "Keep rows before this RFC 3339 time.", "2026-03-02T00:00:00Z").format("date-time")}, pageParams()...)}},

		{http.MethodGet, v1 + "/users", need(domain.PermUserAdmin), s.listUsers, op{summary: "List users", resp: page[*domain.User]{}, params: pageParams()}},
		{http.MethodPost, v1 + "/users", need(domain.PermUserAdmin), s.createUser, op{summary: "Create a database user",
			body: userRequest{}, status: http.StatusCreated, resp: domain.User{}, headers: []string{"Location"}, errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/users/{id}", need(domain.PermUserAdmin), s.getUser, op{summary: "Get a user", resp: domain.User{}}},
		{http.MethodPatch, v1 + "/users/{id}", need(domain.PermUserAdmin), s.updateUser, op{summary: "Change a user",
			description: "The fields given are set. Disabling a user or setting their password ends their sessions.",
			body:        userPatch{}, resp: domain.User{}}},
		{http.MethodDelete, v1 + "/users/{id}", need(domain.PermUserAdmin), s.deleteUser, op{summary: "Delete a user", errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/roles", need(domain.PermUserAdmin), s.listRoles, op{summary: "List the built-in and custom roles", resp: page[*domain.Role]{}}},
		{http.MethodPut, v1 + "/roles/{name}", need(domain.PermUserAdmin), s.putRole, op{summary: "Create or replace a custom role",
			body: roleRequest{}, resp: domain.Role{}, also: []int{http.StatusCreated}}},
		{http.MethodDelete, v1 + "/roles/{name}", need(domain.PermUserAdmin), s.deleteRole, op{summary: "Delete a custom role",
			description: "Refused (409) while the role is bound.", errs: []int{http.StatusConflict}}},
		{http.MethodGet, v1 + "/role-bindings", need(domain.PermUserAdmin), s.listBindings, op{summary: "List role bindings",
			resp: page[*domain.RoleBinding]{}, params: []param{query("user_id", "Keep one user's bindings.", exampleUserID).format("uuid")}}},
		{http.MethodPost, v1 + "/role-bindings", need(domain.PermUserAdmin), s.createBinding, op{summary: "Bind a role to a user or a group",
			body: bindingRequest{}, status: http.StatusCreated, resp: domain.RoleBinding{}, errs: []int{http.StatusConflict}}},
		{http.MethodDelete, v1 + "/role-bindings/{id}", need(domain.PermUserAdmin), s.deleteBinding, op{summary: "Delete a role binding"}},
	}
}

// takesYAML reports whether the write of method on pattern takes application/yaml beside JSON
// (ARCHITECTURE §11: "where a route says so").
func takesYAML(method, pattern string) bool {
	return method == http.MethodPost && pattern == "/api/v1/jobs/apply"
}
