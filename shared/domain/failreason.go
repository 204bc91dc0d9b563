package domain

// FailReason says in one word why an attempt failed, for the reason label of the failure metrics
// (docs/observability.md §2). The set is closed so the label's series stay bounded; the
// attempt's Error keeps the words.
type FailReason string

// Reasons an attempt failed. The runners set the ones of the target's doing; the executor the
// ones decided before or around the runner (breaker_open, template, variables, shutdown,
// exhausted).
const (
	// FailHTTPStatus: the target answered with a status outside 2xx.
	FailHTTPStatus FailReason = "http_status"
	// FailTimeout: the attempt's or a statement's deadline passed.
	FailTimeout FailReason = "timeout"
	// FailConnect: no connection to the target (refused, unreachable, name not found, reset).
	FailConnect FailReason = "connect"
	// FailTLS: the TLS handshake failed (certificate, plain server behind https).
	FailTLS FailReason = "tls"
	// FailEgressDenied: a destination the egress policy, a secret's bound hosts or the system
	// database guard refused; nothing was sent.
	FailEgressDenied FailReason = "egress_denied"
	// FailBreakerOpen: the target's circuit breaker was open; nothing was sent.
	FailBreakerOpen FailReason = "breaker_open"
	// FailSQLError: the database refused or failed a statement, the commit, or the job's
	// statements were refused before running.
	FailSQLError FailReason = "sql_error"
	// FailAuth: the target database refused the credentials.
	FailAuth FailReason = "auth"
	// FailTemplate: rendering the job's templates failed.
	FailTemplate FailReason = "template"
	// FailVariables: the job's variables could not be resolved.
	FailVariables FailReason = "variables"
	// FailShutdown: the executor stopped during the attempt.
	FailShutdown FailReason = "shutdown"
	// FailExhausted: the last retry failed and the fire went to the dead letters.
	FailExhausted FailReason = "exhausted"
	// FailOther: none of the above (an unusable URL, a job without its spec, a panic).
	FailOther FailReason = "other"
)

// FailReasons returns every reason, in the order docs/observability.md lists them.
func FailReasons() []FailReason {
	return []FailReason{FailHTTPStatus, FailTimeout, FailConnect, FailTLS, FailEgressDenied, FailBreakerOpen,
		FailSQLError, FailAuth, FailTemplate, FailVariables, FailShutdown, FailExhausted, FailOther}
}
