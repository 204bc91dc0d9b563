package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
)

// recordAudit appends n rows to st's audit log.
func recordAudit(t *testing.T, st *store.Store, n int) {
	t.Helper()
	ctx := domain.WithActor(t.Context(), domain.Actor{ID: "u1", Name: "ann", Kind: "user", Mode: "database"})
	for i := range n {
		require.NoError(t, st.Record(ctx, store.Change{Action: "job.create", ObjectKind: "job", ObjectID: fmt.Sprint("job-", i)}))
	}
}

func TestAuditForwardCursor(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	recordAudit(t, st, 3)
	for range 2 {
		seq, err := st.AuditForwardCursor(t.Context())
		require.NoError(t, err)
		require.Zero(t, seq, "a new cursor starts before the oldest row")
	}
	rows, err := st.AuditAfter(t.Context(), 0, 2)
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, []int64{1, 2}, []int64{rows[0].Seq, rows[1].Seq})
	rows, err = st.AuditAfter(t.Context(), 2, 2)
	require.NoError(t, err)
	require.Len(t, rows, 1)
	require.Equal(t, int64(3), rows[0].Seq)
}

func TestAdvanceAuditForward(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	recordAudit(t, st, 3)
	_, err := st.AuditForwardCursor(t.Context())
	require.NoError(t, err)
	cursor := func() int64 {
		t.Helper()
		seq, err := st.AuditForwardCursor(t.Context())
		require.NoError(t, err)
		return seq
	}
	nop := func(context.Context) error { return nil }

	require.NoError(t, st.AdvanceAuditForward(t.Context(), 0, 1, nop))
	require.Equal(t, int64(1), cursor())

	refused := errors.New("sink said 500")
	err = st.AdvanceAuditForward(t.Context(), 1, 2, func(context.Context) error { return refused })
	require.ErrorIs(t, err, refused)
	require.Equal(t, int64(1), cursor(), "a row the sink refused is not passed")

	called := false
	err = st.AdvanceAuditForward(t.Context(), 0, 1, func(context.Context) error { called = true; return nil })
	require.ErrorIs(t, err, store.ErrAuditForwardHeld, "the cursor moved past the caller's view")
	require.False(t, called)

	// While one replica delivers, another finds the cursor held and delivers nothing.
	var other error
	err = st.AdvanceAuditForward(t.Context(), 1, 2, func(ctx context.Context) error {
		other = st.AdvanceAuditForward(ctx, 1, 2, func(context.Context) error { called = true; return nil })
		return refused
	})
	require.ErrorIs(t, err, refused)
	require.ErrorIs(t, other, store.ErrAuditForwardHeld)
	require.False(t, called)
	require.Equal(t, int64(1), cursor())

	// The sink accepted the row just as the caller stopped: the cursor still moves.
	ctx, cancel := context.WithCancel(t.Context())
	require.NoError(t, st.AdvanceAuditForward(ctx, 1, 2, func(context.Context) error { cancel(); return nil }))
	require.Equal(t, int64(2), cursor())
}

// A named reader starts at the head of the log, not at its oldest row, and takes turns with
// other replicas through its own cursor, apart from the SIEM forwarder's.
func TestAuditCursor(t *testing.T) {
	t.Parallel()
	st, _ := testfactory.Store(t)
	ctx := t.Context()
	empty, err := st.AuditCursor(ctx, "empty-log")
	require.NoError(t, err)
	require.Zero(t, empty)
	recordAudit(t, st, 3)
	for range 2 {
		seq, err := st.AuditCursor(ctx, "reader")
		require.NoError(t, err)
		require.Equal(t, int64(3), seq, "a new reader starts after the newest row")
	}
	recordAudit(t, st, 2)
	nop := func(context.Context) error { return nil }
	require.ErrorIs(t, st.AdvanceAuditCursor(ctx, "reader", 4, 5, nop), store.ErrAuditForwardHeld, "not where the caller read it")
	require.NoError(t, st.AdvanceAuditCursor(ctx, "reader", 3, 5, nop))
	seq, err := st.AuditCursor(ctx, "reader")
	require.NoError(t, err)
	require.Equal(t, int64(5), seq)

	// While one replica holds it, another delivers nothing; other cursors are free.
	var other, forward error
	called := false
	recordAudit(t, st, 1)
	require.NoError(t, st.AdvanceAuditCursor(ctx, "reader", 5, 6, func(ctx context.Context) error {
		other = st.AdvanceAuditCursor(ctx, "reader", 5, 6, func(context.Context) error { called = true; return nil })
		_, err := st.AuditForwardCursor(ctx)
		require.NoError(t, err)
		forward = st.AdvanceAuditForward(ctx, 0, 1, nop)
		return nil
	}))
	require.ErrorIs(t, other, store.ErrAuditForwardHeld)
	require.False(t, called)
	require.NoError(t, forward)
	seq, err = st.AuditCursor(ctx, "reader")
	require.NoError(t, err)
	require.Equal(t, int64(6), seq)
}

// TestAdvanceAuditForwardOutlastsTheServersIdleTimeout: a server whose
// idle_in_transaction_session_timeout is shorter than a delivery would end the transaction that
// holds the cursor mid-delivery, and another replica would send the row again. A delivery bound
// by its context's deadline holds the lock for that long whatever the server's setting.
func TestAdvanceAuditForwardOutlastsTheServersIdleTimeout(t *testing.T) {
	t.Parallel()
	st, url := testfactory.Store(t)
	recordAudit(t, st, 2)
	// The same schema, on connections whose server ends a transaction idle for half a second.
	short, err := store.Open(t.Context(), store.Config{URL: url + "&idle_in_transaction_session_timeout=500"})
	require.NoError(t, err)
	t.Cleanup(short.Close)
	_, err = short.AuditForwardCursor(t.Context())
	require.NoError(t, err)
	slow := func(ctx context.Context) error {
		select {
		case <-time.After(1500 * time.Millisecond):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), testenv.Timeout(testenv.WaitDefault))
	defer cancel()
	require.NoError(t, short.AdvanceAuditForward(ctx, 0, 1, slow), "a bounded delivery keeps its lock")
	seq, err := short.AuditForwardCursor(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(1), seq)

	// Unbounded, the server's own setting stands, and it ends the transaction under the delivery.
	err = short.AdvanceAuditForward(t.Context(), 1, 2, slow)
	require.Error(t, err)
	seq, err = short.AuditForwardCursor(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(1), seq, "the cursor did not move")
}
