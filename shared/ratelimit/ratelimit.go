// Package ratelimit enforces event triggers' max_rate in Redis, so every api replica shares one
// allowance per job: GCRA through github.com/go-redis/redis_rate (docs/event-triggers.md).
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/shared/domain"
)

// Events limits the events that start a job.
type Events struct {
	limiter *redis_rate.Limiter
	prefix  string
}

// NewEvents returns a limiter over rdb whose keys start with prefix (the installation's Redis
// prefix; tests give each their own).
func NewEvents(rdb *redis.Client, prefix string) *Events {
	return &Events{limiter: redis_rate.NewLimiter(rdb), prefix: prefix}
}

// Allow takes one event from job jobID's allowance of r: r.Events per r.Per, all of them
// usable at once. It reports false when the allowance is spent, and an error when Redis does
// not answer.
func (e *Events) Allow(ctx context.Context, jobID string, r domain.EventRate) (bool, error) {
	res, err := e.limiter.Allow(ctx, e.prefix+"event-rate:"+jobID, redis_rate.Limit{Rate: r.Events, Burst: r.Events, Period: time.Duration(r.Per)})
	if err != nil {
		return false, fmt.Errorf("check event rate: %w", err)
	}
	return res.Allowed > 0, nil
}
