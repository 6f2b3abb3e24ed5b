// Package memlimit is the in-process RateLimiter of the embedded default:
// GCRA over a sharded map of theoretical arrival times, one int64 per key
// that is not at rest. It counts for its own process only; replicas that
// must share a limit use redislimit.
//
// Memory holds only keys seen within their Period (plus one SweepInterval):
// a key whose allowance is full again is indistinguishable from an unseen
// one, and sweeps drop it. MaxKeys caps it whatever the traffic: a flood of
// distinct keys (addresses) fills the map only so far.
package memlimit

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/credence-dev/credence/ports"
)

// DefaultSweepInterval is how often, by default, every key is looked at
// for eviction.
const DefaultSweepInterval = time.Minute

// shardCount spreads keys over this many locks; a power of two.
const shardCount = 64

// DefaultMaxKeys is how many keys a Limiter holds at most by default:
// about 100 MiB of keys, far above what honest traffic keeps busy.
const DefaultMaxKeys = 1 << 20

// Options configure a Limiter; zero values take the defaults.
type Options struct {
	// Clock tells the time (default: the system clock, monotonic).
	Clock ports.Clock
	// SweepInterval is how long a key at rest may stay in memory before a
	// sweep drops it (default DefaultSweepInterval). Sweeps run inside
	// Allow, one shard at a time, so no call pays for all keys at once.
	SweepInterval time.Duration
	// MaxKeys caps the keys held (default DefaultMaxKeys; each of the 64
	// shards holds a 64th). A new key meeting a full shard sweeps it (at
	// most once a second); if every key there is still busy, it takes the
	// place of the one nearest to rest among evictSample keys picked at
	// random. Every key stays counted, and a flood forgets first the
	// clients that were about to be forgotten anyway.
	MaxKeys int
}

// Limiter is a ports.RateLimiter in process memory, safe for concurrent use.
type Limiter struct {
	clock ports.Clock
	base  time.Time // times are kept as nanoseconds since base
	seed  maphash.Seed

	sweepEvery int64        // ns between sweeps of two successive shards
	shardCap   int          // keys a shard holds at most
	nextSweep  atomic.Int64 // ns since base when the next shard is swept
	cursor     atomic.Uint64

	shards [shardCount]shard
}

var _ ports.RateLimiter = (*Limiter)(nil)

type shard struct {
	mu sync.Mutex
	// tat is each key's theoretical arrival time (ns since base): when the
	// key will be back at rest. Keys at rest are absent.
	tat map[string]int64
	// forcedAt is when a new key meeting the full shard last swept it (ns
	// since base): at most one such sweep a second, so a flood of new keys
	// does not pay a scan of the shard each.
	forcedAt int64
	_        [40]byte // 64 bytes a shard: no two shards' locks share a cache line
}

// systemClock reads time.Now, whose monotonic reading makes the limiter
// immune to wall clock jumps.
type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// New returns an empty Limiter.
func New(o Options) *Limiter {
	if o.Clock == nil {
		o.Clock = systemClock{}
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = DefaultSweepInterval
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	l := &Limiter{
		clock:      o.Clock,
		base:       o.Clock.Now(),
		seed:       maphash.MakeSeed(),
		sweepEvery: max(int64(o.SweepInterval)/shardCount, 1),
		shardCap:   max(o.MaxKeys/shardCount, 1),
	}
	for i := range l.shards {
		l.shards[i].tat = make(map[string]int64)
	}
	return l
}

// Allow counts one event of key against limit if limit allows it.
func (l *Limiter) Allow(ctx context.Context, key string, limit ports.Limit) (ports.LimitResult, error) {
	if applies, err := limit.Applies(ctx); !applies {
		return ports.LimitResult{Allowed: err == nil}, err
	}
	interval, burst := spacing(limit)

	now := int64(l.clock.Now().Sub(l.base))
	s := &l.shards[maphash.String(l.seed, key)%shardCount]
	s.mu.Lock()
	tat, ok := s.tat[key]
	if !ok || tat < now {
		tat = now
	}
	next := tat + interval
	allowAt := next - burst
	if now < allowAt {
		s.mu.Unlock()
		l.maybeSweep(now)
		return ports.LimitResult{
			Limit:      limit.Rate,
			RetryAfter: time.Duration(allowAt - now),
			ResetAfter: time.Duration(tat - now),
		}, nil
	}
	if !ok && len(s.tat) >= l.shardCap {
		if now-s.forcedAt >= int64(time.Second) {
			s.forcedAt = now
			s.sweepLocked(now)
		}
		if len(s.tat) >= l.shardCap {
			s.evictNearestRest()
		}
	}
	s.tat[key] = next
	s.mu.Unlock()
	l.maybeSweep(now)
	return ports.LimitResult{
		Allowed:    true,
		Limit:      limit.Rate,
		Remaining:  int((now - allowAt) / interval),
		ResetAfter: time.Duration(next - now),
	}, nil
}

// spacing returns how often, in ns, one event of limit is earned back, and
// how far ahead a key at rest may spend. Rounding interval down keeps
// burst <= Period, unless Rate exceeds Period's nanoseconds: then one event
// a nanosecond, burst Rate.
func spacing(limit ports.Limit) (interval, burst int64) {
	interval = max(int64(limit.Period)/int64(limit.Rate), 1)
	return interval, interval * int64(limit.Rate)
}

// Refund gives back one event of key: its theoretical arrival time moves
// one interval earlier, and a key that this brings to rest is dropped, so
// a refund never allows more than Rate at once.
func (l *Limiter) Refund(ctx context.Context, key string, limit ports.Limit) error {
	if applies, err := limit.Applies(ctx); !applies {
		return err
	}
	interval, _ := spacing(limit)
	now := int64(l.clock.Now().Sub(l.base))
	s := &l.shards[maphash.String(l.seed, key)%shardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, ok := s.tat[key]
	switch {
	case !ok: // at rest: nothing to give back
	case tat-interval <= now:
		delete(s.tat, key)
	default:
		s.tat[key] = tat - interval
	}
	return nil
}

// maybeSweep sweeps the next shard, round robin, when its turn has come:
// every shard is swept once per SweepInterval while calls keep coming.
func (l *Limiter) maybeSweep(now int64) {
	due := l.nextSweep.Load()
	if now < due || !l.nextSweep.CompareAndSwap(due, now+l.sweepEvery) {
		return
	}
	l.shards[l.cursor.Add(1)%shardCount].sweep(now)
}

// sweep drops the keys at rest. It copies the others into a new map, since
// a Go map never gives back the memory of deleted entries.
func (s *shard) sweep(now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
}

// evictSample is how many keys a full shard compares to pick the one it
// drops: Redis's approximated LRU, which needs no ordered index.
const evictSample = 8

// evictNearestRest drops, of evictSample keys of s picked at random (Go
// starts each map iteration at a random place), the one nearest to rest.
// s.mu is held.
func (s *shard) evictNearestRest() {
	var victim string
	var least int64
	n := 0
	for k, tat := range s.tat {
		if n == 0 || tat < least {
			victim, least = k, tat
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(s.tat, victim)
}

// sweepLocked is sweep with s.mu held.
func (s *shard) sweepLocked(now int64) {
	live := 0
	for _, tat := range s.tat {
		if tat > now {
			live++
		}
	}
	if live == len(s.tat) {
		return
	}
	m := make(map[string]int64, live)
	for k, tat := range s.tat {
		if tat > now {
			m[k] = tat
		}
	}
	s.tat = m
}
