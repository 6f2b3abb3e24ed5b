// Package sysclock is the Clock adapter that reads the system time.
package sysclock

import (
	"time"

	"github.com/credence-dev/credence/ports"
)

// Clock is the system clock.
type Clock struct{}

var _ ports.Clock = Clock{}

// Now returns the current time in UTC.
func (Clock) Now() time.Time { return time.Now().UTC() }
