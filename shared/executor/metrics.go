package executor

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/timeline"
)

// metrics are the runtime's families (docs/observability.md §2, "Executions"), resolved once in
// New so that a fire costs a few map lookups and no registry call. With metrics off every handle
// is nil and does nothing.
//
// Everything but the lateness and the in-flight gauge is counted once the outcome is recorded:
// a duplicate delivery, a conflict or a takeover's discarded result counts nothing, so each
// execution is counted once whichever worker settles it.
type metrics struct {
	kind string

	success, failed, retries, deadLetters, skipped, timeouts, interrupted *metric.CounterVec
	duration, lateness                                                    *metric.HistogramVec
	inFlight                                                              *metric.GaugeVec
	pushRefusals                                                          *metric.CounterVec

	// The per-job families, for the jobs of metrics.jobs only.
	jobs        jobList
	runs        *metric.CounterVec
	runDuration *metric.HistogramVec
	lastSuccess *metric.GaugeVec
}

func newMetrics(reg *metric.Registry, kind domain.JobKind, jobs []string) (*metrics, error) {
	m := &metrics{kind: string(kind)}
	list, err := parseJobList(jobs)
	if err != nil {
		return nil, err
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []struct {
		h **metric.CounterVec
		n metric.Name
	}{
		{&m.success, metric.JobSuccess}, {&m.failed, metric.JobFailed}, {&m.retries, metric.JobRetries},
		{&m.deadLetters, metric.JobDeadLetters}, {&m.skipped, metric.JobSkipped}, {&m.timeouts, metric.JobTimeouts},
		{&m.interrupted, metric.JobInterrupted}, {&m.pushRefusals, metric.PushRefusals},
	} {
		if *c.h, err = reg.CounterVec(c.n); err != nil {
			return nil, err
		}
	}
	if m.duration, err = reg.HistogramVec(metric.JobDuration); err != nil {
		return nil, err
	}
	if m.lateness, err = reg.HistogramVec(metric.FireLateness); err != nil {
		return nil, err
	}
	if m.inFlight, err = reg.GaugeVec(metric.ExecutionsInFlight); err != nil {
		return nil, err
	}
	if len(list.names) == 0 && len(list.namespaces) == 0 {
		return m, nil
	}
	// Registered only when some job is listed: a scrape of an install without per-job series
	// shows none of their families.
	m.jobs = list
	if m.runs, err = reg.CounterVec(metric.JobRuns); err != nil {
		return nil, err
	}
	if m.runDuration, err = reg.HistogramVec(metric.JobRunDuration); err != nil {
		return nil, err
	}
	if m.lastSuccess, err = reg.GaugeVec(metric.JobLastSuccess); err != nil {
		return nil, err
	}
	return m, nil
}

// jobList is metrics.jobs: whole namespaces ("billing/*") and single jobs ("payments/settle").
// Keyed by the pair, so a lookup builds no string.
type jobList struct {
	namespaces map[string]bool
	names      map[jobRef]bool
}

type jobRef struct{ namespace, name string }

func parseJobList(jobs []string) (jobList, error) {
	var l jobList
	for i, j := range jobs {
		ns, name, ok := strings.Cut(j, "/")
		if !ok || ns == "" || name == "" || ns == "*" || strings.Contains(name, "/") || (strings.Contains(name, "*") && name != "*") {
			return jobList{}, fmt.Errorf("metrics.jobs[%d]: %q is not namespace/name or namespace/*", i, j)
		}
		if name == "*" {
			if l.namespaces == nil {
				l.namespaces = map[string]bool{}
			}
			l.namespaces[ns] = true
			continue
		}
		if l.names == nil {
			l.names = map[jobRef]bool{}
		}
		l.names[jobRef{ns, name}] = true
	}
	return l, nil
}

// listed reports whether d's job gets per-job series; without a list it costs one length check.
func (m *metrics) listed(d *event.Due) bool {
	if len(m.jobs.names) == 0 && len(m.jobs.namespaces) == 0 {
		return false
	}
	ns := namespaceOf(d)
	return m.jobs.namespaces[ns] || m.jobs.names[jobRef{ns, d.JobName}]
}

func namespaceOf(d *event.Due) string { return cmp.Or(d.Namespace, domain.DefaultNamespace) }

// observed is what one attempt tells the metrics, gathered on its way and counted once its
// outcome is recorded.
type observed struct {
	res domain.RunResult
	// ran: the attempt reached its runner (the breaker let it through; nothing refused it
	// before), so its duration is the target's.
	ran bool
}

// attemptStatus is the duration family's status of res.
func attemptStatus(res domain.RunResult) string {
	switch res.Status {
	case domain.StatusSucceeded:
		return metric.AttemptSucceeded
	case domain.StatusTimedOut:
		return metric.AttemptTimeout
	}
	return metric.AttemptFailed
}

func failReason(res domain.RunResult) string {
	return string(cmp.Or(res.Reason, domain.FailOther))
}

// recorded counts the attempt of o, and what verdict v made of e, once both are recorded;
// traceID, when the attempt's span is sampled, is the duration's exemplar.
func (m *metrics) recorded(d *event.Due, e *domain.Execution, o observed, v verdict, traceID string) {
	ns := namespaceOf(d)
	listed := m.listed(d)
	if o.ran {
		secs := o.res.Duration.Seconds()
		m.duration.Observe(secs, traceID, ns, m.kind, attemptStatus(o.res))
		if listed {
			m.runDuration.Observe(secs, traceID, ns, d.JobName)
		}
	}
	if o.res.Status == domain.StatusTimedOut {
		m.timeouts.Inc(ns, m.kind)
	}
	switch v {
	case verdictInterrupted:
		m.interrupted.Inc(m.kind)
	case verdictRetry:
		m.retries.Inc(ns, m.kind, failReason(o.res))
	case verdictDeadLettered:
		m.exhausted(d, ns, listed)
	case verdictFinished:
		if e.Status == domain.StatusSucceeded {
			m.success.Inc(ns, m.kind, string(d.Trigger))
			if listed {
				m.runs.Inc(ns, d.JobName, metric.RunSucceeded)
				m.lastSuccess.Set(float64(finishedAt(e).UnixMilli())/1000, ns, d.JobName)
			}
			return
		}
		m.failed.Inc(ns, m.kind, string(d.Trigger), failReason(o.res))
		if listed {
			m.runs.Inc(ns, d.JobName, metric.RunFailed)
		}
	}
}

// exhausted counts an execution recorded dead-lettered: its attempts ran out.
func (m *metrics) exhausted(d *event.Due, ns string, listed bool) {
	m.failed.Inc(ns, m.kind, string(d.Trigger), string(domain.FailExhausted))
	if listed {
		m.runs.Inc(ns, d.JobName, metric.RunDeadLettered)
	}
}

// deadLetterPublished counts a dead letter this worker recorded, once it is in the dead-letter
// stream.
func (m *metrics) deadLetterPublished(d *event.Due) {
	m.deadLetters.Inc(namespaceOf(d), m.kind)
}

// skip counts a fire recorded skipped; why is the recorded text, which the timeline reads the
// same way.
func (m *metrics) skip(d *event.Due, why string) {
	ns := namespaceOf(d)
	m.skipped.Inc(ns, m.kind, timeline.SkipReason(why))
	if m.listed(d) {
		m.runs.Inc(ns, d.JobName, metric.RunSkipped)
	}
}

// started observes how late the first attempt of d's fire calls its target; traceID, when the
// attempt's span is sampled, is the exemplar.
func (m *metrics) started(d *event.Due, attempt int, now time.Time, traceID string) {
	if attempt != 1 || m.lateness == nil {
		return
	}
	m.lateness.Observe(max(now.Sub(d.ScheduledAt), 0).Seconds(), traceID, m.kind, string(d.Trigger))
}

func finishedAt(e *domain.Execution) time.Time {
	if e.FinishedAt != nil {
		return *e.FinishedAt
	}
	return time.Time{}
}

// pushRefused counts a pushed event refused for reason (confirm).
func (m *metrics) pushRefused(reason string) { m.pushRefusals.Inc(m.kind, reason) }
