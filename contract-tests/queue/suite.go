// Package queue is the contract suite of ports.Queue and ports.Worker:
// every adapter runs the same Run, so the in-process queue and asynq behave
// alike. Each case documents the port sentence it checks.
package queue

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// Options are the settings the suite asks of a queue; the factory must
// build its queue and worker with exactly these.
type Options struct {
	Concurrency     int                             // handlers at once
	MaxRetry        int                             // retries after the first attempt
	RetryDelay      func(attempt int) time.Duration // wait after the attempt-th failure
	ShutdownTimeout time.Duration                   // drain limit of Run
}

// Factory returns a fresh, empty queue and its worker, built with o. It
// releases them (closing the queue, which the suite may have closed
// already) when t ends; the suite has stopped the worker by then.
type Factory func(t *testing.T, o Options) (ports.Queue, ports.Worker)

// Time limits: deadline for what must happen (so a broken adapter fails
// instead of hanging), quiet for watching that something does not happen
// (longer than a retry that should not come: asynq adds up to a second).
const (
	deadline = 20 * time.Second
	quiet    = 2 * time.Second
)

// defaults are the suite's fast-retry options; a case may change them.
func defaults() Options {
	return Options{
		Concurrency:     4,
		MaxRetry:        3,
		RetryDelay:      func(attempt int) time.Duration { return 10 * time.Millisecond * time.Duration(attempt) },
		ShutdownTimeout: 2 * time.Second,
	}
}

// Run runs every case of the contract against queues from newQueue. Each
// case gets its own queue and runs in parallel with the others.
func Run(t *testing.T, newQueue Factory) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Factory)
	}{
		{"every_task_handled_with_its_kind_and_payload", testEveryTaskHandled},
		{"tasks_enqueued_before_run_are_handled", testEnqueuedBeforeRun},
		{"error_is_retried_with_growing_delays_then_dropped", testRetryThenGiveUp},
		{"permanent_error_is_not_retried", testPermanent},
		{"panic_is_retried_and_worker_goes_on", testPanic},
		{"concurrency_is_the_configured_number", testConcurrency},
		{"drain_waits_for_running_handlers", testDrain},
		{"drain_timeout_cancels_handler_contexts", testDrainTimeout},
		{"handler_can_enqueue", testEnqueueFromHandler},
		{"unknown_kind_fails_alone", testUnknownKind},
		{"enqueue_after_close_fails", testEnqueueAfterClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newQueue)
		})
	}
}

// ---- cases ----

// "Enqueue hands t to the workers" and delivery is at least once: 500
// tasks of two kinds, enqueued from several goroutines while the worker
// runs, each reach the handler of their kind with their exact payload
// (empty, binary, 64 KiB).
func testEveryTaskHandled(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	const n = 500
	kinds := []string{"ct.alpha", "ct.beta"}
	tasks := make([]ports.Task, n)
	for i := range tasks {
		p := make([]byte, 4+i%61)
		binary.BigEndian.PutUint32(p, uint32(i)) // unique
		_, _ = rand.Read(p[4:])
		tasks[i] = ports.Task{Kind: kinds[i%2], Payload: p}
	}
	tasks[0].Payload = nil
	tasks[1].Payload = append(tasks[1].Payload, bytes.Repeat([]byte{0, 0xff, '\n', 0xc3}, 16<<10)...)

	var mu sync.Mutex
	seen := map[string][]string{} // payload → kinds it was handled as
	for _, k := range kinds {
		f.w.Handle(k, func(_ context.Context, task ports.Task) error {
			mu.Lock()
			defer mu.Unlock()
			seen[string(task.Payload)] = append(seen[string(task.Payload)], task.Kind)
			return nil
		})
	}
	f.start()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range 5 {
		wg.Go(func() {
			for i := g; i < n; i += 5 {
				if err := f.q.Enqueue(f.ctx(), tasks[i]); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Enqueue: %v", err)
	}

	missing := func() (m int) {
		mu.Lock()
		defer mu.Unlock()
		for _, task := range tasks {
			if len(seen[string(task.Payload)]) == 0 {
				m++
			}
		}
		return m
	}
	eventually(t, func() bool { return missing() == 0 }, "every task handled (%d of %d missing)", missing, n)
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{}
	for _, task := range tasks {
		want[string(task.Payload)] = task.Kind
	}
	for p, ks := range seen {
		for _, k := range ks {
			if want[p] != k {
				t.Fatalf("a payload of %d bytes enqueued as %q (empty: not enqueued) was handled as %q", len(p), want[p], k)
			}
		}
	}
	if len(seen) != n {
		t.Fatalf("handlers saw %d distinct payloads, want %d", len(seen), n)
	}
}

// Tasks enqueued before Run wait for it: the queue holds them.
func testEnqueuedBeforeRun(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	const n = 20
	var handled atomic.Int64
	for i := range n {
		f.enqueue("ct.early", fmt.Appendf(nil, "early-%d", i))
	}
	f.w.Handle("ct.early", func(context.Context, ports.Task) error { handled.Add(1); return nil })
	f.start()
	eventually(t, func() bool { return handled.Load() >= n }, "%d of %d tasks enqueued before Run handled", handled.Load, n)
}

// "A returned error makes the queue try the task again later, with
// exponential backoff, up to the queue's retry limit": MaxRetry+1 calls in
// all, RetryDelay asked for attempts 1…MaxRetry in turn, each retry no
// sooner than its delay after the failure, then no call any more.
func testRetryThenGiveUp(t *testing.T, newQueue Factory) {
	delay := func(attempt int) time.Duration { return 100 * time.Millisecond * time.Duration(attempt) }
	f := setup(t, newQueue, func(o *Options) { o.RetryDelay = delay })
	calls := &callLog{}
	f.w.Handle("ct.fail", func(context.Context, ports.Task) error {
		calls.add()
		return errors.New("not yet")
	})
	f.start()
	f.enqueue("ct.fail", []byte("x"))

	want := f.opts.MaxRetry + 1
	eventually(t, func() bool { return calls.n() >= want }, "%d of %d attempts made", calls.n, want)
	time.Sleep(quiet)
	times := calls.get()
	if len(times) != want {
		t.Fatalf("handler called %d times, want %d (1 + MaxRetry %d)", len(times), want, f.opts.MaxRetry)
	}
	for k := 1; k < len(times); k++ {
		gap := times[k].Sub(times[k-1])
		t.Logf("retry %d: %v after attempt %d (RetryDelay %v)", k, gap.Round(time.Millisecond), k, delay(k))
		if gap < delay(k) {
			t.Errorf("retry %d came %v after the failure, sooner than RetryDelay(%d) = %v", k, gap, k, delay(k))
		}
	}
	if got, want := f.delays.get(), seq(f.opts.MaxRetry); !slices.Equal(got, want) {
		t.Errorf("RetryDelay asked for attempts %v, want %v", got, want)
	}
}

// "An error wrapping ErrPermanent is not retried": one call, no more.
func testPermanent(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	calls := &callLog{}
	f.w.Handle("ct.bad", func(context.Context, ports.Task) error {
		calls.add()
		return fmt.Errorf("malformed payload: %w", ports.ErrPermanent)
	})
	f.start()
	f.enqueue("ct.bad", []byte("x"))
	eventually(t, func() bool { return calls.n() >= 1 }, "the task handled (%d calls)", calls.n)
	time.Sleep(quiet)
	if n := calls.n(); n != 1 {
		t.Fatalf("handler called %d times, want 1", n)
	}
	if got := f.delays.get(); len(got) != 0 {
		t.Fatalf("RetryDelay asked for attempts %v, want none", got)
	}
}

// "A panic counts as an error": a handler panicking twice is called a
// third time (and then no more: it succeeded), while the tasks enqueued
// after it are all handled.
func testPanic(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	calls := &callLog{}
	f.w.Handle("ct.panic", func(context.Context, ports.Task) error {
		if calls.add() <= 2 {
			panic("handler bug")
		}
		return nil
	})
	const n = 20
	var ok atomic.Int64
	f.w.Handle("ct.ok", func(context.Context, ports.Task) error { ok.Add(1); return nil })
	f.start()
	f.enqueue("ct.panic", []byte("x"))
	for i := range n {
		f.enqueue("ct.ok", fmt.Appendf(nil, "ok-%d", i))
	}
	eventually(t, func() bool { return ok.Load() >= n }, "%d of %d other tasks handled", ok.Load, n)
	eventually(t, func() bool { return calls.n() >= 3 }, "panicking task tried %d times, want 3", calls.n)
	time.Sleep(quiet)
	if got := calls.n(); got != 3 {
		t.Fatalf("panicking task tried %d times, want 3 (two panics, one success)", got)
	}
	if got, want := f.delays.get(), seq(2); !slices.Equal(got, want) {
		t.Errorf("RetryDelay asked for attempts %v, want %v", got, want)
	}
}

// "Run handles tasks, at most the configured concurrency at once": with
// Concurrency 4, four handlers meet at a barrier (which would time out with
// fewer at once), and no fifth ever runs beside them.
func testConcurrency(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	c := int64(f.opts.Concurrency)
	const n = 12
	var inflight, most, done atomic.Int64
	full := make(chan struct{})
	var once sync.Once
	f.w.Handle("ct.meet", func(ctx context.Context, _ ports.Task) error {
		defer done.Add(1)
		k := inflight.Add(1)
		defer inflight.Add(-1)
		for m := most.Load(); k > m && !most.CompareAndSwap(m, k); m = most.Load() {
		}
		if k >= c {
			once.Do(func() { close(full) })
		}
		select {
		case <-full:
		case <-ctx.Done():
		case <-time.After(deadline):
		}
		time.Sleep(20 * time.Millisecond) // a handler too many would show now
		return nil
	})
	for i := range n {
		f.enqueue("ct.meet", fmt.Appendf(nil, "meet-%d", i))
	}
	f.start()
	select {
	case <-full:
	case <-time.After(deadline):
		t.Fatalf("never %d handlers at once in %v (at most %d)", c, deadline, most.Load())
	}
	eventually(t, func() bool { return done.Load() >= n }, "%d of %d tasks handled", done.Load, n)
	if m := most.Load(); m > c {
		t.Fatalf("%d handlers ran at once, want at most %d", m, c)
	}
}

// Once Run's ctx is done, "it takes no new task and waits for the running
// handlers to return (drain)": Run returns only after a handler busy for
// 300ms has returned, whose context was not cancelled, and returns nil.
func testDrain(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	started := make(chan struct{})
	var once sync.Once
	var finished atomic.Bool
	ctxErr := make(chan error, 1)
	f.w.Handle("ct.slow", func(ctx context.Context, _ ports.Task) error {
		once.Do(func() { close(started) })
		select {
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
		}
		select {
		case ctxErr <- ctx.Err():
		default:
		}
		finished.Store(true)
		return nil
	})
	f.start()
	f.enqueue("ct.slow", []byte("x"))
	wait(t, started, "the handler to start")
	begin := time.Now()
	err := f.stop()
	t.Logf("Run returned after %v", time.Since(begin).Round(time.Millisecond))
	if !finished.Load() {
		t.Fatalf("Run returned before the running handler did")
	}
	if err := <-ctxErr; err != nil {
		t.Fatalf("the handler's context was cancelled during the drain (%v); only the shutdown timeout may do that", err)
	}
	if err != nil {
		t.Fatalf("Run after a clean drain: %v, want nil", err)
	}
}

// "…up to the shutdown timeout, after which their contexts are
// cancelled. It then waits up to CancelGrace more for the cancelled
// handlers to return": a handler that outlives ShutdownTimeout keeps Run
// waiting that long, then sees its context cancelled, and Run returns
// once the handler has recorded what it did (a write that takes a
// moment) and returned.
func testDrainTimeout(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, func(o *Options) { o.ShutdownTimeout = 500 * time.Millisecond })
	started, cancelled := make(chan struct{}), make(chan struct{})
	var startOnce, cancelOnce sync.Once
	var recorded atomic.Bool
	f.w.Handle("ct.stuck", func(ctx context.Context, _ ports.Task) error {
		startOnce.Do(func() { close(started) })
		select {
		case <-ctx.Done():
			cancelOnce.Do(func() { close(cancelled) })
			time.Sleep(300 * time.Millisecond) // records what it did
			recorded.Store(true)
		case <-time.After(deadline):
		}
		return ctx.Err()
	})
	f.start()
	f.enqueue("ct.stuck", []byte("x"))
	wait(t, started, "the handler to start")
	begin := time.Now()
	err := f.stop()
	took := time.Since(begin)
	t.Logf("Run returned %v after %v", err, took.Round(time.Millisecond))
	if took < f.opts.ShutdownTimeout {
		t.Errorf("Run returned after %v, before the shutdown timeout %v, with a handler still running", took, f.opts.ShutdownTimeout)
	}
	wait(t, cancelled, "the handler's context to be cancelled after the shutdown timeout")
	if !recorded.Load() {
		t.Errorf("Run returned while the cancelled handler was still recording what it did")
	}
}

// A handler can enqueue further tasks, with its own context.
func testEnqueueFromHandler(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	got := make(chan string, 1)
	f.w.Handle("ct.parent", func(ctx context.Context, task ports.Task) error {
		return f.q.Enqueue(ctx, ports.Task{Kind: "ct.child", Payload: append([]byte("child of "), task.Payload...)})
	})
	f.w.Handle("ct.child", func(_ context.Context, task ports.Task) error {
		select {
		case got <- string(task.Payload):
		default:
		}
		return nil
	})
	f.start()
	f.enqueue("ct.parent", []byte("p1"))
	select {
	case p := <-got:
		if p != "child of p1" {
			t.Fatalf("child payload %q, want %q", p, "child of p1")
		}
	case <-time.After(deadline):
		t.Fatalf("the task enqueued by a handler was not handled in %v", deadline)
	}
}

// "A task of a kind without handler fails permanently": it reaches no
// handler, not even one registered for a prefix of its kind, is not
// retried, and the tasks after it are handled.
func testUnknownKind(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	var mu sync.Mutex
	var kinds []string
	f.w.Handle("ct.known", func(_ context.Context, task ports.Task) error {
		mu.Lock()
		defer mu.Unlock()
		kinds = append(kinds, task.Kind)
		return nil
	})
	f.enqueue("ct.known.sub", []byte("x"))
	f.enqueue("ct.nobody", []byte("x"))
	const n = 10
	for i := range n {
		f.enqueue("ct.known", fmt.Appendf(nil, "known-%d", i))
	}
	f.start()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(kinds) }
	eventually(t, func() bool { return count() >= n }, "%d of %d known tasks handled", count, n)
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, k := range kinds {
		if k != "ct.known" {
			t.Fatalf("the handler of %q got a task of kind %q", "ct.known", k)
		}
	}
	if got := f.delays.get(); len(got) != 0 {
		t.Fatalf("RetryDelay asked for attempts %v: a task without handler was retried", got)
	}
}

// After Close, Enqueue fails.
func testEnqueueAfterClose(t *testing.T, newQueue Factory) {
	f := setup(t, newQueue, nil)
	if err := f.q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := f.q.Enqueue(f.ctx(), ports.Task{Kind: "ct.late", Payload: []byte("x")}); err == nil {
		t.Fatalf("Enqueue after Close succeeded")
	}
}

// ---- fixture ----

// fixture is one case's queue, worker and the Run it drives.
type fixture struct {
	t      *testing.T
	opts   Options // as given to the factory, RetryDelay unwrapped
	q      ports.Queue
	w      ports.Worker
	delays *attemptLog // RetryDelay's arguments, in call order

	cancel  context.CancelFunc
	done    chan error // Run's result
	stopped bool
	runErr  error
}

// setup builds a queue with the suite's options, changed by edit; Run is
// stopped when t ends, before the factory releases the queue.
func setup(t *testing.T, newQueue Factory, edit func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, opts: defaults(), delays: &attemptLog{}}
	if edit != nil {
		edit(&f.opts)
	}
	o := f.opts
	o.RetryDelay = func(attempt int) time.Duration {
		f.delays.add(attempt)
		return f.opts.RetryDelay(attempt)
	}
	f.q, f.w = newQueue(t, o)
	t.Cleanup(func() {
		if f.done != nil && !f.stopped {
			if err := f.stop(); err != nil {
				t.Errorf("Run: %v", err)
			}
		}
	})
	return f
}

// ctx bounds one queue call.
func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	f.t.Cleanup(cancel)
	return ctx
}

// start runs the worker in the background.
func (f *fixture) start() {
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- f.w.Run(ctx) }()
}

// stop cancels Run's context and returns Run's result, failing the test
// when Run does not return within the shutdown timeout and the deadline.
func (f *fixture) stop() error {
	f.t.Helper()
	if f.stopped {
		return f.runErr
	}
	f.stopped = true
	f.cancel()
	select {
	case f.runErr = <-f.done:
	case <-time.After(f.opts.ShutdownTimeout + deadline):
		f.runErr = errors.New("Run hung")
		f.t.Errorf("Run did not return %v after its context was cancelled", f.opts.ShutdownTimeout+deadline)
	}
	return f.runErr
}

// enqueue enqueues one task or fails the test.
func (f *fixture) enqueue(kind string, payload []byte) {
	f.t.Helper()
	if err := f.q.Enqueue(f.ctx(), ports.Task{Kind: kind, Payload: payload}); err != nil {
		f.t.Fatalf("Enqueue %s: %v", kind, err)
	}
}

// ---- helpers ----

// callLog records when a handler was called.
type callLog struct {
	mu    sync.Mutex
	times []time.Time
}

// add records a call and returns its number, from 1.
func (c *callLog) add() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.times = append(c.times, time.Now())
	return len(c.times)
}

func (c *callLog) n() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.times) }

func (c *callLog) get() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.times)
}

// attemptLog records RetryDelay's arguments.
type attemptLog struct {
	mu       sync.Mutex
	attempts []int
}

func (a *attemptLog) add(attempt int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.attempts = append(a.attempts, attempt)
}

func (a *attemptLog) get() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.attempts)
}

// seq returns 1…n.
func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i + 1
	}
	return s
}

// eventually polls cond until it holds, failing the test after deadline;
// args may hold funcs, called for the failure message.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			for i, a := range args {
				switch a := a.(type) {
				case func() int:
					args[i] = a()
				case func() int64:
					args[i] = a()
				}
			}
			t.Fatalf("after %v, still waiting for "+format, append([]any{deadline}, args...)...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for ch to close, failing the test after deadline.
func wait(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(deadline):
		t.Fatalf("after %v, still waiting for %s", deadline, what)
	}
}
