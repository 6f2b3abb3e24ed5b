package ports

import (
	"context"
	"errors"
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
	// (or are lost, for an in-process queue). Run returns nil after a
	// clean drain.
	Run(ctx context.Context) error
}
