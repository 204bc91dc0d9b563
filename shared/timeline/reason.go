// Package timeline answers why a job did or did not run: the steps of one execution (claimed,
// published, delivered, each attempt, the result) and, for a range of a job's schedule, every
// instant it names with its execution or the reason there is none (docs/fire-timeline.md). It is
// pure: callers read the facts — executions, delivery facts, pauses, missed fires — and it only
// puts them together, never inventing a step it was not told of.
package timeline

import (
	"strings"
	"time"
)

// Reasons a fire did not run, or ran without reaching its target: the vocabulary of the fires
// view and of a skipped execution's result (docs/fire-timeline.md).
const (
	ReasonPaused        = "paused"
	ReasonDeleted       = "deleted"
	ReasonOutsideWindow = "outside_window"
	ReasonDSTGap        = "dst_gap"
	ReasonExcludedDate  = "excluded_date"
	ReasonFrozen        = "frozen"
	ReasonForbid        = "forbid"
	ReasonReplaced      = "replaced"
	ReasonMisfire       = "misfire_policy"
	ReasonDeadline      = "deadline"
	ReasonBreakerOpen   = "breaker_open"
	ReasonRescheduled   = "rescheduled"
	ReasonRate          = "rate"
	ReasonChain         = "chain"
	// ReasonNotYetDue: the instant is still ahead (or within the claim lookahead).
	ReasonNotYetDue = "not_yet_due"
	// ReasonBeforeCreated: the instant is older than the job.
	ReasonBeforeCreated = "before_created"
	// ReasonMissed: the missed-fire watchdog recorded the fire (Facts.Missed).
	ReasonMissed = "missed"
	// ReasonUnknown: nothing recorded says what became of the fire; it is not guessed.
	ReasonUnknown = "unknown"
	// ReasonOther: a skip whose recorded reason is none of the above; its detail says it.
	ReasonOther = "other"
)

// skipReasons map the recorded text of a skipped execution to its reason, first match wins.
// The text is what the tick, the executors and the api write (and go on writing for rows
// already recorded), so matching it needs no new column on the path of a fire.
var skipReasons = []struct{ contains, reason string }{
	{"the job was paused", ReasonPaused},
	{"the job was deleted", ReasonDeleted},
	{"frozen: ", ReasonFrozen},
	{"concurrency policy forbid", ReasonForbid},
	{"replaced by fire", ReasonReplaced},
	{"misfire policy", ReasonMisfire},
	{"starting deadline", ReasonDeadline},
	{"circuit breaker open", ReasonBreakerOpen},
	{"schedule was changed", ReasonRescheduled},
	{"skipped: rate:", ReasonRate},
	{"chained job", ReasonChain},
	{"chain depth", ReasonChain},
	{"may no longer run jobs", ReasonChain},
}

// SkipReason returns the reason of a skipped execution whose recorded error is text.
func SkipReason(text string) string {
	for _, r := range skipReasons {
		if strings.Contains(text, r.contains) {
			return r.reason
		}
	}
	return ReasonOther
}

// notSentReason returns the reason an attempt or execution that ended with error text never
// reached its target, or "" when it did (or nothing says otherwise).
func notSentReason(text string) string {
	if strings.HasPrefix(text, "not sent: ") && strings.Contains(text, "circuit breaker open") {
		return ReasonBreakerOpen
	}
	return ""
}

// misfireRange reads the span of the one record that stands for a long run of missed fires
// ("every fire from <RFC 3339> until <RFC 3339>: …", written by the tick's planner).
func misfireRange(text string) (from, until time.Time, ok bool) {
	rest, found := strings.CutPrefix(text, "every fire from ")
	if !found {
		return time.Time{}, time.Time{}, false
	}
	a, rest, found := strings.Cut(rest, " until ")
	if !found {
		return time.Time{}, time.Time{}, false
	}
	b, _, found := strings.Cut(rest, ": ")
	if !found {
		return time.Time{}, time.Time{}, false
	}
	from, err1 := time.Parse(time.RFC3339, a)
	until, err2 := time.Parse(time.RFC3339, b)
	if err1 != nil || err2 != nil || until.Before(from) {
		return time.Time{}, time.Time{}, false
	}
	return from.UTC(), until.UTC(), true
}
