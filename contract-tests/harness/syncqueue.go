package harness

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/credence-dev/credence/ports"
)

// SyncQueue is a ports.Queue and ports.Worker that runs each task's handler
// in the goroutine that enqueues it, before Enqueue returns: a test that
// assembles the core with it (core/platform) sees mail delivered and jobs
// processed as soon as the call that wrote them returns. A handler's error
// fails t (when t is not nil) and is returned by Enqueue; a task of a kind
// with no handler is dropped (the sweep would find its work again).
type SyncQueue struct {
	t        testing.TB
	mu       sync.Mutex
	handlers map[string]ports.TaskHandler
}

// NewSyncQueue returns an empty queue whose handler errors fail t.
func NewSyncQueue(t testing.TB) *SyncQueue {
	return &SyncQueue{t: t, handlers: map[string]ports.TaskHandler{}}
}

// Handle registers h for tasks of kind.
func (q *SyncQueue) Handle(kind string, h ports.TaskHandler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = h
}

// Enqueue runs t's handler now, or drops t when its kind has none.
func (q *SyncQueue) Enqueue(ctx context.Context, t ports.Task) error {
	q.mu.Lock()
	h := q.handlers[t.Kind]
	q.mu.Unlock()
	if h == nil {
		return nil
	}
	if err := h(ctx, t); err != nil {
		err = fmt.Errorf("task %s: %w", t.Kind, err)
		if q.t != nil {
			q.t.Errorf("%v", err)
		}
		return err
	}
	return nil
}

// Run returns when ctx is done: Enqueue does the work.
func (q *SyncQueue) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Close does nothing.
func (q *SyncQueue) Close() error { return nil }
