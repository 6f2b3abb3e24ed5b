// Package queueutil holds what the queue adapters (memqueue, asynqueue)
// share, so both behave alike: the default retry delay and the panic-safe
// call of a handler. It is no adapter itself and imports only ports.
package queueutil

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"

	"github.com/credence-dev/credence/ports"
)

// Bounds of DefaultRetryDelay before jitter.
const (
	firstRetryDelay = time.Second
	maxRetryDelay   = 10 * time.Minute
)

// DefaultRetryDelay is the delay before retrying a task that failed attempt
// times (attempt ≥ 1): 1s·2^(attempt-1), capped at 10 minutes, then spread
// by ±20% jitter so tasks that failed together do not retry together.
func DefaultRetryDelay(attempt int) time.Duration {
	d := maxRetryDelay
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 20 { // 2^20 s is far past the cap; larger shifts could overflow
		d = min(firstRetryDelay<<(attempt-1), maxRetryDelay)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// PanicError is the error Call returns for a handler that panicked.
type PanicError struct {
	Value any    // what the handler panicked with
	Stack []byte // the panicking goroutine's stack, for the log
}

func (e *PanicError) Error() string { return fmt.Sprintf("task handler panicked: %v", e.Value) }

// Call runs h on t and turns a panic into a *PanicError, so a panic counts
// as an error (retried) and never takes the worker down.
func Call(ctx context.Context, h ports.TaskHandler, t ports.Task) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return h(ctx, t)
}
