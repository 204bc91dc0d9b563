package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ListenJobChanges calls notify whenever a job is created or edited in this store's schema, until
// ctx ends. It holds one connection of the pool for LISTEN and returns the error that broke the
// connection (or ctx's); the caller decides whether to listen again.
func (s *Store) ListenJobChanges(ctx context.Context, ready func(), notify func()) error {
	return s.listen(ctx, "vecron_jobs", "job changes", ready, notify)
}

// ListenAudit is ListenJobChanges for rows appended to the audit log.
func (s *Store) ListenAudit(ctx context.Context, ready func(), notify func()) error {
	return s.listen(ctx, "vecron_audit", "audit rows", ready, notify)
}

func (s *Store) listen(ctx context.Context, channel, what string, ready func(), notify func()) error {
	pooled, err := s.pool.Acquire(ctx)
	if err != nil {
		return translate("listen for "+what, err)
	}
	// A LISTENing session must never go back to the pool with its subscription.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.schema + "." + channel}.Sanitize()); err != nil {
		return translate("listen for "+what, err)
	}
	if ready != nil {
		ready()
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		notify()
	}
}
