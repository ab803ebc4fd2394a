//go:build !linux

package benchenv

import "time"

// ClientCPU is only measured on Linux.
func ClientCPU() (time.Duration, bool) { return 0, false }

// ServerCPU is only measured on Linux.
func (e *Env) ServerCPU() (time.Duration, bool) { return 0, false }
