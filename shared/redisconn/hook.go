package redisconn

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/vecron/vecron/shared/metric"
)

// errorHook counts the commands of one component's client that failed. A missing key
// (redis.Nil) is an answer, not a failure; a caller that cancelled its context (shutdown) gave
// up on its own. A command that cannot connect fails, and is counted there, not at the dial,
// so one failure counts once. The client's own set-up of each connection (HELLO, CLIENT
// SETINFO and the like, which an older Redis refuses and go-redis goes on without) is not a
// component's command: no component sends those.
type errorHook struct {
	errs      *metric.CounterVec
	component string
}

func (h errorHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h errorHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if failed(cmd, err) {
			h.errs.Inc(h.component)
		}
		return err
	}
}

func (h errorHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		n := 0
		for _, cmd := range cmds {
			if failed(cmd, cmd.Err()) {
				n++
			}
		}
		if n > 0 {
			h.errs.Add(float64(n), h.component)
		}
		return err
	}
}

func failed(cmd redis.Cmder, err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	name := cmd.Name()
	// A script's EVALSHA answers NOSCRIPT on a cold script cache, and go-redis sends it again
	// as EVAL, which is counted on its own: the first try is not an error of Redis.
	if (name == "evalsha" || name == "evalsha_ro") && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		return false
	}
	return name != "hello" && name != "client"
}

var _ redis.Hook = errorHook{}
