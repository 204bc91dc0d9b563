package domain

import "time"

// ListJobsParams selects a page of jobs in id order (ids are time-ordered, so creation order).
type ListJobsParams struct {
	Namespace string // "" means every namespace
	// Namespaces, when not nil, keeps only jobs in these namespaces (empty: none): the ones the
	// caller may read.
	Namespaces []string
	After      string // id of the last job of the previous page; "" for the first page
	Limit      int
	// Search keeps jobs whose name holds it, ignoring case; "" keeps every job.
	Search string
	// Kind keeps jobs of one kind; "" keeps every kind.
	Kind JobKind
	// State keeps jobs in one of the State… states; "" keeps every state.
	State string
	// Tags keeps jobs that have every one of these tags; empty keeps every job.
	Tags []string
	// IDs, when not empty, keeps the jobs with these ids (UUIDs).
	IDs []string
	// Name keeps the job(s) of exactly this name, case included; "" keeps every job.
	Name string
}

// ExecutionCursor is the position after the last execution of a page.
type ExecutionCursor struct {
	ScheduledAt time.Time
	ID          string
}

// ExecutionScope says whose executions a listing across jobs reads.
type ExecutionScope struct {
	// Namespaces limits it to the jobs of these namespaces; nil reads every job's, and the
	// history of deleted jobs too.
	Namespaces []string
}

// ExecutionFilter narrows a list of executions; empty fields filter nothing.
type ExecutionFilter struct {
	Statuses []ExecutionStatus
	Triggers []Trigger
	// From and To bound the fires' scheduled instants: From ≤ scheduled_at < To.
	From, To *time.Time
}
