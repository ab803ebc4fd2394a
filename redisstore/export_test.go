package redisstore

// SplitMove returns s with the planted bug of moveSplit.
func SplitMove(s *Store) *Store {
	c := *s
	c.splitMove = true
	return &c
}
