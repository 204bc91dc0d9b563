package api

import (
	"net/http"

	"github.com/vecron/vecron/shared/domain"
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

// route is one entry of the route table.
type route struct {
	method, pattern string
	access          access
	handler         http.HandlerFunc
}

// routes is the API's one route table: every route and the permission it needs. The router is
// built from it alone, and a test walks the router to prove that no route escapes it, and
// checks every route against every built-in role in its own and in another namespace.
func (s *Server) routes() []route {
	const v1 = "/api/v1"
	jobVars, globalVars := s.variableHandlers(domain.ScopeJob), s.variableHandlers(domain.ScopeGlobal)
	return []route{
		{http.MethodGet, "/healthz", public, s.live},
		{http.MethodGet, "/readyz", public, s.ready},

		{http.MethodPost, v1 + "/auth/login", public, s.login},
		{http.MethodPost, v1 + "/auth/refresh", public, s.refresh},
		{http.MethodPost, v1 + "/auth/logout", public, s.logout},
		{http.MethodGet, v1 + "/auth/me", signedIn, s.me},
		{http.MethodPost, v1 + "/auth/password", signedIn, s.changeOwnPassword},
		{http.MethodGet, v1 + "/auth/jwks", public, s.jwks},

		{http.MethodPost, v1 + "/jobs", need(domain.PermJobWrite), s.createJob},
		{http.MethodGet, v1 + "/jobs", need(domain.PermJobRead), s.listJobs},
		{http.MethodGet, v1 + "/jobs/export", need(domain.PermJobRead), s.exportJobs},
		{http.MethodPost, v1 + "/jobs/apply", need(domain.PermJobWrite), s.applyJobs},
		{http.MethodGet, v1 + "/jobs/{id}", need(domain.PermJobRead), s.getJob},
		{http.MethodPut, v1 + "/jobs/{id}", need(domain.PermJobWrite), s.putJob},
		{http.MethodPatch, v1 + "/jobs/{id}", need(domain.PermJobWrite), s.patchJob},
		{http.MethodDelete, v1 + "/jobs/{id}", need(domain.PermJobDelete), s.deleteJob},
		{http.MethodPost, v1 + "/jobs/{id}/enable", need(domain.PermJobEnable), s.setEnabled(true)},
		{http.MethodPost, v1 + "/jobs/{id}/disable", need(domain.PermJobEnable), s.setEnabled(false)},
		{http.MethodGet, v1 + "/jobs/{id}/executions", need(domain.PermExecutionRead), s.listExecutions},
		{http.MethodGet, v1 + "/jobs/{id}/stats", need(domain.PermJobRead), s.jobStats},
		{http.MethodPost, v1 + "/jobs/{id}/backfill", need(domain.PermJobExecute), s.backfill},
		{http.MethodPost, v1 + "/jobs/{id}/trigger", need(domain.PermJobExecute), s.trigger},
		{http.MethodPost, v1 + "/jobs/{id}/clone", need(domain.PermJobWrite), s.cloneJob},
		{http.MethodPost, v1 + "/schedules/preview", need(domain.PermJobRead), s.preview},
		{http.MethodPost, v1 + "/calendars", need(domain.PermJobWrite), s.createCalendar},
		{http.MethodGet, v1 + "/calendars", need(domain.PermJobRead), s.listCalendars},
		{http.MethodGet, v1 + "/calendars/{name}", need(domain.PermJobRead), s.getCalendar},
		{http.MethodPut, v1 + "/calendars/{name}", need(domain.PermJobWrite), s.putCalendar},
		{http.MethodDelete, v1 + "/calendars/{name}", need(domain.PermJobWrite), s.deleteCalendar},
		{http.MethodPost, v1 + "/freezes", need(domain.PermJobEnable), s.createFreeze},
		{http.MethodGet, v1 + "/freezes", need(domain.PermJobRead), s.listFreezes},
		{http.MethodGet, v1 + "/freezes/{id}", need(domain.PermJobRead), s.getFreeze},
		{http.MethodDelete, v1 + "/freezes/{id}", need(domain.PermJobEnable), s.liftFreeze},
		{http.MethodGet, v1 + "/executions", need(domain.PermExecutionRead), s.allExecutions},
		{http.MethodGet, v1 + "/executions/{id}", need(domain.PermExecutionRead), s.getExecution},
		{http.MethodPost, v1 + "/executions/{id}/cancel", need(domain.PermJobExecute), s.cancelExecution},
		{http.MethodGet, v1 + "/stream", need(domain.PermExecutionRead), s.stream},
		{http.MethodGet, v1 + "/dead-letters", need(domain.PermExecutionRead), s.listDeadLetters},
		{http.MethodPost, v1 + "/dead-letters/{id}/replay", need(domain.PermJobExecute), s.replayDeadLetter},
		{http.MethodPost, v1 + "/dead-letters/{id}/discard", need(domain.PermJobExecute), s.discardDeadLetter},

		{http.MethodGet, v1 + "/variables", need(domain.PermVariableRead), globalVars.list},
		{http.MethodPost, v1 + "/variables", need(domain.PermVariableWrite), globalVars.create},
		{http.MethodGet, v1 + "/variables/{name}", need(domain.PermVariableRead), globalVars.get},
		{http.MethodPut, v1 + "/variables/{name}", need(domain.PermVariableWrite), globalVars.put},
		{http.MethodDelete, v1 + "/variables/{name}", need(domain.PermVariableWrite), globalVars.delete},
		{http.MethodGet, v1 + "/jobs/{id}/variables", need(domain.PermVariableRead), jobVars.list},
		{http.MethodPost, v1 + "/jobs/{id}/variables", need(domain.PermVariableWrite), jobVars.create},
		{http.MethodGet, v1 + "/jobs/{id}/variables/{name}", need(domain.PermVariableRead), jobVars.get},
		{http.MethodPut, v1 + "/jobs/{id}/variables/{name}", need(domain.PermVariableWrite), jobVars.put},
		{http.MethodDelete, v1 + "/jobs/{id}/variables/{name}", need(domain.PermVariableWrite), jobVars.delete},

		{http.MethodGet, v1 + "/changes", need(domain.PermJobRead), s.listChanges},
		{http.MethodGet, v1 + "/changes/{id}", need(domain.PermJobRead), s.getChange},
		{http.MethodPost, v1 + "/changes/{id}/approve", need(domain.PermJobApprove), s.decide(domain.PermJobApprove, s.jobs.Approve)},
		{http.MethodPost, v1 + "/changes/{id}/reject", need(domain.PermJobApprove), s.decide(domain.PermJobApprove, s.jobs.Reject)},
		// Only the requester withdraws a change (the handler checks); it grants nothing, so
		// seeing the namespace's jobs is enough.
		{http.MethodPost, v1 + "/changes/{id}/withdraw", need(domain.PermJobRead), s.decide(domain.PermJobRead, s.jobs.Withdraw)},
		{http.MethodGet, v1 + "/namespaces/{namespace}/settings", need(domain.PermJobRead), s.getNamespaceSettings},
		{http.MethodPut, v1 + "/namespaces/{namespace}/settings", need(domain.PermUserAdmin), s.putNamespaceSettings},

		{http.MethodGet, v1 + "/tokens", signedIn, s.listTokens},
		{http.MethodPost, v1 + "/tokens", signedIn, s.createToken},
		{http.MethodDelete, v1 + "/tokens/{id}", signedIn, s.revokeToken},

		{http.MethodGet, v1 + "/audit", need(domain.PermAuditRead), s.listAudit},

		{http.MethodGet, v1 + "/users", need(domain.PermUserAdmin), s.listUsers},
		{http.MethodPost, v1 + "/users", need(domain.PermUserAdmin), s.createUser},
		{http.MethodGet, v1 + "/users/{id}", need(domain.PermUserAdmin), s.getUser},
		{http.MethodPatch, v1 + "/users/{id}", need(domain.PermUserAdmin), s.updateUser},
		{http.MethodDelete, v1 + "/users/{id}", need(domain.PermUserAdmin), s.deleteUser},
		{http.MethodGet, v1 + "/roles", need(domain.PermUserAdmin), s.listRoles},
		{http.MethodPut, v1 + "/roles/{name}", need(domain.PermUserAdmin), s.putRole},
		{http.MethodDelete, v1 + "/roles/{name}", need(domain.PermUserAdmin), s.deleteRole},
		{http.MethodGet, v1 + "/role-bindings", need(domain.PermUserAdmin), s.listBindings},
		{http.MethodPost, v1 + "/role-bindings", need(domain.PermUserAdmin), s.createBinding},
		{http.MethodDelete, v1 + "/role-bindings/{id}", need(domain.PermUserAdmin), s.deleteBinding},
	}
}

// takesYAML reports whether the write of method on pattern takes application/yaml beside JSON
// (ARCHITECTURE §11: "where a route says so").
func takesYAML(method, pattern string) bool {
	return method == http.MethodPost && pattern == "/api/v1/jobs/apply"
}
