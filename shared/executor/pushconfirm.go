package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/vecron/vecron/shared/delivery"
	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/store"
)

// refusalLogEvery is the most often refused pushed events are logged.
const refusalLogEvery = time.Minute

// errPushRefused marks a pushed event the database does not vouch for.
var errPushRefused = errors.New("pushed event refused")

// confirm rebuilds a pushed due event from the database (docs/deploy.md §4, "Pushed events").
// Over JetStream only vecron's own functions can publish a due event; a push endpoint takes one
// from whoever can reach it, which in a Knative cluster is any pod. So a pushed event only names
// a fire — job, key, instant, trigger — and is believed only as far as the database vouches for
// that fire: its execution is recorded, its outbox row is due, or the claim, backfill or replay
// its trigger names covers it. What the attempt runs — the request or statement, the timeout,
// the retry policy, the concurrency policy, the chains — is the job as stored, never the
// event's. A fire the database does not know is refused for good (400), with nothing recorded.
//
// The payload, trigger and force are the outbox row's while it is there, then what was
// published when it left (published_fires). Still from the event: the claim's replica and
// instant and the trace context, which only label the fire.
func (r *Runtime) confirm(ctx context.Context, d event.Due) (event.Due, error) {
	now := r.now().UTC()
	refuse := func(reason, format string, args ...any) (event.Due, error) {
		r.m.pushRefused(reason)
		if n, ok := r.refusals.Allow(r.clock.Now(), refusalLogEvery); ok {
			r.log.Warn("refused a pushed due event the database does not vouch for; logged at most once a minute, all counted in vecron_executor_push_refusals_total",
				"reason", reason, "detail", clip(fmt.Sprintf(format, args...), 400), "refused_since_last_line", n)
		}
		return d, fmt.Errorf("%w: %w: "+format, append([]any{delivery.ErrPermanent, errPushRefused}, args...)...)
	}
	// Checked before the batch: one event the database would refuse to compare (a NUL, a key
	// longer than any vecron mints) must not fail the real events batched with it.
	if reason := badKey(d); reason != "" {
		return refuse(metric.PushRefusedNotHanded, "%s", reason)
	}
	f, err := r.pushes.do(ctx, store.PushedQuery{JobID: d.JobID, IdempotencyKey: d.IdempotencyKey,
		ScheduledAt: d.ScheduledAt, Trigger: d.Trigger, Now: now})
	if err != nil {
		return d, err // the database could not tell: delivered again
	}
	switch {
	case f.Job == nil && f.Execution != nil && f.Execution.Status == domain.StatusQueued:
		// A retry of a job deleted meanwhile: over JetStream it would run as it was claimed, but
		// what a pushed event says of the deleted job cannot be checked. It is not run, and its
		// record ends here rather than waiting for a delivery that will never be believed.
		reason := "cancelled: the job was deleted before this retry; a pushed retry runs only a job it can read"
		if _, err := r.store.CancelExecution(ctx, f.Execution.ID, reason, now); err != nil && !errors.Is(err, domain.ErrConflict) {
			return d, err
		}
		return refuse(metric.PushRefusedNoJob, "job %s does not exist", d.JobID)
	case f.Job == nil:
		return refuse(metric.PushRefusedNoJob, "job %s does not exist", d.JobID)
	// A tick's own outbox row is due at the fire's instant and may be published up to
	// tick.stage_ahead before it; only a run the api queued for later is waiting.
	case !f.HandedOut || f.Waiting && d.Trigger != domain.TriggerSchedule:
		return refuse(metric.PushRefusedNotHanded, "no %s fire of job %s at %s keyed %q was handed out", d.Trigger, d.JobID,
			d.ScheduledAt.Format("2006-01-02T15:04:05.000Z07:00"), d.IdempotencyKey)
	case f.Job.Kind != r.kind:
		return refuse(metric.PushRefusedWrongKind, "job %s runs on the %s executor, not this %s one", d.JobID, f.Job.Kind, r.kind)
	case !f.Recorded && !f.Queued && (d.Trigger == domain.TriggerSchedule || d.Trigger == domain.TriggerBackfill) &&
		!firesAt(f.Job, d.ScheduledAt):
		// Only the claim or the backfill vouches for it: they cover every instant of a range,
		// the schedule's and any other.
		return refuse(metric.PushRefusedOffSchedule, "job %s's schedule has no fire at %s", d.JobID,
			d.ScheduledAt.Format("2006-01-02T15:04:05.000Z07:00"))
	}
	trigger := d.Trigger
	if f.Recorded || f.Queued || f.Published {
		trigger = f.Trigger
	}
	nd := event.DueFor(f.Job, d.ScheduledAt, trigger, d.IdempotencyKey)
	nd.Forced = f.Forced
	// The payload is the outbox row's, or what was published when the row left; a tick's fire
	// has none. Any other payload is the event's sender's: a fire published before the
	// database kept payloads (an upgrade) or whose day of history is gone runs without one.
	if f.Queued || f.Published {
		nd.Payload = f.Payload
	}
	nd.Retry = withRetryDefaults(nd.Retry)
	// Labels of the fire's timeline and trace, bounded: the event's sender chose them.
	nd.ClaimedBy, nd.ClaimedAt = clip(d.ClaimedBy, maxClaimedBy), d.ClaimedAt
	nd.Trace, nd.TraceState = d.Trace, d.TraceState
	return nd, nil
}

// maxKey bounds a pushed event's key: vecron's keys are a job id and at most a trigger and a
// source event's source and id (domain.Key), and the executions' unique index takes no key
// much longer (a B-tree entry is at most a third of a page).
const (
	maxKey       = 2048
	maxClaimedBy = 128
)

// badKey says why d's key cannot be one vecron minted for d's job, trigger and instant: a
// scheduled or backfill fire's key is its job id and instant (domain.Key), and any other
// names its job and trigger first; "" when it can be.
func badKey(d event.Due) string {
	k := d.IdempotencyKey
	switch {
	case !canonicalUUID(d.JobID):
		// ParseDue takes any form uuid.Validate does ({…}, urn:uuid:…); the database, and
		// every key vecron mints, only the canonical one.
		return "the job id is not a UUID in its canonical form"
	case len(k) > maxKey || !utf8.ValidString(k) || strings.ContainsRune(k, 0):
		return "the key is not one vecron mints: too long, not UTF-8 or holding NUL"
	case !d.ScheduledAt.Equal(domain.Instant(d.ScheduledAt)):
		return "the instant is finer than a millisecond, as no fire's is"
	case d.Trigger == domain.TriggerSchedule || d.Trigger == domain.TriggerBackfill:
		if k != domain.Key(d.JobID, d.Trigger, d.ScheduledAt, "") {
			return fmt.Sprintf("a %s fire's key is its job id and instant", d.Trigger)
		}
	case !strings.HasPrefix(k, d.JobID+":"+string(d.Trigger)+":"):
		return fmt.Sprintf("a %s fire's key begins with its job id and trigger", d.Trigger)
	}
	return ""
}

func canonicalUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}

// clip bounds what an event's sender wrote before it is logged.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
