// Package memqueue is the in-process Queue and Worker of the embedded
// default: tasks wait in an unbounded FIFO in memory and are handled by a
// fixed pool of goroutines. Tasks still in memory when the process exits
// are lost; that is by design, the database is swept for them again.
package memqueue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credence-dev/credence/ports"
)

// Defaults of Options.
const (
	DefaultConcurrency     = 4
	DefaultMaxRetry        = 10
	DefaultShutdownTimeout = 10 * time.Second
)

// ErrClosed is returned by Enqueue after Close.
var ErrClosed = errors.New("memqueue: queue closed")

// Options configure a Queue; zero values take the defaults.
type Options struct {
	// Concurrency is how many handlers run at once (default 4).
	Concurrency int
	// MaxRetry is how many times a failed task is tried again (default 10;
	// negative: never), so a task gets MaxRetry+1 attempts in all.
	MaxRetry int
	// RetryDelay is the wait before the next try of a task that failed
	// attempt times (default ports.DefaultRetryDelay: exponential from
	// 1s, capped at 10 minutes, ±20% jitter).
	RetryDelay func(attempt int) time.Duration
	// ShutdownTimeout is how long Run waits for running handlers once its
	// context is done, before it cancels theirs (default 10s).
	ShutdownTimeout time.Duration
	// Log receives failures (default slog.Default()).
	Log *slog.Logger
}

// Queue is both the ports.Queue and the ports.Worker of one in-process
// queue. Tasks enqueued before Run wait for it.
type Queue struct {
	opt     Options
	log     *slog.Logger
	running atomic.Int64 // handlers running now

	mu       sync.Mutex
	cond     *sync.Cond // signalled when a task arrives or Run stops
	pending  []item     // FIFO; pending[0] is next
	retrying int        // failed tasks waiting for their retry timer
	handlers map[string]ports.TaskHandler
	closed   bool // Close was called: Enqueue refuses
	started  bool // Run was called
	stopping bool // Run's context is done: workers take no new task
}

var (
	_ ports.Queue  = (*Queue)(nil)
	_ ports.Worker = (*Queue)(nil)
)

// item is a task with the number of attempts already made.
type item struct {
	task     ports.Task
	attempts int
}

// New returns an empty queue.
func New(o Options) *Queue {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	switch {
	case o.MaxRetry == 0:
		o.MaxRetry = DefaultMaxRetry
	case o.MaxRetry < 0:
		o.MaxRetry = 0
	}
	if o.RetryDelay == nil {
		o.RetryDelay = ports.DefaultRetryDelay
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	q := &Queue{opt: o, log: o.Log, handlers: map[string]ports.TaskHandler{}}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Enqueue appends t to the queue; it never blocks. The payload is copied,
// so the caller may reuse its slice.
func (q *Queue) Enqueue(ctx context.Context, t ports.Task) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if t.Kind == "" {
		return errors.New("memqueue: task kind is empty")
	}
	t.Payload = bytes.Clone(t.Payload)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	q.push(item{task: t})
	return nil
}

// push appends it and wakes one worker; q.mu is held.
func (q *Queue) push(it item) {
	q.pending = append(q.pending, it)
	q.cond.Signal()
}

// Close makes Enqueue refuse new tasks. Tasks already queued are still
// handled while Run runs.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	return nil
}

// Handle registers h for tasks of kind. It panics on an empty kind, a nil
// handler or a second handler for the same kind.
func (q *Queue) Handle(kind string, h ports.TaskHandler) {
	if kind == "" || h == nil {
		panic("memqueue: Handle needs a kind and a handler")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.handlers[kind]; ok {
		panic(fmt.Sprintf("memqueue: second handler for task kind %q", kind))
	}
	q.handlers[kind] = h
}

// Run handles tasks with Concurrency goroutines until ctx is done, then
// drains: it takes no new task and waits up to ShutdownTimeout for the
// running handlers, whose context is cancelled only then (it keeps ctx's
// values, not its cancellation). It returns nil after a clean drain, an
// error when the timeout cut handlers short. Run can be called once.
func (q *Queue) Run(ctx context.Context) error {
	q.mu.Lock()
	if q.started {
		q.mu.Unlock()
		return errors.New("memqueue: Run called twice")
	}
	q.started = true
	q.mu.Unlock()

	hctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var wg sync.WaitGroup
	for range q.opt.Concurrency {
		wg.Go(func() { q.work(hctx) })
	}

	<-ctx.Done()
	q.mu.Lock()
	q.stopping = true
	lost := len(q.pending) + q.retrying
	q.pending = nil
	q.cond.Broadcast()
	q.mu.Unlock()
	if lost > 0 {
		q.log.Info("memqueue stopping: queued tasks dropped, the next sweep finds them again", "tasks", lost)
	}

	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	timer := time.NewTimer(q.opt.ShutdownTimeout)
	defer timer.Stop()
	select {
	case <-drained:
		return nil
	case <-timer.C:
		select {
		case <-drained: // both were ready
			return nil
		default:
		}
		cancel()
		n := q.running.Load()
		q.log.Warn("memqueue: shutdown timeout, task handlers cancelled", "running", n, "timeout", q.opt.ShutdownTimeout)
		grace := time.NewTimer(ports.CancelGrace)
		defer grace.Stop()
		select { // a cancelled handler may still be recording what it did
		case <-drained:
		case <-grace.C:
		}
		return fmt.Errorf("memqueue: %d task handlers still running after the %v shutdown timeout; their contexts were cancelled (%d still running %v later)",
			n, q.opt.ShutdownTimeout, q.running.Load(), ports.CancelGrace)
	}
}

// work handles tasks one at a time until Run stops.
func (q *Queue) work(ctx context.Context) {
	for {
		it, h, ok := q.next()
		if !ok {
			return
		}
		q.handle(ctx, it, h)
	}
}

// next waits for a task and returns it with its handler (nil for an
// unknown kind); ok is false once Run stops.
func (q *Queue) next() (it item, h ports.TaskHandler, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.pending) == 0 && !q.stopping {
		q.cond.Wait()
	}
	if q.stopping {
		return item{}, nil, false
	}
	it = q.pending[0]
	q.pending[0] = item{} // let the payload go
	q.pending = q.pending[1:]
	return it, q.handlers[it.task.Kind], true
}

// handle makes one attempt at it and, when it failed and may be retried,
// puts it back in the queue after the retry delay (a timer, so no worker
// waits meanwhile).
func (q *Queue) handle(ctx context.Context, it item, h ports.TaskHandler) {
	it.attempts++
	if h == nil {
		q.log.Error("memqueue: no handler for task kind, task dropped", "kind", it.task.Kind)
		return
	}
	q.running.Add(1)
	err := h.Call(ctx, it.task)
	q.running.Add(-1)
	if err == nil {
		return
	}
	log := q.log.With("kind", it.task.Kind, "attempt", it.attempts)
	if pe, ok := errors.AsType[*ports.PanicError](err); ok {
		log.Error("memqueue: task handler panicked", "panic", pe.Value, "stack", string(pe.Stack))
	}
	switch {
	case errors.Is(err, ports.ErrPermanent):
		log.Error("memqueue: task failed permanently, dropped", "err", err)
	case ctx.Err() != nil:
		log.Warn("memqueue: task cut short by the shutdown timeout, dropped", "err", err)
	case it.attempts > q.opt.MaxRetry:
		log.Error("memqueue: task failed, retries exhausted, dropped", "err", err)
	default:
		d := q.opt.RetryDelay(it.attempts)
		log.Warn("memqueue: task failed, will retry", "err", err, "in", d)
		q.mu.Lock()
		q.retrying++
		q.mu.Unlock()
		time.AfterFunc(d, func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			q.retrying--
			if !q.stopping {
				q.push(it)
			}
		})
	}
}
