package domain

import "fmt"

// JobChange is one change of a batch of job changes stored in one transaction (an apply).
type JobChange struct {
	Write ChangeAction
	// Job is the new definition, prepared as a single create or edit prepares it (identity,
	// shard, next run); for a delete, the job as it was read.
	Job *Job
	// IfVersion is the version the job must still be at for an update or a delete: the one the
	// batch was planned on.
	IfVersion int64
	// KeepNext keeps the stored next run of an update that leaves the plan alone.
	KeepNext bool
}

// JobChangeError is the failure of change Index of a batch; the whole batch was rolled back.
type JobChangeError struct {
	Index int
	Err   error
}

func (e *JobChangeError) Error() string { return fmt.Sprintf("change %d: %v", e.Index, e.Err) }

// Unwrap returns the change's own error.
func (e *JobChangeError) Unwrap() error { return e.Err }
