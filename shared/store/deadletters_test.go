package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

func TestSilentAttemptResolvedAsGivenUp(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	at := time.Now().UTC().Truncate(time.Second)
	t0 := time.Now().UTC()
	first := newExecution(j, at, "w1", t0)
	outcome, err := st.StartExecution(ctx, first, store.StartParams{StaleAfter: time.Minute, Now: t0})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)

	// Its worker went silent, and the caller decided the attempt was the last one.
	testfactory.SilenceWorker(t, url, first.IdempotencyKey)
	p := store.StartParams{StaleAfter: time.Minute, Now: t0.Add(2 * time.Minute)}
	e := newExecution(j, at, "w2", p.Now)
	outcome, err = st.StartExecution(ctx, e, p)
	require.NoError(t, err)
	require.Equal(t, store.Silent, outcome)
	lost := &domain.Attempt{Attempt: 1, StartedAt: e.StartedAt, FinishedAt: p.Now, Status: domain.StatusFailed,
		Error: "worker w1 went silent", WorkerID: "w1"}
	e.Status, e.FinishedAt, e.Error = domain.StatusDeadLettered, &p.Now, "gave up after 1 attempts: worker w1 went silent"
	ok, err := st.ResolveSilent(ctx, e, lost, p, nil)
	require.NoError(t, err)
	require.True(t, ok)

	got, err := st.ExecutionByKey(ctx, first.IdempotencyKey)
	require.NoError(t, err)
	require.Equal(t, domain.StatusDeadLettered, got.Status)
	require.Equal(t, 1, got.Attempt)
	require.Equal(t, "gave up after 1 attempts: worker w1 went silent", got.Error)
	require.Equal(t, &domain.DeadLetter{State: domain.DeadLetterPending}, got.DeadLetter)
	attempts, err := st.Attempts(ctx, first.ID, first.ScheduledAt)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	require.Equal(t, domain.StatusFailed, attempts[0].Status)
	require.Equal(t, "w1", attempts[0].WorkerID)

	// A later delivery finds it settled.
	outcome, err = st.StartExecution(ctx, newExecution(j, at, "w3", p.Now), p)
	require.NoError(t, err)
	require.Equal(t, store.AlreadyDone, outcome)
}

func TestDeadLettersListDiscardReplay(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	base := time.Now().UTC().Truncate(time.Second)

	var ids []string
	for i := range 3 {
		e := newExecution(j, base.Add(time.Duration(i)*time.Second), "w", time.Now().UTC())
		_, err := st.StartExecution(ctx, e, store.StartParams{StaleAfter: time.Minute})
		require.NoError(t, err)
		finished := time.Now().UTC().Add(time.Duration(i) * time.Millisecond)
		e.Status, e.FinishedAt, e.Error = domain.StatusDeadLettered, &finished, "gave up after 1 attempts: boom"
		require.NoError(t, st.FinishExecution(ctx, e, &domain.Attempt{Attempt: 1, FinishedAt: finished, Status: domain.StatusFailed, Error: "boom"}))
		ids = append(ids, e.ID)
	}

	page, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{State: domain.DeadLetterPending, Limit: 2})
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, []string{ids[2], ids[1]}, []string{page[0].ID, page[1].ID}, "newest first")
	rest, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{State: domain.DeadLetterPending, Limit: 2,
		After: &store.DeadLetterCursor{FinishedAt: *page[1].FinishedAt, ID: page[1].ID}})
	require.NoError(t, err)
	require.Len(t, rest, 1)
	require.Equal(t, ids[0], rest[0].ID)

	discarded, err := st.DiscardDeadLetter(ctx, ids[0], time.Now().UTC())
	require.NoError(t, err)
	require.Equal(t, domain.DeadLetterDiscarded, discarded.DeadLetter.State)
	_, err = st.DiscardDeadLetter(ctx, ids[0], time.Now().UTC())
	require.ErrorIs(t, err, domain.ErrConflict)

	fire := domain.Fire{Key: j.ID + ":replay:x", JobID: j.ID, Kind: domain.KindHTTP, Trigger: domain.TriggerReplay,
		ScheduledAt: base, PublishAt: time.Now().UTC(), Payload: []byte(`{}`)}
	replayed, err := st.ReplayDeadLetter(ctx, ids[1], fire, time.Now().UTC())
	require.NoError(t, err)
	require.Equal(t, domain.DeadLetterReplayed, replayed.DeadLetter.State)
	require.Equal(t, fire.Key, replayed.DeadLetter.ReplayKey)
	queued, err := st.DueQueued(ctx, time.Now().UTC().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, queued, 1)
	require.Equal(t, fire.Key, queued[0].Key)

	// Replaying the same dead letter twice queues nothing more.
	fire.Key = j.ID + ":replay:y"
	_, err = st.ReplayDeadLetter(ctx, ids[1], fire, time.Now().UTC())
	require.ErrorIs(t, err, domain.ErrConflict)
	queued, err = st.DueQueued(ctx, time.Now().UTC().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, queued, 1)

	_, err = st.DiscardDeadLetter(ctx, "0193b7c4-0000-7000-8000-000000000000", time.Now().UTC())
	require.ErrorIs(t, err, domain.ErrNotFound)

	pending, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{State: domain.DeadLetterPending, Limit: 10})
	require.NoError(t, err)
	require.Len(t, pending, 1)
	all, err := st.ListDeadLetters(ctx, store.ListDeadLettersParams{JobID: j.ID, Limit: 10})
	require.NoError(t, err)
	require.Len(t, all, 3)
}
