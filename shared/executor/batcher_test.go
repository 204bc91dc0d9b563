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
		b := newBatcher(max, time.Millisecond, func(_ context.Context, in []int) ([]int, error) {
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
	b := newBatcher(10, 20*time.Millisecond, func(ctx context.Context, in []int) ([]int, error) {
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
