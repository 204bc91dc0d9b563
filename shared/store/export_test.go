package store

// SetRareBatch makes a listing of rare outcomes read n outcome counts at a time, so that a test
// reaches the ends of batches with a small history.
func (s *Store) SetRareBatch(n int) { s.rareBatch = n }

// CloseConnections closes the pool's connections, so that the next statement opens a new one.
func (s *Store) CloseConnections() { s.pool.Reset() }
