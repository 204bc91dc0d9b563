package executor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestBatcherGroupsConcurrentCallsAndAnswersEach(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		callers := rapid.IntRange(1, 200).Draw(t, "callers")
		max := rapid.IntRange(1, 64).Draw(t, "max")
		var calls, biggest atomic.Int32
		b := newBatcher(max, rapid.IntRange(1, 3).Draw(t, "in flight"), time.Millisecond, func(_ context.Context, in []int) ([]int, error) {
			calls.Add(1)
			for n := int32(len(in)); ; {
				old := biggest.Load()
				if n <= old || biggest.CompareAndSwap(old, n) {
					break
				}
			}
			out := make([]int, len(in))
			for i, v := range in {
				out[i] = v * 2
			}
			return out, nil
		})
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				got, err := b.do(context.Background(), i)
				if err != nil || got != 2*i {
					t.Errorf("caller %d got %d, %v", i, got, err)
				}
			})
		}
		wg.Wait()
		require.LessOrEqual(t, int(biggest.Load()), max, "a batch never exceeds its size")
		require.LessOrEqual(t, int(calls.Load()), callers)
	})
}

func TestBatcherSharesAnErrorAndSurvivesTheLeadersCancellation(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	b := newBatcher(10, 1, 20*time.Millisecond, func(ctx context.Context, in []int) ([]int, error) {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, boom
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			_, err := b.do(ctx, 1)
			require.ErrorIs(t, err, boom, "the batch ran although the leader's context was cancelled")
		})
	}
	wg.Wait()
}

// TestBatcherFillsTheNextBatchWhileOneRuns: with one batch in flight, calls arriving while it
// runs wait for it and go together in the next one — one commit for all of them rather than one
// per millisecond — and no two batches ever run at once.
func TestBatcherFillsTheNextBatchWhileOneRuns(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var (
		running, most atomic.Int32
		mu            sync.Mutex
		sizes         []int
	)
	b := newBatcher(100, 1, time.Millisecond, func(_ context.Context, in []int) ([]int, error) {
		if n := running.Add(1); n > most.Load() {
			most.Store(n)
		}
		mu.Lock()
		sizes = append(sizes, len(in))
		first := len(sizes) == 1
		mu.Unlock()
		if first {
			<-release
		}
		running.Add(-1)
		return in, nil
	})
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = b.do(context.Background(), 0) })
	// The first batch runs, alone, and holds its turn.
	require.Eventually(t, func() bool { return running.Load() == 1 }, 10*time.Second, time.Millisecond)
	for i := 1; i <= 20; i++ {
		wg.Go(func() { _, _ = b.do(context.Background(), i) })
	}
	// The twenty gather in the next batch, which waits for its turn.
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.pending != nil && len(b.pending.items) == 20
	}, 10*time.Second, time.Millisecond)
	close(release)
	wg.Wait()
	require.EqualValues(t, 1, most.Load(), "two batches ran at once")
	require.Equal(t, []int{1, 20}, sizes, "the calls that came while the first ran went in one batch")
}
