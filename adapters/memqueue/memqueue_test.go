package memqueue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// The behaviour shared with asynq is checked by contract-tests/queue; these
// cases cover what is particular to the in-process queue.

func TestDefaults(t *testing.T) {
	q := New(Options{})
	if q.opt.Concurrency != 4 || q.opt.MaxRetry != 10 || q.opt.ShutdownTimeout != 10*time.Second || q.opt.RetryDelay == nil || q.log == nil {
		t.Fatalf("defaults: %+v", q.opt)
	}
	if q := New(Options{MaxRetry: -1}); q.opt.MaxRetry != 0 {
		t.Fatalf("MaxRetry -1 became %d, want 0", q.opt.MaxRetry)
	}
}

func TestEnqueueRefuses(t *testing.T) {
	q := New(Options{})
	if err := q.Enqueue(t.Context(), ports.Task{}); err == nil {
		t.Fatal("empty kind accepted")
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := q.Enqueue(ctx, ports.Task{Kind: "k"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: got %v", err)
	}
	_ = q.Close()
	if err := q.Enqueue(t.Context(), ports.Task{Kind: "k"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: got %v, want ErrClosed", err)
	}
}

// The queue keeps its own copy of a payload: the caller may reuse its slice.
func TestEnqueueCopiesPayload(t *testing.T) {
	q := New(Options{})
	p := []byte("original")
	if err := q.Enqueue(t.Context(), ports.Task{Kind: "k", Payload: p}); err != nil {
		t.Fatal(err)
	}
	copy(p, "CHANGED!")
	got := make(chan string, 1)
	q.Handle("k", func(_ context.Context, task ports.Task) error { got <- string(task.Payload); return nil })
	stop := run(t, q)
	defer stop()
	if s := <-got; s != "original" {
		t.Fatalf("handler got %q, want %q", s, "original")
	}
}

// MaxRetry -1 means a single attempt.
func TestNoRetry(t *testing.T) {
	q := New(Options{MaxRetry: -1, RetryDelay: func(int) time.Duration { return time.Millisecond }})
	var calls atomic.Int64
	q.Handle("k", func(context.Context, ports.Task) error { calls.Add(1); return errors.New("no") })
	stop := run(t, q)
	if err := q.Enqueue(t.Context(), ports.Task{Kind: "k"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	stop()
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}

func TestRunTwice(t *testing.T) {
	q := New(Options{})
	handled := make(chan struct{})
	q.Handle("k", func(context.Context, ports.Task) error { close(handled); return nil })
	stop := run(t, q)
	defer stop()
	if err := q.Enqueue(t.Context(), ports.Task{Kind: "k"}); err != nil {
		t.Fatal(err)
	}
	<-handled // the first Run is running
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := q.Run(ctx); err == nil {
		t.Fatal("second Run accepted")
	}
}

func TestHandleTwicePanics(t *testing.T) {
	q := New(Options{})
	h := func(context.Context, ports.Task) error { return nil }
	q.Handle("k", h)
	defer func() {
		if recover() == nil {
			t.Fatal("second handler for a kind accepted")
		}
	}()
	q.Handle("k", h)
}

// run starts q.Run; stop cancels it and waits for its return.
func run(t *testing.T, q *Queue) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}
