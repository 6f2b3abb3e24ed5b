package coalesce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a Run that records its batches and can be held.
type recorder struct {
	mu      sync.Mutex
	batches [][]int
	hold    chan struct{} // when set, every round trip waits for it to close
	running atomic.Int32
	most    atomic.Int32
	started chan struct{} // receives once per round trip begun
}

func (r *recorder) run(ctx context.Context, keys []int) ([]string, []error, error) {
	n := r.running.Add(1)
	defer r.running.Add(-1)
	for {
		m := r.most.Load()
		if n <= m || r.most.CompareAndSwap(m, n) {
			break
		}
	}
	r.mu.Lock()
	r.batches = append(r.batches, slices.Clone(keys))
	hold := r.hold
	r.mu.Unlock()
	if r.started != nil {
		r.started <- struct{}{}
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	out := make([]string, len(keys))
	errs := make([]error, len(keys))
	for i, k := range keys {
		if k < 0 {
			errs[i] = fmt.Errorf("no key %d", k)
			continue
		}
		out[i] = fmt.Sprint("v", k)
	}
	return out, errs, nil
}

func (r *recorder) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n []int
	for _, b := range r.batches {
		n = append(n, len(b))
	}
	return n
}

func TestAloneCallGoesAtOnce(t *testing.T) {
	r := &recorder{}
	b := New(r.run, Options{})
	for i := range 3 {
		v, err := b.Do(context.Background(), i)
		if err != nil || v != fmt.Sprint("v", i) {
			t.Fatalf("Do(%d) = %q, %v", i, v, err)
		}
	}
	if got := r.sizes(); !slices.Equal(got, []int{1, 1, 1}) {
		t.Fatalf("sequential calls went out in batches of %v, want one each", got)
	}
}

// While the one allowed round trip is held, calls queue; released, they
// go out together, each with its own answer.
func TestCallsArrivingMeanwhileShareOneRoundTrip(t *testing.T) {
	r := &recorder{hold: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(r.run, Options{MaxInFlight: 1, MaxBatch: 64})
	var wg sync.WaitGroup
	answers := make([]string, 11)
	errs := make([]error, 11)
	do := func(i int) {
		defer wg.Done()
		answers[i], errs[i] = b.Do(context.Background(), i)
	}
	wg.Add(1)
	go do(0)
	<-r.started // the first call is out, alone
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		go do(i)
	}
	waitQueued(t, b, 10)
	close(r.hold)
	wg.Wait()
	for i := range answers {
		if errs[i] != nil || answers[i] != fmt.Sprint("v", i) {
			t.Errorf("call %d: %q, %v", i, answers[i], errs[i])
		}
	}
	if got := r.sizes(); !slices.Equal(got, []int{1, 10}) {
		t.Fatalf("batches %v, want [1 10]", got)
	}
}

func TestBoundsOfBatchesAndRoundTrips(t *testing.T) {
	r := &recorder{hold: make(chan struct{}), started: make(chan struct{}, 100)}
	b := New(r.run, Options{MaxInFlight: 2, MaxBatch: 4})
	var wg sync.WaitGroup
	for i := range 2 { // fill both slots, one call each
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Do(context.Background(), i) }()
		<-r.started
	}
	for i := 2; i < 12; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = b.Do(context.Background(), i) }()
	}
	waitQueued(t, b, 10)
	close(r.hold)
	wg.Wait()
	if m := r.most.Load(); m != 2 {
		t.Errorf("%d round trips at once, want at most (and here exactly) 2", m)
	}
	total := 0
	for _, n := range r.sizes() {
		if n > 4 {
			t.Errorf("a batch of %d keys, want at most 4", n)
		}
		total += n
	}
	if total != 12 {
		t.Errorf("%d keys sent, want 12 (each once)", total)
	}
}

func TestErrors(t *testing.T) {
	t.Run("per key", func(t *testing.T) {
		b := New((&recorder{}).run, Options{})
		if _, err := b.Do(context.Background(), -1); err == nil || err.Error() != "no key -1" {
			t.Fatalf("err %v, want the key's own error", err)
		}
	})
	t.Run("of the round trip", func(t *testing.T) {
		down := errors.New("database down")
		b := New(func(context.Context, []int) ([]string, []error, error) { return nil, nil, down }, Options{})
		if _, err := b.Do(context.Background(), 1); !errors.Is(err, down) {
			t.Fatalf("err %v, want %v", err, down)
		}
	})
	t.Run("short answer", func(t *testing.T) {
		b := New(func(context.Context, []int) ([]string, []error, error) { return nil, nil, nil }, Options{})
		if _, err := b.Do(context.Background(), 1); !errors.Is(err, errShortAnswer) {
			t.Fatalf("err %v, want %v", err, errShortAnswer)
		}
	})
	t.Run("panic", func(t *testing.T) {
		b := New(func(context.Context, []int) ([]string, []error, error) { panic("boom") }, Options{})
		if _, err := b.Do(context.Background(), 1); !errors.Is(err, errPanic) {
			t.Fatalf("err %v, want %v", err, errPanic)
		}
		// The slot was given back: the next call is answered.
		b.run = (&recorder{}).run
		if v, err := b.Do(context.Background(), 2); err != nil || v != "v2" {
			t.Fatalf("after a panic: %q, %v", v, err)
		}
	})
}

// A caller that leaves gets its context's error at once; the round trip
// it started still answers the others, under the batch's own timeout.
func TestCallerThatLeaves(t *testing.T) {
	r := &recorder{hold: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(r.run, Options{MaxInFlight: 1})
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { _, err := b.Do(ctx, 1); left <- err }()
	<-r.started
	stay := make(chan string, 1)
	go func() { v, _ := b.Do(context.Background(), 2); stay <- v }()
	waitQueued(t, b, 1)
	cancel()
	if err := <-left; !errors.Is(err, context.Canceled) {
		t.Fatalf("the caller that left got %v", err)
	}
	close(r.hold)
	if v := <-stay; v != "v2" {
		t.Fatalf("the caller that stayed got %q", v)
	}

	t.Run("timeout", func(t *testing.T) {
		r := &recorder{hold: make(chan struct{})}
		b := New(r.run, Options{Timeout: 20 * time.Millisecond})
		if _, err := b.Do(context.Background(), 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("a held round trip answered %v, want its timeout", err)
		}
	})
}

// waitQueued waits until n calls wait in b's queue.
func waitQueued[K, V any](t *testing.T, b *Batcher[K, V], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b.mu.Lock()
		got := len(b.queue)
		b.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Calls whose callers left while they waited are not sent.
func TestAbandonedCallsAreNotSent(t *testing.T) {
	r := &recorder{hold: make(chan struct{}), started: make(chan struct{}, 10)}
	b := New(r.run, Options{MaxInFlight: 1})
	first := make(chan string, 1)
	go func() { v, _ := b.Do(context.Background(), 1); first <- v }()
	<-r.started
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan error, 1)
	go func() { _, err := b.Do(ctx, 2); left <- err }()
	waitQueued(t, b, 1)
	cancel()
	<-left
	stay := make(chan string, 1)
	go func() { v, _ := b.Do(context.Background(), 3); stay <- v }()
	waitQueued(t, b, 2)
	close(r.hold)
	if v := <-first; v != "v1" {
		t.Fatalf("first: %q", v)
	}
	if v := <-stay; v != "v3" {
		t.Fatalf("third: %q", v)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if want := [][]int{{1}, {3}}; fmt.Sprint(r.batches) != fmt.Sprint(want) {
		t.Fatalf("batches %v, want %v (the abandoned key 2 not sent)", r.batches, want)
	}
}

// A round trip stuck past Stalled holds only its own calls: those that
// arrive meanwhile go out beside it, up to MaxStalled more; without
// Stalled they wait behind it.
func TestStalledRoundTripHoldsOnlyItsOwnCalls(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	run := func(ctx context.Context, keys []int) ([]string, []error, error) {
		if keys[0] == 0 {
			<-stuck // a dead connection
		}
		out := make([]string, len(keys))
		for i, k := range keys {
			out[i] = fmt.Sprint("v", k)
		}
		return out, make([]error, len(keys)), nil
	}
	b := New(run, Options{MaxInFlight: 1, Stalled: 20 * time.Millisecond, MaxStalled: 1})
	go func() { _, _ = b.Do(context.Background(), 0) }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if v, err := b.Do(ctx, 1); err != nil || v != "v1" {
		t.Fatalf("a call after the round trip stalled: %q, %v; want it answered beside it", v, err)
	}

	held := New(run, Options{MaxInFlight: 1})
	go func() { _, _ = held.Do(context.Background(), 0) }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := held.Do(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("without Stalled: %v, want the call held behind the stuck one", err)
	}
}
