package tick_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/store"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

// vouching publishes as pub does, first asking the database, as an executor pushed to does
// (store.PushedFires), whether it vouches for each scheduled fire published.
type vouching struct {
	pub *queue.Publisher
	st  *store.Store

	mu                 sync.Mutex
	vouched, unvouched int
}

func (p *vouching) PublishBatch(ctx context.Context, msgs []queue.Message) []error {
	for _, m := range msgs {
		at, ok := domain.KeyInstant(m.MsgID)
		if !ok {
			continue // a wake
		}
		jobID, _, _ := strings.Cut(m.MsgID, ":")
		fs, err := p.st.PushedFires(ctx, []store.PushedQuery{{JobID: jobID, IdempotencyKey: m.MsgID, ScheduledAt: at,
			Trigger: domain.TriggerSchedule, Now: time.Now()}})
		if err != nil {
			panic(err)
		}
		p.mu.Lock()
		if fs[0].HandedOut {
			p.vouched++
		} else {
			p.unvouched++
		}
		p.mu.Unlock()
	}
	return p.pub.PublishBatch(ctx, msgs)
}

// TestForwardedFiresAreClaimedBeforeTheyArePublished: a fire forwarded to an executor that is
// pushed to is believed only once the database shows its claim, so with CommitBeforePublish no
// claim is held open while its fires are published; with held claims (the default otherwise)
// their fires would not be believed yet.
func TestForwardedFiresAreClaimedBeforeTheyArePublished(t *testing.T) {
	t.Parallel()
	for _, commitFirst := range []bool{true, false} {
		st, _ := testfactory.Store(t)
		_, js, names := testenv.NATS(t)
		for range 5 {
			testfactory.Job(t, st, testfactory.JobOpts{})
		}
		pub := &vouching{pub: queue.NewPublisher(js), st: st}
		e, err := tick.New(st, pub, names, clockwork.NewRealClock(), testenv.Logger(t), tick.Config{CommitBeforePublish: commitFirst})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- e.Run(ctx) }()
		testenv.Eventually(t, "fires published", func() bool {
			pub.mu.Lock()
			defer pub.mu.Unlock()
			return pub.vouched+pub.unvouched >= 10
		})
		cancel()
		require.NoError(t, <-done)
		pub.mu.Lock()
		if commitFirst {
			require.Zero(t, pub.unvouched, "every fire's claim was committed before it was published")
		} else {
			require.Positive(t, pub.unvouched, "a held claim is not seen until its fires are published")
		}
		pub.mu.Unlock()
	}
}
