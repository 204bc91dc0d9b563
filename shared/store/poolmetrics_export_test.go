package store

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Acquire takes a connection of the pool, for a test that holds some.
func (s *Store) Acquire(ctx context.Context) (*pgxpool.Conn, error) { return s.pool.Acquire(ctx) }
