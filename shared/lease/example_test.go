package lease_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/shared/lease"
)

// A tick replica runs the manager beside its claim loop, claims from the shards it owns, and
// claims again at once when they change.
func ExampleManager() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	leases, err := lease.New(rdb, clockwork.NewRealClock(), lease.Config{KeyPrefix: "vecron:", Instance: "tick-0"}, slog.Default(), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait() // Run releases the leases once ctx ends
	wg.Go(func() { _ = leases.Run(ctx) })

	claim := func(shards []int, fallback bool) {
		fmt.Println("claim due jobs of", len(shards), "shards; redis down:", fallback)
	}
	<-leases.Ready()
	for {
		claim(leases.Owned())
		select {
		case <-leases.Changed():
		case <-time.After(time.Second):
		case <-ctx.Done():
			return
		}
	}
}
