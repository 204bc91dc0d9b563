package breaker_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/jonboulle/clockwork"
	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/shared/breaker"
)

func ExampleBreakers_Allow() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
	defer rdb.Close()
	breakers, err := breaker.New(rdb, clockwork.NewRealClock(), breaker.Config{KeyPrefix: "vecron:"}, slog.Default(), nil)
	if err != nil {
		panic(err)
	}

	ctx := context.Background()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/hook", nil)
	done, err := breakers.Allow(ctx, req.URL.Host)
	var open *breaker.OpenError
	if errors.As(err, &open) {
		fmt.Println("host resting; retry in", open.RetryAfter)
		return
	}
	if err != nil {
		return
	}
	resp, err := http.DefaultClient.Do(req)
	// Only the host's own failures count: a 4xx is the job's fault, not the host's.
	done(err == nil && resp.StatusCode < 500)
	if err == nil {
		resp.Body.Close()
	}
}
