package store

import (
	"fmt"
	"time"
)

// Defaults for Limits fields left at zero.
const (
	DefaultMaxStateSize = 1 << 20                   // 1 MiB
	DefaultMaxTTL       = 10 * 365 * 24 * time.Hour // ten (365-day) years
)

// Limits bound what a backend accepts. The zero value means the defaults.
type Limits struct {
	// MaxStateSize is the largest state in bytes; 0 means DefaultMaxStateSize.
	MaxStateSize int
	// MaxTTL is the longest TTL; 0 means DefaultMaxTTL.
	MaxTTL time.Duration
	// MaxPerOwner caps each owner's live sessions (see Owners.CreateOwned);
	// 0 means no cap. A call may set its own cap instead.
	MaxPerOwner int
}

// WithDefaults returns l with zero fields replaced by the defaults.
func (l Limits) WithDefaults() Limits {
	if l.MaxStateSize <= 0 {
		l.MaxStateSize = DefaultMaxStateSize
	}
	if l.MaxTTL <= 0 {
		l.MaxTTL = DefaultMaxTTL
	}
	return l
}

// CheckTTL returns an error wrapping ErrInvalidTTL unless 0 < ttl <= MaxTTL.
func (l Limits) CheckTTL(ttl time.Duration) error {
	l = l.WithDefaults()
	if ttl <= 0 {
		return fmt.Errorf("%w: %v is not positive", ErrInvalidTTL, ttl)
	}
	if ttl > l.MaxTTL {
		return fmt.Errorf("%w: %v exceeds the maximum %v", ErrInvalidTTL, ttl, l.MaxTTL)
	}
	return nil
}

// CheckState returns an error wrapping ErrTooLarge if state exceeds MaxStateSize.
func (l Limits) CheckState(state []byte) error {
	l = l.WithDefaults()
	if len(state) > l.MaxStateSize {
		return fmt.Errorf("%w: %d bytes, at most %d allowed", ErrTooLarge, len(state), l.MaxStateSize)
	}
	return nil
}

// CheckWrite validates the arguments of Create and Update in the order the
// contract gives: ID, then TTL, then size.
func (l Limits) CheckWrite(id ID, state []byte, ttl time.Duration) error {
	if err := id.Validate(); err != nil {
		return err
	}
	if err := l.CheckTTL(ttl); err != nil {
		return err
	}
	return l.CheckState(state)
}

// CheckLimit validates the argument of DeleteExpired.
func CheckLimit(limit int) error {
	if limit < 0 {
		return fmt.Errorf("%w: %d is negative (0 means no limit)", ErrInvalidLimit, limit)
	}
	return nil
}
