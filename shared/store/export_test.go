package store

// SetRareBatch makes a listing of rare outcomes read n outcome counts at a time, so that a test
// reaches the ends of batches with a small history.
func (s *Store) SetRareBatch(n int) { s.rareBatch = n }
