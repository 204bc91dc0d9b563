package metric

import (
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/timeline"
)

// The executors' families (docs/observability.md §2, "Executions" and "Per-job series").
const (
	JobSuccess         Name = "vecron_job_success_total"
	JobFailed          Name = "vecron_job_failed_total"
	JobRetries         Name = "vecron_job_retries_total"
	JobDeadLetters     Name = "vecron_job_dead_letters_total"
	JobSkipped         Name = "vecron_job_skipped_total"
	JobTimeouts        Name = "vecron_job_timeouts_total"
	JobInterrupted     Name = "vecron_job_interrupted_total"
	JobDuration        Name = "vecron_job_duration_seconds"
	FireLateness       Name = "vecron_fire_lateness_seconds"
	ExecutionsInFlight Name = "vecron_executions_in_flight"

	// PushRefusals counts the due events pushed to an executor that the database does not
	// vouch for (docs/deploy.md §4, "Pushed events").
	PushRefusals Name = "vecron_executor_push_refusals_total"

	JobRuns        Name = "vecron_job_runs_total"
	JobRunDuration Name = "vecron_job_run_duration_seconds"
	JobLastSuccess Name = "vecron_job_last_success_timestamp_seconds"
)

// Values of the duration family's status label: what became of one attempt.
const (
	AttemptSucceeded = "succeeded"
	AttemptFailed    = "failed"
	AttemptTimeout   = "timeout"
)

// Values of the per-job runs family's status label: what became of one execution.
const (
	RunSucceeded    = "succeeded"
	RunFailed       = "failed"
	RunDeadLettered = "dead_lettered"
	RunSkipped      = "skipped"
)

// Values of the push refusals family's reason label: the job does not exist; no fire of the
// event's key, instant and trigger was handed out; the job is of another kind; only the claim
// vouches for the fire and the schedule has no fire at its instant.
const (
	PushRefusedNoJob       = "no_job"
	PushRefusedNotHanded   = "not_handed_out"
	PushRefusedWrongKind   = "wrong_kind"
	PushRefusedOffSchedule = "off_schedule"
)

// latenessBuckets (L) make the lateness bench's 100 and 150 ms goals and the 1 s SLO bucket
// edges, so the share of fires within them is read, not interpolated.
func latenessBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
}

// jobDurationBuckets (J) span a health check's milliseconds to an hour-long batch job.
func jobDurationBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}
}

// executorKinds are the values of the kind label: the job kinds, one executor each.
func executorKinds() []string { return []string{string(domain.KindHTTP), string(domain.KindSQL)} }

func executorTriggers() []string {
	var out []string
	for _, t := range domain.Triggers() {
		out = append(out, string(t))
	}
	return out
}

func executorFailReasons() []string {
	var out []string
	for _, r := range domain.FailReasons() {
		out = append(out, string(r))
	}
	return out
}

// SkipReasons are the values of the skipped family's reason label: every reason
// timeline.SkipReason gives a skipped execution, and the ones the tick records for instants it
// does not fire (outside the window, a DST gap, an excluded date), so the tick and the api count
// into the same family as the executors.
func SkipReasons() []string {
	return []string{
		timeline.ReasonPaused, timeline.ReasonDeleted, timeline.ReasonOutsideWindow, timeline.ReasonDSTGap,
		timeline.ReasonExcludedDate, timeline.ReasonFrozen, timeline.ReasonForbid, timeline.ReasonReplaced,
		timeline.ReasonMisfire, timeline.ReasonDeadline, timeline.ReasonRate, timeline.ReasonBreakerOpen,
		timeline.ReasonRescheduled, timeline.ReasonChain, timeline.ReasonOther,
	}
}

func executorFamilies() []Desc {
	kind := Label{Name: "kind", Values: executorKinds()}
	trigger := Label{Name: "trigger", Values: executorTriggers()}
	failReason := Label{Name: "reason", Values: executorFailReasons()}
	const recorded = "shared/executor runtime, once the outcome is recorded: "
	return []Desc{
		{
			Name: JobSuccess, Type: TypeCounter,
			Help:       "Executions that succeeded.",
			Labels:     []Label{NamespaceLabel(), kind, trigger},
			ObservedIn: recorded + "settle, verdict finished with status succeeded",
		},
		{
			Name: JobFailed, Type: TypeCounter,
			Help:       "Executions that failed for good: a failure retrying cannot fix, or the last attempt failed (reason exhausted).",
			Labels:     []Label{NamespaceLabel(), kind, trigger, failReason},
			ObservedIn: recorded + "settle, verdict finished with status failed; dead letters (settle, takeOver) as exhausted",
		},
		{
			Name: JobRetries, Type: TypeCounter,
			Help:       "Attempts that failed with another attempt scheduled, by why the attempt failed.",
			Labels:     []Label{NamespaceLabel(), kind, failReason},
			ObservedIn: recorded + "settle, verdict retry",
		},
		{
			Name: JobDeadLetters, Type: TypeCounter,
			Help:       "Executions sent to the dead-letter stream, their attempts run out.",
			Labels:     []Label{NamespaceLabel(), kind},
			ObservedIn: "shared/executor runtime, after the dead-letter publish of an execution this worker recorded dead-lettered",
		},
		{
			Name: JobSkipped, Type: TypeCounter,
			Help:       "Fires recorded skipped, by the timeline's reason; each process counts the skips it recorded.",
			Labels:     []Label{NamespaceLabel(), kind, {Name: "reason", Values: SkipReasons()}},
			ObservedIn: recorded + "skip, skipStaged, a start that found the job paused or deleted; later the tick's claim and the api",
		},
		{
			Name: JobTimeouts, Type: TypeCounter,
			Help:       "Attempts ended by their timeout, whatever became of the execution.",
			Labels:     []Label{NamespaceLabel(), kind},
			ObservedIn: recorded + "settle, an attempt with status timed_out",
		},
		{
			Name: JobInterrupted, Type: TypeCounter,
			Help:       "Attempts handed back without being the target's doing (shutdown, database down), to be tried again at once.",
			Labels:     []Label{kind},
			ObservedIn: recorded + "settle, verdict interrupted",
		},
		{
			Name: JobDuration, Type: TypeHistogram, Unit: "seconds",
			Help:       "How long each attempt that reached its runner took.",
			Labels:     []Label{NamespaceLabel(), kind, {Name: "status", Values: []string{AttemptSucceeded, AttemptFailed, AttemptTimeout}}},
			Buckets:    jobDurationBuckets(),
			ObservedIn: recorded + "settle, every attempt that reached its runner",
		},
		{
			Name: FireLateness, Type: TypeHistogram, Unit: "seconds",
			Help:       "How late a fire's first attempt called its target: the clock at the call minus the scheduled instant, at least 0.",
			Labels:     []Label{kind, trigger},
			Buckets:    latenessBuckets(),
			ObservedIn: "shared/executor runtime, attempt's onStart (breaker passed, about to call the runner), attempt 1 only",
		},
		{
			Name: ExecutionsInFlight, Type: TypeGauge,
			Help:       "Executions this process holds past their record, until the delivery is answered.",
			Labels:     []Label{kind},
			ObservedIn: "shared/executor runtime, handle: up past begin, down on return",
		},
		{
			Name: PushRefusals, Type: TypeCounter,
			Help: "Due events pushed to this executor (Knative, OpenFaaS) and refused, nothing run or recorded: the database does not vouch for the fire they name. " +
				"Anyone who can reach an executor can push one; a rate above zero is someone trying.",
			Labels: []Label{kind, {Name: "reason", Values: []string{PushRefusedNoJob, PushRefusedNotHanded, PushRefusedWrongKind,
				PushRefusedOffSchedule}}},
			ObservedIn: "shared/executor runtime, confirm, before a pushed event is staged or begun",
		},
		{
			Name: JobRuns, Type: TypeCounter,
			Help:       "Executions of the jobs listed in metrics.jobs, by what became of them.",
			Labels:     []Label{NamespaceLabel(), JobNameLabel(), {Name: "status", Values: []string{RunSucceeded, RunFailed, RunDeadLettered, RunSkipped}}},
			ObservedIn: recorded + "with the success, failed, dead-letter and skipped families, for listed jobs only",
		},
		{
			Name: JobRunDuration, Type: TypeHistogram, Unit: "seconds",
			Help:       "How long each attempt of the jobs listed in metrics.jobs took.",
			Labels:     []Label{NamespaceLabel(), JobNameLabel()},
			Buckets:    jobDurationBuckets(),
			ObservedIn: recorded + "with vecron_job_duration_seconds, for listed jobs only",
		},
		{
			Name: JobLastSuccess, Type: TypeGauge, Unit: "seconds",
			Help:       "When an execution of a job listed in metrics.jobs last succeeded, in Unix seconds.",
			Labels:     []Label{NamespaceLabel(), JobNameLabel()},
			ObservedIn: recorded + "with vecron_job_success_total, for listed jobs only",
		},
	}
}
