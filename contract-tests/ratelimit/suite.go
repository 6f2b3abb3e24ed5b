// Package ratelimit is the contract suite of ports.RateLimiter: the
// in-process limiter and the Redis one run the same Run, so they decide
// alike. Each case names the port sentence it checks.
//
// The limiters read the real clock (Redis reads its own), so cases that
// need time to pass wait for it; they use limits whose arithmetic is exact
// in binary floating point (the Redis limiter computes in Lua doubles) and
// tolerances for the time the calls themselves take.
package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credence-dev/credence/ports"
)

// Setup is one fresh, isolated space of limiters: no key of it meets a key
// of another Setup.
type Setup struct {
	// New returns a limiter; every call returns another instance, as
	// another replica would have.
	New func() ports.RateLimiter
	// Shared says whether instances from New share counts (one Redis) or
	// each count for themselves (in process).
	Shared bool
}

// Factory returns a fresh Setup, released when t ends.
type Factory func(t *testing.T) Setup

// Tolerances for real time: slack is how much the calls of a case may take
// altogether; early is how far before its RetryAfter a key may be allowed
// again (the test's clock and Redis's need not tick together).
const (
	slack    = 2 * time.Second
	early    = 20 * time.Millisecond
	deadline = 10 * time.Second
)

// Run runs every case of the contract against limiters from newSetup. Each
// case gets its own Setup and runs in parallel with the others.
func Run(t *testing.T, newSetup Factory) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, Setup)
	}{
		{"burst_of_rate_then_refused", testBurst},
		{"remaining_counts_down_to_zero", testRemaining},
		{"refused_event_is_not_counted", testRefusedNotCounted},
		{"reset_after_grows_to_period", testResetAfter},
		{"allowed_again_after_retry_after", testRefill},
		{"full_again_after_reset_after", testFullAgain},
		{"keys_are_independent", testKeysIndependent},
		{"rate_zero_or_less_never_refuses", testNoLimit},
		{"period_zero_or_less_is_an_error", testBadPeriod},
		{"done_context_is_an_error_and_counts_nothing", testDoneContext},
		{"concurrent_calls_allow_exactly_rate", testConcurrent},
		{"concurrent_keys_do_not_interfere", testConcurrentKeys},
		{"instances_share_counts_when_shared", testInstances},
		{"refund_gives_one_event_back", testRefund},
		{"refund_never_goes_beyond_rate", testRefundBeyondRest},
		{"refund_rate_zero_bad_period_done_context", testRefundEdges},
		{"concurrent_allows_and_refunds_apply_in_turn", testRefundConcurrent},
		{"refunds_shared_when_shared", testRefundInstances},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newSetup(t))
		})
	}
}

// hour is a Period no case outlives, so nothing refills during it; over
// every Rate the cases give it, it is a whole number of seconds.
const hour = time.Hour

// ---- cases ----

// A key at rest allows exactly Rate events at once, then refuses with
// RetryAfter ≈ Period/Rate.
func testBurst(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 5, Period: hour}
	for i := range lim.Rate {
		r := allow(t, l, key, lim)
		if !r.Allowed {
			t.Fatalf("event %d of a burst of %d refused: %+v", i+1, lim.Rate, r)
		}
		if r.Limit != lim.Rate || r.RetryAfter != 0 {
			t.Errorf("event %d: Limit %d, RetryAfter %s; want %d, 0", i+1, r.Limit, r.RetryAfter, lim.Rate)
		}
	}
	r := allow(t, l, key, lim)
	if r.Allowed {
		t.Fatalf("event %d of a limit of %d allowed: %+v", lim.Rate+1, lim.Rate, r)
	}
	if r.Limit != lim.Rate || r.Remaining != 0 {
		t.Errorf("refused: Limit %d, Remaining %d; want %d, 0", r.Limit, r.Remaining, lim.Rate)
	}
	within(t, "refused RetryAfter", r.RetryAfter, lim.Period/time.Duration(lim.Rate)-slack, lim.Period/time.Duration(lim.Rate))
}

// Remaining counts down to 0, this event counted, also when Period/Rate
// has no exact binary form (the Redis limiter computes in doubles).
func testRemaining(t *testing.T, s Setup) {
	l := s.New()
	for _, lim := range []ports.Limit{
		{Rate: 4, Period: hour},
		{Rate: 100, Period: time.Minute},       // 0.6s each
		{Rate: 10, Period: time.Second},        // 0.1s
		{Rate: 7, Period: 7 * time.Second / 3}, // 1/3s
	} {
		key := newKey(t)
		var got []int
		for range lim.Rate + 2 {
			got = append(got, allow(t, l, key, lim).Remaining)
		}
		want := []int{0, 0}
		for i := range lim.Rate {
			want = append([]int{i}, want...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Remaining over %d calls of a limit of %d per %s = %v, want %v", len(want), lim.Rate, lim.Period, got, want)
		}
	}
	// A key at rest tells Rate-1 after its first event, also for short
	// intervals without an exact form in µs, whose arithmetic over a
	// clock counted in µs since 1970 loses a fraction of a µs.
	for _, lim := range []ports.Limit{
		{Rate: 900, Period: time.Minute}, // 66,666.7µs each
		{Rate: 70, Period: time.Second},  // 14,285.7µs
		{Rate: 3, Period: time.Millisecond},
		{Rate: 100000, Period: time.Minute},
	} {
		for range 20 {
			if r := allow(t, l, newKey(t), lim); r.Remaining != lim.Rate-1 {
				t.Errorf("first event of a key at rest under %d per %s: Remaining %d, want %d", lim.Rate, lim.Period, r.Remaining, lim.Rate-1)
				break
			}
		}
	}
}

// A refused event is not counted: refusals do not push RetryAfter further.
func testRefusedNotCounted(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 2, Period: hour}
	spend(t, l, key, lim, lim.Rate)
	first := allow(t, l, key, lim)
	for range 10 {
		allow(t, l, key, lim)
	}
	last := allow(t, l, key, lim)
	if first.Allowed || last.Allowed {
		t.Fatalf("over the limit allowed: %+v, %+v", first, last)
	}
	within(t, "RetryAfter after 11 refusals", last.RetryAfter, first.RetryAfter-slack, first.RetryAfter)
	within(t, "ResetAfter after 11 refusals", last.ResetAfter, first.ResetAfter-slack, first.ResetAfter)
}

// ResetAfter is how long until the key is back at its full allowance: one
// Period/Rate per event spent, Period once all are spent.
func testResetAfter(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 4, Period: hour}
	interval := lim.Period / time.Duration(lim.Rate)
	for i := 1; i <= lim.Rate; i++ {
		r := allow(t, l, key, lim)
		want := time.Duration(i) * interval
		within(t, "ResetAfter", r.ResetAfter, want-slack, want)
	}
	r := allow(t, l, key, lim)
	if r.Allowed {
		t.Fatalf("over the limit allowed: %+v", r)
	}
	within(t, "refused ResetAfter", r.ResetAfter, lim.Period-slack, lim.Period)
}

// A refused key is allowed again after RetryAfter, not before, and for one
// event only.
func testRefill(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 3, Period: 750 * time.Millisecond} // one every 250ms
	spend(t, l, key, lim, lim.Rate)
	refused := allow(t, l, key, lim)
	start := time.Now()
	if refused.Allowed {
		t.Fatalf("over the limit allowed: %+v", refused)
	}
	within(t, "RetryAfter", refused.RetryAfter, 150*time.Millisecond, 250*time.Millisecond)

	// Polling is fair: refused calls count nothing.
	var r ports.LimitResult
	for r = allow(t, l, key, lim); !r.Allowed; r = allow(t, l, key, lim) {
		if time.Since(start) > deadline {
			t.Fatalf("still refused %s after RetryAfter %s: %+v", time.Since(start), refused.RetryAfter, r)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if waited := time.Since(start); waited < refused.RetryAfter-early {
		t.Errorf("allowed again after %s, RetryAfter was %s", waited, refused.RetryAfter)
	}
	if r.Remaining != 0 {
		t.Errorf("first event after a refusal: Remaining %d, want 0", r.Remaining)
	}
	if again := allow(t, l, key, lim); again.Allowed {
		t.Errorf("second event after a refusal allowed: %+v", again)
	}
}

// A key is back at its full Rate after ResetAfter.
func testFullAgain(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 3, Period: 750 * time.Millisecond}
	spend(t, l, key, lim, lim.Rate)
	r := allow(t, l, key, lim)
	if r.Allowed {
		t.Fatalf("over the limit allowed: %+v", r)
	}
	// Waiting is the point: the limiter reads the real clock (Redis its own).
	time.Sleep(r.ResetAfter + early)
	var got []int
	for range lim.Rate {
		r := allow(t, l, key, lim)
		if !r.Allowed {
			t.Fatalf("refused after ResetAfter, having allowed %d: %+v", len(got), r)
		}
		got = append(got, r.Remaining)
	}
	if want := []int{2, 1, 0}; !slices.Equal(got, want) {
		t.Errorf("Remaining after reset = %v, want %v", got, want)
	}
}

// Keys are independent.
func testKeysIndependent(t *testing.T, s Setup) {
	l, a, b := s.New(), newKey(t), newKey(t)
	lim := ports.Limit{Rate: 3, Period: hour}
	spend(t, l, a, lim, lim.Rate)
	if r := allow(t, l, b, lim); !r.Allowed || r.Remaining != lim.Rate-1 {
		t.Errorf("other key after one was spent: %+v, want allowed with Remaining %d", r, lim.Rate-1)
	}
	if r := allow(t, l, a, lim); r.Allowed {
		t.Errorf("spent key allowed after another key's event: %+v", r)
	}
	// Keys differing only in case or by a prefix are different keys.
	for _, other := range []string{strings.ToUpper(a), a + "x", "x" + a, a[:len(a)-1]} {
		if r := allow(t, l, other, lim); !r.Allowed || r.Remaining != lim.Rate-1 {
			t.Errorf("key %q next to spent %q: %+v", other, a, r)
		}
	}
}

// Rate <= 0 never refuses, counts nothing, and reports no limit.
func testNoLimit(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	for _, lim := range []ports.Limit{{Rate: 0, Period: hour}, {Rate: -1, Period: hour}, {}} {
		for range 200 {
			if r := allow(t, l, key, lim); r != (ports.LimitResult{Allowed: true}) {
				t.Fatalf("Allow with %+v = %+v, want allowed and no limit", lim, r)
			}
		}
	}
	lim := ports.Limit{Rate: 2, Period: hour}
	if r := allow(t, l, key, lim); r.Remaining != 1 {
		t.Errorf("limited after 600 unlimited events: %+v, want Remaining 1", r)
	}
}

// Rate > 0 with Period <= 0 is an error.
func testBadPeriod(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	for _, lim := range []ports.Limit{{Rate: 1}, {Rate: 10, Period: -time.Second}} {
		if r, err := l.Allow(t.Context(), key, lim); err == nil {
			t.Errorf("Allow with %+v = %+v, want an error", lim, r)
		}
	}
}

// Allow with a ctx already done returns its error and counts nothing.
func testDoneContext(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 1, Period: hour}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if r, err := l.Allow(ctx, key, lim); err == nil {
		t.Errorf("Allow with a cancelled ctx = %+v, want an error", r)
	}
	if r := allow(t, l, key, lim); !r.Allowed {
		t.Errorf("the only event after a failed call refused: %+v", r)
	}
}

// Allow is atomic: 50 goroutines × 10 calls on a burst of 100 allow exactly
// 100, each seeing a Remaining no other saw.
func testConcurrent(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 100, Period: hour}
	var (
		mu        sync.Mutex
		remaining []int
		refused   int
		wg        sync.WaitGroup
	)
	for range 50 {
		wg.Go(func() {
			for range 10 {
				r, err := l.Allow(t.Context(), key, lim)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if r.Allowed {
					remaining = append(remaining, r.Remaining)
				} else {
					refused++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(remaining) != lim.Rate || refused != 500-lim.Rate {
		t.Fatalf("allowed %d, refused %d of 500; want %d, %d", len(remaining), refused, lim.Rate, 500-lim.Rate)
	}
	slices.Sort(remaining)
	for i, r := range remaining {
		if r != i {
			t.Fatalf("Remaining of the allowed events, sorted = %v, want 0…%d once each", remaining, lim.Rate-1)
		}
	}
}

// Keys are independent under concurrency too: 20 keys spent at once by 4
// goroutines each allow their Rate each.
func testConcurrentKeys(t *testing.T, s Setup) {
	l := s.New()
	lim := ports.Limit{Rate: 5, Period: hour}
	keys := make([]string, 20)
	allowed := make([]int, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range keys {
		keys[i] = newKey(t)
		for range 4 {
			wg.Go(func() {
				for range 3 {
					r, err := l.Allow(t.Context(), keys[i], lim)
					if err != nil {
						t.Error(err)
						return
					}
					if r.Allowed {
						mu.Lock()
						allowed[i]++
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	for i, n := range allowed {
		if n != lim.Rate {
			t.Errorf("key %d: %d of 12 allowed, want %d", i, n, lim.Rate)
		}
	}
}

// Limiters sharing a store share counts, so a limit holds across replicas,
// even when they race; an in-process limiter counts for itself alone.
func testInstances(t *testing.T, s Setup) {
	a, b := s.New(), s.New()
	lim := ports.Limit{Rate: 5, Period: hour}

	key := newKey(t)
	spend(t, a, key, lim, 3)
	r := allow(t, b, key, lim)
	want := 1 // b spends the 4th of 5
	if !s.Shared {
		want = lim.Rate - 1 // b's first of its own 5
	}
	if !r.Allowed || r.Remaining != want {
		t.Errorf("other instance after 3 events (shared %t): %+v, want allowed with Remaining %d", s.Shared, r, want)
	}

	key = newKey(t)
	lim = ports.Limit{Rate: 60, Period: hour}
	var n [2]int
	var wg sync.WaitGroup
	for i, l := range []ports.RateLimiter{a, b} {
		wg.Go(func() {
			for range 50 {
				r, err := l.Allow(t.Context(), key, lim)
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					n[i]++
				}
			}
		})
	}
	wg.Wait()
	total := 2 * 50
	if s.Shared {
		total = lim.Rate
	}
	if n[0]+n[1] != total {
		t.Errorf("two instances racing, 50 calls each on a limit of %d (shared %t): %d + %d allowed, want %d in all",
			lim.Rate, s.Shared, n[0], n[1], total)
	}
}

// Refund gives one event of key back: one more event is allowed at once
// (Remaining as if the refunded one had not happened), and a refused key
// is allowed again, for that one event.
func testRefund(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 5, Period: hour}
	spend(t, l, key, lim, 3)
	refundOne(t, l, key, lim)
	if r := allow(t, l, key, lim); !r.Allowed || r.Remaining != 2 {
		t.Errorf("after 3 events and a refund: %+v, want allowed with Remaining 2", r)
	}
	spend(t, l, key, lim, 2)
	if r := allow(t, l, key, lim); r.Allowed {
		t.Fatalf("over the limit allowed: %+v", r)
	}
	refundOne(t, l, key, lim)
	if r := allow(t, l, key, lim); !r.Allowed || r.Remaining != 0 {
		t.Errorf("a spent key after a refund: %+v, want allowed with Remaining 0", r)
	}
	if r := allow(t, l, key, lim); r.Allowed {
		t.Errorf("a refund allowed more than one event: %+v", r)
	}
}

// Refund "never takes a key beyond rest": refunds of a key at rest, or
// more refunds than events, leave exactly Rate events allowed at once.
func testRefundBeyondRest(t *testing.T, s Setup) {
	l := s.New()
	lim := ports.Limit{Rate: 4, Period: hour}
	for _, spent := range []int{0, 1, 3} {
		key := newKey(t)
		spend(t, l, key, lim, spent)
		for range spent + 3 {
			refundOne(t, l, key, lim)
		}
		if n := allowedInARow(t, l, key, lim); n != lim.Rate {
			t.Errorf("%d events, %d refunds: %d allowed in a row, want %d", spent, spent+3, n, lim.Rate)
		}
	}
}

// Refund: "Rate <= 0 gives nothing back and is no error; Rate > 0 with
// Period <= 0 is an error; a ctx already done returns its error and gives
// nothing back".
func testRefundEdges(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	for _, lim := range []ports.Limit{{Rate: 0, Period: hour}, {Rate: -1}, {}} {
		if err := l.Refund(t.Context(), key, lim); err != nil {
			t.Errorf("Refund with %+v: %v, want no error", lim, err)
		}
	}
	for _, lim := range []ports.Limit{{Rate: 1}, {Rate: 10, Period: -time.Second}} {
		if err := l.Refund(t.Context(), key, lim); err == nil {
			t.Errorf("Refund with %+v: no error, want one", lim)
		}
	}
	lim := ports.Limit{Rate: 2, Period: hour}
	spend(t, l, key, lim, lim.Rate)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Refund(ctx, key, lim); err == nil {
		t.Error("Refund with a cancelled ctx: no error, want its error")
	}
	if r := allow(t, l, key, lim); r.Allowed {
		t.Errorf("a refund with a cancelled ctx gave an event back: %+v", r)
	}
}

// "Concurrent Allows and Refunds of one key apply one after the other":
// callers that each take an event and give it back never hold more than
// Rate at once, and leave the key at rest; Rate events taken at once and
// three times as many refunds racing leave exactly Rate allowed again.
func testRefundConcurrent(t *testing.T, s Setup) {
	l, key := s.New(), newKey(t)
	lim := ports.Limit{Rate: 5, Period: hour}
	var held, most, taken atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 15 {
				r, err := l.Allow(t.Context(), key, lim)
				if err != nil {
					t.Error(err)
					return
				}
				if !r.Allowed {
					continue
				}
				taken.Add(1)
				n := held.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				held.Add(-1)
				if err := l.Refund(t.Context(), key, lim); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if most.Load() > int64(lim.Rate) || taken.Load() < int64(lim.Rate) {
		t.Errorf("took %d events, at most %d held at once; want at least %d taken and never more than %d held",
			taken.Load(), most.Load(), lim.Rate, lim.Rate)
	}
	if n := allowedInARow(t, l, key, lim); n != lim.Rate {
		t.Errorf("after every event was given back: %d allowed in a row, want %d", n, lim.Rate)
	}

	key = newKey(t)
	var allowed atomic.Int64
	for range 3 * lim.Rate {
		wg.Go(func() {
			if r, err := l.Allow(t.Context(), key, lim); err != nil {
				t.Error(err)
			} else if r.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if allowed.Load() != int64(lim.Rate) {
		t.Fatalf("%d of %d concurrent events allowed, want %d", allowed.Load(), 3*lim.Rate, lim.Rate)
	}
	for range 3 * lim.Rate {
		wg.Go(func() {
			if err := l.Refund(t.Context(), key, lim); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := allowedInARow(t, l, key, lim); n != lim.Rate {
		t.Errorf("after %d concurrent refunds of %d events: %d allowed in a row, want %d", 3*lim.Rate, lim.Rate, n, lim.Rate)
	}
}

// Limiters sharing a store share refunds too; an in-process limiter's
// refund concerns its own counts alone.
func testRefundInstances(t *testing.T, s Setup) {
	a, b := s.New(), s.New()
	lim := ports.Limit{Rate: 3, Period: hour}
	key := newKey(t)
	spend(t, a, key, lim, lim.Rate)
	refundOne(t, b, key, lim)
	if r := allow(t, a, key, lim); r.Allowed != s.Shared {
		t.Errorf("spent on one instance, refunded on another (shared %t): %+v, want allowed %t", s.Shared, r, s.Shared)
	}
}

// ---- helpers ----

// refundOne calls Refund and fails t on an error.
func refundOne(t *testing.T, l ports.RateLimiter, key string, lim ports.Limit) {
	t.Helper()
	if err := l.Refund(t.Context(), key, lim); err != nil {
		t.Fatalf("Refund(%q, %+v): %v", key, lim, err)
	}
}

// allowedInARow counts the events of key allowed before the first refusal
// (at most 2×Rate).
func allowedInARow(t *testing.T, l ports.RateLimiter, key string, lim ports.Limit) int {
	t.Helper()
	for n := range 2 * lim.Rate {
		if !allow(t, l, key, lim).Allowed {
			return n
		}
	}
	return 2 * lim.Rate
}

// allow calls Allow and fails t on an error.
func allow(t *testing.T, l ports.RateLimiter, key string, lim ports.Limit) ports.LimitResult {
	t.Helper()
	r, err := l.Allow(t.Context(), key, lim)
	if err != nil {
		t.Fatalf("Allow(%q, %+v): %v", key, lim, err)
	}
	return r
}

// spend makes n events of key, each of which must be allowed.
func spend(t *testing.T, l ports.RateLimiter, key string, lim ports.Limit, n int) {
	t.Helper()
	for i := range n {
		if r := allow(t, l, key, lim); !r.Allowed {
			t.Fatalf("event %d of %d refused: %+v", i+1, n, r)
		}
	}
}

// within fails t unless lo <= d <= hi.
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s = %s, want within [%s, %s]", what, d, lo, hi)
	}
}

// newKey returns a key no other test uses.
func newKey(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "key:" + hex.EncodeToString(b[:])
}
