package tick_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/vecron/vecron/shared/domain"
	"github.com/vecron/vecron/shared/queue"
	"github.com/vecron/vecron/shared/testenv"
	"github.com/vecron/vecron/shared/testfactory"
	"github.com/vecron/vecron/shared/tick"
)

// A tick whose clock disagrees with the database's republishes a stranded fire when it has been
// stranded for relay_after by the tick's clock — not 5 s early because the database's clock is
// ahead, nor never while the database's clock lags.
func TestRelayGoesByTheTickClock(t *testing.T) {
	t.Parallel()
	for name, skew := range map[string]time.Duration{"Ahead5s": 5 * time.Second, "Behind5s": -5 * time.Second} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, url := testfactory.Store(t)
			_, js, names := testenv.NATS(t)
			clock := clockwork.NewFakeClockAt(testenv.DatabaseNow(t, url).Add(skew).Truncate(time.Second))

			// A replica claimed this fire at its instant, by the same clock, and died.
			now := clock.Now()
			j := testfactory.Job(t, st, testfactory.JobOpts{NextRunAt: now, Cron: "0 0 0 1 1 *"})
			planner := tick.Planner{Now: now, Horizon: now, MisfireThreshold: time.Minute, MaxFires: 10}
			fires, _, _, err := st.ClaimDue(t.Context(), now, nil, now, 10, planner.Plan)
			require.NoError(t, err)
			require.Len(t, fires, 1)

			col := collect(t, js, names)
			cfg := tick.Config{RelayAfter: 10 * time.Second, RelayInterval: time.Second, MaxSleep: time.Second}
			e, err := tick.New(st, queue.NewPublisher(js), names, clock, slog.New(slog.DiscardHandler), cfg)
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- e.Run(ctx) }()
			defer func() {
				cancel()
				require.NoError(t, <-done)
			}()

			// Each step: wait until the engine sleeps on the clock, then move the clock. A pass of
			// the loop relays synchronously before the engine sleeps again.
			step := func(d time.Duration) {
				t.Helper()
				require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
				clock.Advance(d)
			}
			for range 9 {
				step(time.Second)
			}
			require.NoError(t, clock.BlockUntilContext(t.Context(), 1))
			require.Empty(t, col.snapshot(), "relayed before relay_after by the tick's clock")

			step(2 * time.Second)
			got := col.waitFor(t, 10*time.Second, "the relayed fire", func(r []received) bool { return len(r) == 1 })
			require.Equal(t, domain.ScheduledKey(j.ID, now), got[0].msgID)
		})
	}
}
