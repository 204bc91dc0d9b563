package timeline_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/schedule"
	"github.com/vecron/vecron/shared/timeline"
)

func TestSkipReasonReadsWhatIsRecorded(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"skipped: the job was paused before this fire started":                                              timeline.ReasonPaused,
		"skipped: the job was deleted before this fire started":                                             timeline.ReasonDeleted,
		"frozen: quarter close (freeze 0193 until 2026-03-31T17:00:00Z)":                                    timeline.ReasonFrozen,
		"execution j:1 of this job was still running (concurrency policy forbid)":                           timeline.ReasonForbid,
		"missed by 2m0s; misfire policy skip":                                                               timeline.ReasonMisfire,
		"could not start within its starting deadline 30s (late by 41s)":                                    timeline.ReasonDeadline,
		"skipped: rate: more than 5 events in 1m0s":                                                         timeline.ReasonRate,
		"skipped: the job's schedule was changed before this fire started, and has no fire at this instant": timeline.ReasonRescheduled,
		"something new": timeline.ReasonOther,
	} {
		require.Equal(t, want, timeline.SkipReason(text), text)
	}
}

func TestPausesFromStateChanges(t *testing.T) {
	t.Parallel()
	at := func(h int) time.Time { return time.Date(2026, 1, 1, h, 0, 0, 0, time.UTC) }
	p := timeline.Pauses([]timeline.StateChange{{At: at(1), Enabled: true}, {At: at(2), Enabled: false},
		{At: at(3), Enabled: false}, {At: at(4), Enabled: true}, {At: at(6), Enabled: false}}, false)
	require.Len(t, p, 2)
	require.Equal(t, at(2), p[0].From)
	require.Equal(t, at(4), *p[0].To)
	require.Equal(t, at(6), p[1].From)
	require.Nil(t, p[1].To)
	require.Len(t, timeline.Pauses(nil, false), 1, "paused with nothing recorded: paused throughout")
	require.Empty(t, timeline.Pauses(nil, true))
}

// TestExecutionTimelineNeverInventsASteps: a push delivery has no stream facts (unknown), a run
// started by hand was not claimed (not applicable), a fire skipped at its claim was never
// published, a run still going has a pending result.
func TestExecutionTimelineNeverInventsASteps(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	state := func(tl timeline.Execution, step string) string {
		for _, s := range tl.Steps {
			if s.Step == step {
				return s.State
			}
		}
		return "absent"
	}
	pushed := timeline.ForExecution(&domain.Execution{ID: "e", Trigger: domain.TriggerSchedule, ScheduledAt: at, Status: domain.StatusRunning,
		Attempt: 1, StartedAt: &at, WorkerID: "w"}, nil, nil)
	require.Equal(t, timeline.StateUnknown, state(pushed, timeline.StepClaimed))
	require.Equal(t, timeline.StateUnknown, state(pushed, timeline.StepPublished))
	require.Equal(t, timeline.StateUnknown, state(pushed, timeline.StepDelivered))
	require.Equal(t, timeline.StatePending, state(pushed, timeline.StepAttempt))
	require.Equal(t, timeline.StatePending, state(pushed, timeline.StepResult))

	manual := timeline.ForExecution(&domain.Execution{ID: "m", Trigger: domain.TriggerManual, ScheduledAt: at, Status: domain.StatusQueued}, nil, nil)
	require.Equal(t, timeline.StateNotApplicable, state(manual, timeline.StepClaimed))
	require.Equal(t, timeline.StatePending, state(manual, timeline.StepPublished))

	frozen := timeline.ForExecution(&domain.Execution{ID: "f", Trigger: domain.TriggerSchedule, ScheduledAt: at, Status: domain.StatusSkipped,
		FinishedAt: &at, Error: "frozen: release (freeze x until 2026-01-02T00:00:00Z)"}, nil, nil)
	require.Equal(t, timeline.StateNotApplicable, state(frozen, timeline.StepPublished))
	require.Equal(t, timeline.ReasonFrozen, frozen.Steps[len(frozen.Steps)-1].Reason)

	open := timeline.ForExecution(&domain.Execution{ID: "b", Trigger: domain.TriggerSchedule, ScheduledAt: at, Status: domain.StatusDeadLettered,
		FinishedAt: &at, Error: "not sent: circuit breaker open for example.test:443"}, nil,
		[]domain.Attempt{{Attempt: 1, FinishedAt: at, Status: domain.StatusFailed, Error: "not sent: circuit breaker open for example.test:443"}})
	require.Equal(t, timeline.ReasonBreakerOpen, open.Steps[len(open.Steps)-1].Reason)
	require.Equal(t, timeline.ReasonBreakerOpen, open.Steps[len(open.Steps)-2].Reason)
}

// TestPropertyAssembleAgreesWithAReference: over random hourly schedules with excluded days and
// windows, random recorded executions (ran or skipped), random pauses and a random now, every
// expected instant appears once, in order, with the reason a brute-force reference gives it,
// and every execution appears exactly once.
func TestPropertyAssembleAgreesWithAReference(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		from := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)
		to := from.Add(time.Duration(rapid.IntRange(1, 96).Draw(t, "hours")) * time.Hour)
		in := domain.Schedule{Cron: fmt.Sprintf("0 %d * * * ?", rapid.IntRange(0, 59).Draw(t, "minute"))}
		if rapid.Bool().Draw(t, "excluded") {
			in.ExcludedDates = []string{from.AddDate(0, 0, rapid.IntRange(0, 3).Draw(t, "day")).Format(time.DateOnly)}
		}
		if rapid.Bool().Draw(t, "window") {
			end := from.Add(time.Duration(rapid.IntRange(1, 96).Draw(t, "end")) * time.Hour)
			in.EndAt = &end
		}
		s, err := schedule.Parse(in, "UTC")
		require.NoError(t, err)
		expected, _ := s.Expected(from, to, 10_000)
		created := from.Add(time.Duration(rapid.IntRange(-5, 20).Draw(t, "created")) * time.Hour)
		now := from.Add(time.Duration(rapid.IntRange(0, 120).Draw(t, "now")) * time.Hour)
		var changes []timeline.StateChange
		// Pause, resume, pause … in the order the audit log keeps them.
		for i, h := range slices.Sorted(slices.Values(rapid.SliceOfNDistinct(rapid.IntRange(0, 96), 0, 4, func(i int) int { return i }).Draw(t, "changes"))) {
			changes = append(changes, timeline.StateChange{At: from.Add(time.Duration(h) * time.Hour), Enabled: i%2 == 1})
		}
		pauses := timeline.Pauses(changes, true)
		var execs []*domain.Execution
		ran := map[time.Time]*domain.Execution{}
		for _, x := range expected {
			if x.Kind != schedule.ExpectedFire || !rapid.Bool().Draw(t, "recorded") {
				continue
			}
			e := &domain.Execution{ID: x.At.String(), IdempotencyKey: domain.ScheduledKey("j", x.At), Trigger: domain.TriggerSchedule,
				ScheduledAt: x.At, Status: rapid.SampledFrom([]domain.ExecutionStatus{domain.StatusSucceeded, domain.StatusSkipped}).Draw(t, "status")}
			if e.Status == domain.StatusSkipped {
				e.Error = "execution j:1 of this job was still running (concurrency policy forbid)"
			}
			execs, ran[x.At] = append(execs, e), e
		}
		manual := &domain.Execution{ID: "manual", IdempotencyKey: "j:manual:1", Trigger: domain.TriggerManual, ScheduledAt: from.Add(90 * time.Minute), Status: domain.StatusSucceeded}
		execs = append(execs, manual)

		got := timeline.Assemble("j", timeline.Facts{Now: now, Due: time.Minute, Created: created, Expected: expected,
			Executions: execs, Pauses: pauses})

		// The reference, instant by instant.
		paused := func(at time.Time) bool {
			state := true
			for _, c := range changes {
				if !c.At.After(at) {
					state = c.Enabled
				}
			}
			return !state
		}
		reference := func(x schedule.Expected) string {
			switch {
			case x.Kind != schedule.ExpectedFire:
				return x.Kind
			case ran[x.At] != nil && ran[x.At].Status == domain.StatusSkipped:
				return timeline.ReasonForbid
			case ran[x.At] != nil:
				return ""
			case x.At.After(now.Add(-time.Minute)):
				return timeline.ReasonNotYetDue
			case x.At.Before(created):
				return timeline.ReasonBeforeCreated
			case paused(x.At):
				return timeline.ReasonPaused
			}
			return timeline.ReasonUnknown
		}
		var i int
		seen := map[string]int{}
		for k, f := range got {
			if k > 0 {
				require.False(t, f.At.Before(got[k-1].At), "out of order")
			}
			if f.ExecutionID != "" {
				seen[f.ExecutionID]++
			}
			if !f.Expected {
				continue
			}
			require.Equal(t, expected[i].At, f.At)
			require.Equal(t, reference(expected[i]), f.Reason, "instant %s", f.At)
			i++
		}
		require.Equal(t, len(expected), i)
		for _, e := range execs {
			require.Equal(t, 1, seen[e.ID], "execution %s listed once", e.ID)
		}
	})
}
