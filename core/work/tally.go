package work

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/credence-dev/credence/core/domain"
	"github.com/credence-dev/credence/ports"
)

// TallyStore is what a Tally writes to.
type TallyStore interface {
	Orgs() ports.Orgs
}

// DefaultTallyEvery is how often a Tally adds its counts to the store when
// its owner sets no interval.
const DefaultTallyEvery = 5 * time.Second

// Tally counts verifications in memory and adds them to the store in
// batches, so that verifying, a read, writes nothing: one UPDATE per
// organization verified per interval replaces one per verification (a
// hot row every verification of an issuer wrote). Each replica adds the
// counts it made (verifications = verifications + n), so replicas never
// overwrite each other's.
//
// Run adds the counts every interval and once more when its context ends,
// after the server has drained its requests: a clean shutdown loses no
// count; a crash loses at most the counts of one interval. A failed write
// keeps its counts for the next one.
type Tally struct {
	store TallyStore
	log   *slog.Logger
	every time.Duration

	mu      sync.Mutex
	pending map[string]int64 // organization ID → verifications not yet added
	// flushing is held for writing while a flush adds counts, and for
	// reading while Total reads one: a count is then either in the store
	// or pending, never both nor neither.
	flushing sync.RWMutex
}

// NewTally returns a tally adding to store every interval (0:
// DefaultTallyEvery).
func NewTally(store TallyStore, log *slog.Logger, every time.Duration) *Tally {
	if every <= 0 {
		every = DefaultTallyEvery
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tally{store: store, log: log, every: every, pending: map[string]int64{}}
}

// Count counts one verification of the organization's credentials.
func (t *Tally) Count(orgID string) {
	t.mu.Lock()
	t.pending[orgID]++
	t.mu.Unlock()
}

// Pending returns the organization's verifications counted here and not
// yet added to the store.
func (t *Tally) Pending(orgID string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending[orgID]
}

// Total returns the organization's count: what the store holds (every
// replica's flushed counts) and what this process counted since its last
// flush.
func (t *Tally) Total(ctx context.Context, orgID string) (int64, error) {
	t.flushing.RLock()
	defer t.flushing.RUnlock()
	stored, err := t.store.Orgs().Verifications(ctx, orgID)
	if err != nil {
		return 0, err
	}
	return stored + t.Pending(orgID), nil
}

// Flush adds the pending counts to the store. A count that could not be
// added stays pending (it is added by the next flush), except for an
// organization the store does not know, whose count is dropped.
func (t *Tally) Flush(ctx context.Context) error {
	t.flushing.Lock()
	defer t.flushing.Unlock()
	t.mu.Lock()
	batch := t.pending
	t.pending = make(map[string]int64, len(batch))
	t.mu.Unlock()
	var errs []error
	for orgID, n := range batch {
		err := t.store.Orgs().AddVerifications(ctx, orgID, n)
		switch {
		case err == nil:
		case errors.Is(err, domain.ErrNotFound):
			t.log.WarnContext(ctx, "verifications of an unknown organization dropped", "org", orgID, "count", n)
		default:
			t.mu.Lock()
			t.pending[orgID] += n
			t.mu.Unlock()
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// flushTimeout bounds one periodic flush: its interval, at least 2 and at
// most 10 seconds.
func flushTimeout(every time.Duration) time.Duration {
	return min(max(every, 2*time.Second), 10*time.Second)
}

// Run flushes every interval until ctx ends, then once more, with a
// context of its own (ctx has ended) bounded to 10 seconds.
func (t *Tally) Run(ctx context.Context) {
	tick := time.NewTicker(t.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := t.Flush(final); err != nil {
				t.log.ErrorContext(final, "verification counts lost at shutdown", "err", err)
			}
			return
		case <-tick.C:
			// Bounded: Total waits for a flush under way, and a statement
			// stuck on a lock or a lost connection must not hold every
			// usage read with it.
			fctx, cancel := context.WithTimeout(ctx, flushTimeout(t.every))
			err := t.Flush(fctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				t.log.WarnContext(ctx, "adding verification counts failed; they are kept for the next interval", "err", err)
			}
		}
	}
}
