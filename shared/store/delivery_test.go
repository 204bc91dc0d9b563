package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestDeliveryFactsRideEveryWayOfRecordingAFire: the batched insert, the careful start, its
// resume of a queued retry and a skip each write the delivery facts they are given, in the
// statement they already run, and a fire recorded without any reads back as nil.
func TestDeliveryFactsRideEveryWayOfRecordingAFire(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	base := time.Now().UTC().Truncate(time.Second)
	now := time.Now().UTC()
	claimed, stored := base.Add(-1250*time.Millisecond), base.Add(-500*time.Millisecond)
	facts := func(seq uint64, count int) *domain.DeliveryFacts {
		return &domain.DeliveryFacts{ClaimedBy: "tick-a", ClaimedAt: &claimed, PublishedAt: &stored,
			StreamSeq: seq, Consumer: "execute-http", DeliveryCount: count}
	}

	batched, bare := newExecution(j, base, "w1", now), newExecution(j, base.Add(time.Second), "w1", now)
	batched.Delivery = facts(41, 1)
	_, err := st.InsertExecutions(ctx, []*domain.Execution{batched, bare})
	require.NoError(t, err)
	got, err := st.DeliveryFacts(ctx, batched.ID, batched.ScheduledAt)
	require.NoError(t, err)
	require.Equal(t, facts(41, 1), got)
	got, err = st.DeliveryFacts(ctx, bare.ID, bare.ScheduledAt)
	require.NoError(t, err)
	require.Nil(t, got, "nothing known is nothing invented")

	careful := newExecution(j, base.Add(2*time.Second), "w2", now)
	careful.Delivery = facts(42, 1)
	outcome, err := st.StartExecution(ctx, careful, store.StartParams{StaleAfter: time.Minute, Exclusive: true, Now: now})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)
	got, err = st.DeliveryFacts(ctx, careful.ID, careful.ScheduledAt)
	require.NoError(t, err)
	require.Equal(t, facts(42, 1), got)

	// Its attempt fails and waits for a retry; the redelivery that resumes it counts 2.
	finished := now.Add(time.Second)
	careful.Status, careful.NextAttemptAt, careful.Error = domain.StatusQueued, &finished, "target answered 503"
	done, err := st.FinishExecutions(ctx, []store.Finish{{Execution: careful,
		Attempt: &domain.Attempt{Attempt: 1, StartedAt: careful.StartedAt, FinishedAt: finished, Status: domain.StatusFailed, Error: "target answered 503"}}})
	require.NoError(t, err)
	require.Equal(t, []bool{true}, done)
	retry := newExecution(j, careful.ScheduledAt, "w3", finished)
	retry.Delivery = &domain.DeliveryFacts{StreamSeq: 42, Consumer: "execute-http", DeliveryCount: 2}
	outcome, err = st.StartExecution(ctx, retry, store.StartParams{StaleAfter: time.Minute, IgnoreBackoff: true, Now: finished})
	require.NoError(t, err)
	require.Equal(t, store.Resumed, outcome)
	got, err = st.DeliveryFacts(ctx, careful.ID, careful.ScheduledAt)
	require.NoError(t, err)
	require.Equal(t, facts(42, 2), got, "the claim is kept, the count is the resuming delivery's")

	// Its worker goes silent; the delivery that takes it over is counted 3.
	testfactory.SilenceWorker(t, url, careful.IdempotencyKey)
	lost := &domain.Attempt{Attempt: retry.Attempt, StartedAt: retry.StartedAt, FinishedAt: finished, Status: domain.StatusFailed, WorkerID: "w3"}
	takeover := *retry
	takeover.Attempt, takeover.WorkerID = retry.Attempt+1, "w4"
	takeover.Delivery = &domain.DeliveryFacts{StreamSeq: 42, Consumer: "execute-http", DeliveryCount: 3}
	resolved, err := st.ResolveSilent(ctx, &takeover, lost, store.StartParams{StaleAfter: time.Minute}, nil)
	require.NoError(t, err)
	require.True(t, resolved)
	got, err = st.DeliveryFacts(ctx, careful.ID, careful.ScheduledAt)
	require.NoError(t, err)
	require.Equal(t, facts(42, 3), got)

	skipped := newExecution(j, base.Add(3*time.Second), "w4", now)
	skipped.Status, skipped.StartedAt, skipped.FinishedAt, skipped.Error = domain.StatusSkipped, nil, &now, "late"
	skipped.Delivery = facts(43, 1)
	recorded, err := st.RecordSkipped(ctx, skipped)
	require.NoError(t, err)
	require.True(t, recorded)
	got, err = st.DeliveryFacts(ctx, skipped.ID, skipped.ScheduledAt)
	require.NoError(t, err)
	require.Equal(t, facts(43, 1), got)
}

// TestEnabledChangesAreTheJobsOwnNotItsWebhooks: a job's webhook is audited under the job, and
// its view has an "enabled" of its own; disabling the webhook does not pause the job, so it is
// no change of the job's state (the fires of a job whose webhook was disabled read "paused").
func TestEnabledChangesAreTheJobsOwnNotItsWebhooks(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: "ops", Name: "ops", Kind: "user", Mode: "database"})
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	paused, resumed := time.Now().UTC().Add(-2*time.Hour).Truncate(time.Second), time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	_, err := st.SetEnabled(ctx, j.ID, false, nil, paused)
	require.NoError(t, err)
	_, err = st.SetEnabled(ctx, j.ID, true, nil, resumed)
	require.NoError(t, err)
	_, err = st.PutWebhook(ctx, &store.WebhookRecord{JobID: j.ID, TokenHash: []byte(j.ID), TokenHint: "h", KeyID: "k", Sealed: []byte("s")},
		j.Namespace, &domain.Webhook{JobID: j.ID, Enabled: true})
	require.NoError(t, err)
	_, err = st.DisableWebhook(ctx, j.ID, j.Namespace, func(w *store.WebhookRecord) *domain.Webhook {
		return &domain.Webhook{JobID: w.JobID, Enabled: w.Enabled}
	})
	require.NoError(t, err)

	changes, err := st.EnabledChanges(ctx, j.ID, time.Now().Add(time.Hour), 100)
	require.NoError(t, err)
	require.Equal(t, []store.EnabledChange{{At: paused, Enabled: false}, {At: resumed, Enabled: true}}, changes,
		"the pause and the resume; not the webhook's enable and disable")
}
