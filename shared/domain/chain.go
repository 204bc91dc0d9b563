package domain

import (
	"context"
	"slices"
	"strings"
	"time"
)

// TriggerChain is the trigger of an execution another job's result started (docs/chaining.md).
const TriggerChain Trigger = "chain"

// Chains are the jobs a job starts when one of its executions ends: OnSuccess after it
// succeeded, OnFailure after it failed for good (failed without a retry left, timed out for
// good, dead-lettered), OnCompletion after either. Each entry is a job ref, "namespace/name"
// as stored ("name" alone, on write, means the job's own namespace).
type Chains struct {
	OnSuccess    []string `json:"on_success,omitempty"`
	OnFailure    []string `json:"on_failure,omitempty"`
	OnCompletion []string `json:"on_completion,omitempty"`
}

// Empty reports whether c starts nothing.
func (c Chains) Empty() bool {
	return len(c.OnSuccess) == 0 && len(c.OnFailure) == 0 && len(c.OnCompletion) == 0
}

// For returns the refs an execution that ended in status starts, each once, in the order
// written (OnSuccess or OnFailure first, then OnCompletion). A status that is not an end a
// chain follows (skipped, cancelled, or not terminal) starts none.
func (c Chains) For(status ExecutionStatus) []string {
	var first []string
	switch status {
	case StatusSucceeded:
		first = c.OnSuccess
	case StatusFailed, StatusTimedOut, StatusDeadLettered:
		first = c.OnFailure
	default:
		return nil
	}
	var out []string
	for _, ref := range slices.Concat(first, c.OnCompletion) {
		if !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	return out
}

// All returns every ref of c, each once.
func (c Chains) All() []string {
	var out []string
	for _, ref := range slices.Concat(c.OnSuccess, c.OnFailure, c.OnCompletion) {
		if !slices.Contains(out, ref) {
			out = append(out, ref)
		}
	}
	return out
}

// Clone returns a deep copy of c.
func (c Chains) Clone() Chains {
	return Chains{OnSuccess: slices.Clone(c.OnSuccess), OnFailure: slices.Clone(c.OnFailure), OnCompletion: slices.Clone(c.OnCompletion)}
}

// SplitRef splits a job ref into its namespace and name; a ref without "/" is in namespace
// within. The name is everything after the first "/": namespaces hold no "/", names may.
func SplitRef(ref, within string) (ns, name string) {
	if i := strings.IndexByte(ref, '/'); i >= 0 {
		return ref[:i], ref[i+1:]
	}
	return within, ref
}

// Ref is the ref of the job named name in namespace ns.
func Ref(ns, name string) string { return ns + "/" + name }

// Editor is who last wrote a job's chains, kept so that each chained run can be checked against
// what they may do now (ARCHITECTURE §11): a user (UserID), an API token (TokenID, acting for
// its creator) or a user of the identity provider known only by the groups they had (Groups).
type Editor struct {
	UserID  string   `json:"user_id,omitempty"`
	TokenID string   `json:"token_id,omitempty"`
	Groups  []string `json:"groups,omitempty"`
}

// Upstream is the result of the execution that started a chained one, as its templates see it
// (trigger.upstream.*).
type Upstream struct {
	JobID       string          `json:"job_id"`
	ExecutionID string          `json:"execution_id"`
	Status      ExecutionStatus `json:"status"`
	HTTPStatus  int             `json:"http_status"`
	// Rows is the rows a sql job's last statement returned or affected; nil for an http job.
	Rows            *int64 `json:"rows"`
	ResponseExcerpt string `json:"response_excerpt"`
	// Depth counts the chained runs before this one, so that a cycle that slipped past the
	// write-time check (two edits racing) still ends.
	Depth int `json:"depth"`
}

// ChainKey is the idempotency key of the run of job jobID that the execution upstreamID
// starts: "<job id>:chain:<upstream execution id>", so a result recorded or delivered twice
// starts the job once.
func ChainKey(jobID, upstreamID string) string {
	return Key(jobID, TriggerChain, time.Time{}, upstreamID)
}

// Rights says whether a caller holds a permission in a namespace.
type Rights interface {
	Can(p Permission, ns string) bool
}

// Caller is who makes a request, as writing a job's chains needs them: what they may do, and
// how to find them again when a chained run starts.
type Caller struct {
	Rights Rights
	Editor Editor
}

type callerKey struct{}

// WithCaller returns ctx carrying c, beside the actor the audit log names.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// UpstreamJob is a job whose chains start another: its identity and the lists that name the
// other ("on_success", "on_failure", "on_completion", in that order).
type UpstreamJob struct {
	ID         string   `json:"id"`
	Namespace  string   `json:"namespace"`
	Name       string   `json:"name"`
	Conditions []string `json:"conditions"`
}
