// Package coalesce runs concurrent lookups of a service together: calls
// that arrive while the service is busy wait in a queue and go out as one
// batch (one SQL statement over many keys, one Redis pipeline of many
// commands) as soon as a slot frees. A call is never delayed on purpose:
// with nothing in flight it goes out alone at once, so an idle server
// answers as fast as without batching, and a busy one pays one round trip
// per batch instead of one per call.
//
// Every call is answered by a batch sent after the call arrived, so a
// coalesced read sees every write that was committed before it began: a
// batcher shares round trips, never answers.
package coalesce

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Run answers keys in one round trip. It returns one result per key, in
// order: out[i] and errs[i] answer keys[i]. An error of the round trip
// itself is returned as err and answers every key.
type Run[K, V any] func(ctx context.Context, keys []K) (out []V, errs []error, err error)

// Options bound a Batcher.
type Options struct {
	// MaxBatch is the most keys one round trip carries (default 64).
	MaxBatch int
	// MaxInFlight is the most round trips under way at once (default 4).
	MaxInFlight int
	// Timeout bounds each round trip (default 30s). A batch serves many
	// callers, so it runs under none of their contexts: a caller that
	// leaves stops waiting, the batch goes on for the others.
	Timeout time.Duration
	// Stalled, when set, is how long the latest round trip may be under
	// way before the calls arriving meanwhile go out in another one
	// beside it, up to MaxStalled more than MaxInFlight: one stuck round
	// trip (a dead connection, until its read timeout) then holds only
	// its own calls, not every call after it.
	Stalled    time.Duration
	MaxStalled int
}

// Batcher coalesces calls of one Run. It is safe for concurrent use.
type Batcher[K, V any] struct {
	run     Run[K, V]
	opts    Options
	mu      sync.Mutex
	queue   []*call[K, V]
	running int       // round trips under way
	latest  time.Time // when the latest round trip began
}

type call[K, V any] struct {
	ctx  context.Context // the caller's: one that left is not sent
	key  K
	v    V
	err  error
	done chan struct{}
}

// New returns a Batcher of run.
func New[K, V any](run Run[K, V], o Options) *Batcher[K, V] {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 64
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 4
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	return &Batcher[K, V]{run: run, opts: o}
}

// errShortAnswer is what a Run that answers fewer keys than it was given
// gives the keys left unanswered.
var errShortAnswer = errors.New("coalesce: the batch answered fewer keys than it was given")

// Do answers key with the next round trip, or returns ctx's error if ctx
// ends first.
func (b *Batcher[K, V]) Do(ctx context.Context, key K) (V, error) {
	c := &call[K, V]{ctx: ctx, key: key, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, c)
	start := b.running < b.opts.MaxInFlight ||
		b.opts.Stalled > 0 && b.running < b.opts.MaxInFlight+b.opts.MaxStalled && time.Since(b.latest) > b.opts.Stalled
	if start {
		b.running++
	}
	b.mu.Unlock()
	if start {
		go b.drain(context.WithoutCancel(ctx))
	}
	select {
	case <-c.done:
		return c.v, c.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// drain sends the queue out, a batch at a time, until it is empty; it
// holds one of the MaxInFlight slots meanwhile. base carries the values
// of the call that started it (never its cancellation).
func (b *Batcher[K, V]) drain(base context.Context) {
	for {
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.running--
			b.mu.Unlock()
			return
		}
		n := min(len(b.queue), b.opts.MaxBatch)
		batch := make([]*call[K, V], n)
		copy(batch, b.queue)
		rest := copy(b.queue, b.queue[n:])
		clear(b.queue[rest:])
		b.queue = b.queue[:rest]
		if b.opts.Stalled > 0 {
			b.latest = time.Now()
		}
		b.mu.Unlock()
		b.send(base, batch)
	}
}

// send runs one batch and answers each of its calls. Calls whose caller
// left while they waited are dropped first: after a stall, a queue of
// abandoned calls must not delay the ones still waited for.
func (b *Batcher[K, V]) send(base context.Context, batch []*call[K, V]) {
	live := batch[:0]
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			close(c.done)
			continue
		}
		live = append(live, c)
	}
	batch = live
	if len(batch) == 0 {
		return
	}
	keys := make([]K, len(batch))
	for i, c := range batch {
		keys[i] = c.key
	}
	out, errs, err := b.runSafely(base, keys)
	for i, c := range batch {
		switch {
		case err != nil:
			c.err = err
		case i >= len(out) || i >= len(errs):
			c.err = errShortAnswer
		default:
			c.v, c.err = out[i], errs[i]
		}
		close(c.done)
	}
}

// errPanic answers the calls of a batch whose Run panicked.
var errPanic = errors.New("coalesce: the batch panicked")

// runSafely runs one round trip under the timeout. A panic in Run answers
// the batch with an error: it runs on no caller's goroutine, where it would
// take the whole process down instead of one request.
func (b *Batcher[K, V]) runSafely(base context.Context, keys []K) (out []V, errs []error, err error) {
	ctx, cancel := context.WithTimeout(base, b.opts.Timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			out, errs, err = nil, nil, fmt.Errorf("%w: %v", errPanic, p)
		}
	}()
	return b.run(ctx, keys)
}
