package ports

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// Task is a unit of background work: a kind naming its handler and an
// opaque payload.
type Task struct {
	Kind    string
	Payload []byte
}

// Queue carries tasks to workers. Delivery is at least once: a task may be
// handled twice (a worker killed mid-task gets it back), so handlers are
// idempotent, and the database, not the queue, records what must be done.
// A task may also be lost (an in-process queue dies with its process), so
// whatever must happen is swept from the database again.
type Queue interface {
	// Enqueue hands t to the workers. It returns once the queue holds it.
	Enqueue(ctx context.Context, t Task) error
	Close() error
}

// TaskHandler handles one task. A returned error makes the queue try the
// task again later, with exponential backoff, up to the queue's retry
// limit; a panic counts as an error. An error wrapping ErrPermanent is not
// retried.
type TaskHandler func(ctx context.Context, t Task) error

// Call runs h on t and returns a panic of h as a *PanicError, so that the
// panic counts as an error (retried) and never takes the worker down.
// Every Worker calls its handlers through it.
func (h TaskHandler) Call(ctx context.Context, t Task) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return h(ctx, t)
}

// PanicError is the error TaskHandler.Call returns for a handler that
// panicked.
type PanicError struct {
	Value any    // what the handler panicked with
	Stack []byte // the panicking goroutine's stack, for the log
}

func (e *PanicError) Error() string { return fmt.Sprintf("task handler panicked: %v", e.Value) }

// Bounds of DefaultRetryDelay before jitter.
const (
	firstRetryDelay = time.Second
	maxRetryDelay   = 10 * time.Minute
)

// DefaultRetryDelay is the exponential backoff of TaskHandler, which a
// Worker applies unless configured otherwise: the delay before retrying a
// task that failed attempt times (attempt ≥ 1) is 1s·2^(attempt-1), capped
// at 10 minutes, then spread by ±20% jitter so tasks that failed together
// do not retry together.
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

// ErrPermanent marks a handler error that retrying cannot fix.
var ErrPermanent = errors.New("permanent task failure")

// Worker runs handlers for the tasks of a queue.
type Worker interface {
	// Handle registers h for tasks of kind; call it before Run. A task of a
	// kind without handler fails permanently.
	Handle(kind string, h TaskHandler)
	// Run handles tasks, at most the configured concurrency at once, until
	// ctx is done. Then it takes no new task and waits for the running
	// handlers to return (drain), up to the shutdown timeout, after which
	// their contexts are cancelled; unfinished tasks stay in the queue
	// (or are lost, for an in-process queue). It then waits up to
	// CancelGrace more for the cancelled handlers to return, so that one
	// recording what it did before it stopped (a webhook attempt's
	// outcome) does so before the caller closes the store. Run returns
	// nil after a clean drain.
	Run(ctx context.Context) error
}

// CancelGrace is how long Worker.Run waits for handlers it cancelled to
// return: longer than a webhook task's last record of its attempts (ten
// seconds at most, all its tries included). A handler still running then
// is left behind: what it did not record is done again (a delivery is
// sent again after its lease, with the same webhook-id).
const CancelGrace = 15 * time.Second
