package redislimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/ports"
)

// One batch with calls for several keys, some repeated, answers each call
// what as many calls one after the other would have: the calls for one key
// and limit are counted in the order they came, a refused one counts
// nothing, keys stay apart, and the runs of one key under two limits
// (which httpapi never makes) are counted one after the other, in the
// order of their first calls.
func TestBatchCountsEachKeysCallsInOrder(t *testing.T) {
	u := os.Getenv("CREDENCE_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CREDENCE_TEST_REQUIRE_SERVICES") == "1" {
			t.Fatal("no Redis: CREDENCE_TEST_REDIS_URL is unset (CREDENCE_TEST_REQUIRE_SERVICES=1 requires it)")
		}
		t.Skip("no Redis: set CREDENCE_TEST_REDIS_URL")
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "credence:rl:test:" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { rdb.Del(context.Background(), prefix+"a", prefix+"b") })
	l := New(rdb, Options{Prefix: prefix})

	three := ports.Limit{Rate: 3, Period: time.Minute}
	ten := ports.Limit{Rate: 10, Period: time.Minute}
	a, b3, b10 := allowCall{prefix + "a", three}, allowCall{prefix + "b", three}, allowCall{prefix + "b", ten}
	calls := []allowCall{a, b3, a, a, a, b10, a, b3}
	out, errs, err := l.allowAll(t.Context(), calls)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		allowed   bool
		remaining int
	}
	wants := []want{
		{true, 2},  // a: 1st of 3
		{true, 2},  // b under 3 a minute: 1st
		{true, 1},  // a: 2nd
		{true, 0},  // a: 3rd
		{false, 0}, // a: refused
		{true, 2},  // b under 10 a minute, after both of b's calls under 3: its TAT 40s ahead, +6s: 14s of 60 left, 2 intervals
		{false, 0}, // a: refused again, counting nothing
		{true, 1},  // b under 3 a minute: 2nd, counted in the run of the first
	}
	for i, w := range wants {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		r := out[i]
		if r.Allowed != w.allowed || r.Remaining != w.remaining {
			t.Errorf("call %d (%s, %d a minute): allowed %v, remaining %d; want %v, %d", i, calls[i].key[len(prefix):], calls[i].limit.Rate,
				r.Allowed, r.Remaining, w.allowed, w.remaining)
		}
		if !r.Allowed && (r.RetryAfter <= 0 || r.RetryAfter > 20*time.Second) {
			t.Errorf("call %d: refused with RetryAfter %s, want within (0, 20s]", i, r.RetryAfter)
		}
	}
	// The refusals counted nothing: a's next event is due one interval
	// (20s) after its first, not later.
	r, err := l.Allow(t.Context(), "a", three)
	if err != nil || r.Allowed || r.RetryAfter > 20*time.Second {
		t.Errorf("a after the batch: %+v, %v; want refused, due within 20s", r, err)
	}
}
