package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testfactory"
)

// TestTraceIDRidesTheInsert: the batched insert and the careful start record the trace id they
// are given (migration 00031) in the statement they already run; none given reads back empty.
func TestTraceIDRidesTheInsert(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	j := testfactory.Job(t, st, testfactory.JobOpts{})
	base := time.Now().UTC().Truncate(time.Second)
	now := time.Now().UTC()
	const tid = "4bf92f3577b34da6a3ce929d0e0e4736"

	batched, bare := newExecution(j, base, "w1", now), newExecution(j, base.Add(time.Second), "w1", now)
	batched.TraceID = tid
	_, err := st.InsertExecutions(ctx, []*domain.Execution{batched, bare})
	require.NoError(t, err)
	careful := newExecution(j, base.Add(2*time.Second), "w2", now)
	careful.TraceID = tid
	outcome, err := st.StartExecution(ctx, careful, store.StartParams{StaleAfter: time.Minute, Exclusive: true, Now: now})
	require.NoError(t, err)
	require.Equal(t, store.Started, outcome)

	for e, want := range map[*domain.Execution]string{batched: tid, bare: "", careful: tid} {
		got, err := st.ExecutionByKey(ctx, e.IdempotencyKey)
		require.NoError(t, err)
		require.Equal(t, want, got.TraceID, e.IdempotencyKey)
	}
}
