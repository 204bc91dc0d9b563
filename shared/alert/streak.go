// Package alert delivers the notices of failure streaks (docs/alerts.md): an
// io.vecron.job.alert CloudEvent on the events stream, and messages through the channels the
// settings configure — webhooks with a templated body (ready presets for Slack, Microsoft
// Teams and Google Chat) and e-mail over SMTP — every connection through the egress policy.
//
// The notices themselves are raised by the store, in the transaction that ends an execution
// (migration 00027); Streak is the rule it follows, written out in Go for the tests to hold the
// database to.
package alert

import "github.com/vecron/vecron/shared/domain"

// Outcome is how one execution of a job ended, as a streak sees it.
type Outcome int

// Outcomes.
const (
	// Neutral: skipped, cancelled, or a failed attempt that will be retried — the job did not
	// end a run, so its streak neither grows nor ends.
	Neutral Outcome = iota
	// Failed: failed, timed out or dead-lettered for good, or a fire missed.
	Failed
	// Succeeded ends the streak.
	Succeeded
)

// OutcomeOf returns how an execution that reached status counts.
func OutcomeOf(status domain.ExecutionStatus) Outcome {
	switch status {
	case domain.StatusSucceeded:
		return Succeeded
	case domain.StatusFailed, domain.StatusTimedOut, domain.StatusDeadLettered:
		return Failed
	}
	return Neutral
}

// Streak is a job's failure streak: the state the store keeps in job_alert_state.
type Streak struct {
	Failures int
	Alerted  bool
}

// Notice is what one step of a streak raises: nothing, an alert or a recovery.
type Notice struct {
	State domain.AlertState
	// Failures is the streak's length when the notice was raised.
	Failures int
}

// Step moves s by one outcome of a job whose alerts fire after threshold failures (0: alerts
// off), and returns the notice it raises, if any: an alert when the streak reaches the
// threshold for the first time, a recovery when a success ends a streak that alerted.
func (s *Streak) Step(o Outcome, threshold int) (Notice, bool) {
	switch o {
	case Failed:
		if threshold <= 0 {
			return Notice{}, false
		}
		s.Failures++
		if !s.Alerted && s.Failures >= threshold {
			s.Alerted = true
			return Notice{State: domain.AlertFiring, Failures: s.Failures}, true
		}
	case Succeeded:
		was := *s
		*s = Streak{}
		if was.Alerted {
			return Notice{State: domain.AlertResolved, Failures: was.Failures}, true
		}
	}
	return Notice{}, false
}

// Notices returns the notices a sequence of outcomes of one job raises, from no streak.
func Notices(outcomes []Outcome, threshold int) []Notice {
	var (
		s   Streak
		out []Notice
	)
	for _, o := range outcomes {
		if n, ok := s.Step(o, threshold); ok {
			out = append(out, n)
		}
	}
	return out
}
