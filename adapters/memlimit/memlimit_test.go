package memlimit

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// The behaviour both limiters share is checked by contract-tests/ratelimit;
// these tests pin exact values on a fake clock, and eviction.

// fakeClock is a ports.Clock moved by hand.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newFake() (*Limiter, *fakeClock) {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return New(Options{Clock: c}), c
}

func allow(t *testing.T, l *Limiter, key string, lim ports.Limit) ports.LimitResult {
	t.Helper()
	r, err := l.Allow(t.Context(), key, lim)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// size is how many keys l holds.
func (l *Limiter) size() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}

func TestGCRAExact(t *testing.T) {
	t.Parallel()
	l, c := newFake()
	lim := ports.Limit{Rate: 4, Period: time.Second} // one every 250ms
	steps := []struct {
		advance time.Duration
		want    ports.LimitResult
	}{
		{0, ports.LimitResult{Allowed: true, Limit: 4, Remaining: 3, ResetAfter: 250 * time.Millisecond}},
		{0, ports.LimitResult{Allowed: true, Limit: 4, Remaining: 2, ResetAfter: 500 * time.Millisecond}},
		{0, ports.LimitResult{Allowed: true, Limit: 4, Remaining: 1, ResetAfter: 750 * time.Millisecond}},
		{0, ports.LimitResult{Allowed: true, Limit: 4, Remaining: 0, ResetAfter: time.Second}},
		{0, ports.LimitResult{Limit: 4, RetryAfter: 250 * time.Millisecond, ResetAfter: time.Second}},
		{100 * time.Millisecond, ports.LimitResult{Limit: 4, RetryAfter: 150 * time.Millisecond, ResetAfter: 900 * time.Millisecond}},
		{149 * time.Millisecond, ports.LimitResult{Limit: 4, RetryAfter: time.Millisecond, ResetAfter: 751 * time.Millisecond}},
		{time.Millisecond, ports.LimitResult{Allowed: true, Limit: 4, Remaining: 0, ResetAfter: time.Second}},
		{0, ports.LimitResult{Limit: 4, RetryAfter: 250 * time.Millisecond, ResetAfter: time.Second}},
		{600 * time.Millisecond, ports.LimitResult{Allowed: true, Limit: 4, Remaining: 1, ResetAfter: 650 * time.Millisecond}},
		{time.Hour, ports.LimitResult{Allowed: true, Limit: 4, Remaining: 3, ResetAfter: 250 * time.Millisecond}},
	}
	for i, s := range steps {
		c.Advance(s.advance)
		if got := allow(t, l, "k", lim); got != s.want {
			t.Errorf("step %d (+%s): %+v, want %+v", i, s.advance, got, s.want)
		}
	}
}

// A rate above the period's nanoseconds still limits: one event a
// nanosecond, a burst of Rate.
func TestRateAboveNanoseconds(t *testing.T) {
	t.Parallel()
	l, _ := newFake()
	lim := ports.Limit{Rate: 1000, Period: 10 * time.Nanosecond}
	for range 1000 {
		if r := allow(t, l, "k", lim); !r.Allowed {
			t.Fatalf("refused within the burst: %+v", r)
		}
	}
	if r := allow(t, l, "k", lim); r.Allowed || r.RetryAfter != time.Nanosecond {
		t.Fatalf("after the burst: %+v, want refused for 1ns", r)
	}
}

// Keys at rest leave memory: 100k keys seen once are gone once their
// period and a sweep interval have passed, and so is the memory they held.
func TestEvictsKeysAtRest(t *testing.T) {
	c := &fakeClock{}
	l := New(Options{Clock: c, SweepInterval: 64 * time.Millisecond}) // a shard a millisecond
	lim := ports.Limit{Rate: 10, Period: time.Second}
	const n = 100_000

	before := heap()
	for i := range n {
		allow(t, l, "key:"+strconv.Itoa(i), lim)
	}
	if got := l.size(); got != n {
		t.Fatalf("%d keys held within their period, want %d", got, n)
	}
	held := heap() - before

	// Within the period, sweeps keep every key.
	for range shardCount {
		c.Advance(time.Millisecond)
		allow(t, l, "probe", lim)
	}
	if got := l.size(); got != n+1 {
		t.Fatalf("%d keys held within their period after a round of sweeps, want %d", got, n+1)
	}

	c.Advance(time.Second)
	for range shardCount {
		c.Advance(time.Millisecond)
		allow(t, l, "probe", lim)
	}
	if got := l.size(); got != 1 {
		t.Errorf("%d keys held after their period and a round of sweeps, want 1 (the probe)", got)
	}
	after := heap() - before
	t.Logf("heap: %d keys held %d KiB; after eviction %d KiB", n, held>>10, after>>10)
	if after > held/10 {
		t.Errorf("heap after eviction %d KiB, want under a tenth of the %d KiB the keys held", after>>10, held>>10)
	}
	runtime.KeepAlive(l)
}

// heap returns the bytes of live heap objects after a collection.
func heap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// Sweeps happen under concurrent calls without losing counts.
func TestSweepUnderConcurrency(t *testing.T) {
	t.Parallel()
	l := New(Options{SweepInterval: shardCount * time.Nanosecond}) // sweep on nearly every call
	lim := ports.Limit{Rate: 50, Period: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 200 {
				allow(t, l, "other:"+strconv.Itoa(g*1000+i), ports.Limit{Rate: 1, Period: time.Nanosecond})
				if allow(t, l, "hot", lim).Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != int64(lim.Rate) {
		t.Errorf("hot key: %d allowed, want %d", got, lim.Rate)
	}
}

func BenchmarkAllow(b *testing.B) {
	lim := ports.Limit{Rate: 100, Period: time.Minute}
	b.Run("one_key", func(b *testing.B) {
		l := New(Options{})
		for b.Loop() {
			_, _ = l.Allow(b.Context(), "org:42", lim)
		}
	})
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = "org:" + strconv.Itoa(i)
	}
	b.Run("many_keys", func(b *testing.B) {
		l := New(Options{})
		i := 0
		for b.Loop() {
			_, _ = l.Allow(b.Context(), keys[i&(len(keys)-1)], lim)
			i++
		}
	})
	b.Run("flood_over_cap", func(b *testing.B) { // 64k keys busy for an hour, a cap of 4,096: each call evicts
		l := New(Options{MaxKeys: 1 << 12})
		slow := ports.Limit{Rate: 1, Period: time.Hour}
		i := 0
		for b.Loop() {
			_, _ = l.Allow(b.Context(), keys[i&(len(keys)-1)], slow)
			i++
		}
	})
	b.Run("many_keys_parallel", func(b *testing.B) {
		l := New(Options{})
		var seq atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			i := int(seq.Add(1)) * 7919
			for pb.Next() {
				_, _ = l.Allow(b.Context(), keys[i&(len(keys)-1)], lim)
				i++
			}
		})
	})
}

// A flood of distinct keys fills a Limiter only up to MaxKeys; every new
// key is still counted, and a full shard makes room from keys at rest.
func TestMaxKeys(t *testing.T) {
	t.Parallel()
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	const maxKeys = shardCount * 4
	l := New(Options{Clock: c, MaxKeys: maxKeys})
	lim := ports.Limit{Rate: 1, Period: time.Hour}
	for i := range 100 * maxKeys {
		key := "flood-" + strconv.Itoa(i)
		if r := allow(t, l, key, lim); !r.Allowed {
			t.Fatalf("new key %d refused", i)
		}
		if i%97 == 0 { // every key is counted, even over the cap
			if r := allow(t, l, key, lim); r.Allowed {
				t.Fatalf("a second request of new key %d within the hour was let through", i)
			}
		}
	}
	if n := l.size(); n > maxKeys {
		t.Fatalf("the limiter holds %d keys, want at most %d", n, maxKeys)
	}
	// An hour later every key is at rest: a full shard sweeps and counts
	// new keys again.
	c.Advance(time.Hour + time.Second)
	allow(t, l, "late", lim)
	if r := allow(t, l, "late", lim); r.Allowed {
		t.Error("a new key after the flood went to rest was not counted")
	}
}
