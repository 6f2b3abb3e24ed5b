package redislimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/credence-dev/credence/adapters/redislimit"
	"github.com/credence-dev/credence/ports"
)

// The behaviour both limiters share is checked by contract-tests/ratelimit;
// these tests cover what is Redis's own: URLs, errors, key names.

const (
	envRedisURL        = "CREDENCE_TEST_REDIS_URL"
	envRequireServices = "CREDENCE_TEST_REQUIRE_SERVICES"
)

// Redis errors are returned, for the caller to decide whether to fail open.
func TestUnreachableRedisIsAnError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	l := redislimit.New(rdb, redislimit.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if r, err := l.Allow(ctx, "k", ports.Limit{Rate: 1, Period: time.Second}); err == nil {
		t.Errorf("Allow without Redis = %+v, want an error", r)
	}
	if err := l.Ping(ctx); err == nil {
		t.Error("Ping without Redis succeeded")
	}
	// No limit asks nothing of Redis.
	if r, err := l.Allow(ctx, "k", ports.Limit{}); err != nil || !r.Allowed {
		t.Errorf("Allow with no limit without Redis = %+v, %v; want allowed", r, err)
	}
}

// Keys are prefix + key, expire once at rest, and a client passed
// to New stays open after Close.
func TestKeysArePrefixedAndExpire(t *testing.T) {
	t.Parallel()
	rdb := client(t)
	l := redislimit.New(rdb, redislimit.Options{})
	key := "test:" + randomHex(t)
	name := redislimit.DefaultPrefix + key
	t.Cleanup(func() { rdb.Del(context.Background(), name) })

	if _, err := l.Allow(t.Context(), key, ports.Limit{Rate: 10, Period: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.TTL(t.Context(), name).Result()
	if err != nil {
		t.Fatal(err)
	}
	// After one event of 10 a minute the key is at rest in 6s.
	if ttl <= 0 || ttl > 6*time.Second {
		t.Errorf("TTL of %s = %s, want within (0, 6s]", name, ttl)
	}
}

func BenchmarkAllow(b *testing.B) {
	rdb := client(b)
	prefix := "credence:rl:bench:" + randomHex(b) + ":"
	l := redislimit.New(rdb, redislimit.Options{Prefix: prefix})
	b.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	lim := ports.Limit{Rate: 100, Period: time.Minute}
	b.Run("one_key", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Allow(b.Context(), "org:42", lim); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("many_keys_parallel", func(b *testing.B) {
		var seq atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := l.Allow(b.Context(), "org:"+strconv.FormatInt(seq.Add(1)&0xffff, 10), lim); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// client returns a client of the Redis of CREDENCE_TEST_REDIS_URL, closed
// when tb ends. Without that variable it skips tb, or fails it under
// CREDENCE_TEST_REQUIRE_SERVICES=1.
func client(tb testing.TB) *redis.Client {
	tb.Helper()
	u := os.Getenv(envRedisURL)
	if u == "" {
		msg := "no Redis: " + envRedisURL + " is unset"
		if os.Getenv(envRequireServices) == "1" {
			tb.Fatalf("%s (%s=1 requires it)", msg, envRequireServices)
		}
		tb.Skipf("%s; set it (e.g. redis://127.0.0.1:6379/0) to run against a server", msg)
	}
	opt, err := redis.ParseURL(u)
	if err != nil {
		tb.Fatalf("%s: %v", envRedisURL, err)
	}
	rdb := redis.NewClient(opt)
	tb.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		tb.Fatalf("Redis of %s does not answer: %v", envRedisURL, err)
	}
	return rdb
}

func randomHex(tb testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// A Redis that lost its scripts (restarted, or SCRIPT FLUSH) is sent the
// script whole, and counting goes on where it was.
func TestScriptsLostByRedisAreSentAgain(t *testing.T) {
	rdb := client(t)
	prefix := "credence:rl:test:" + randomHex(t) + ":"
	l := redislimit.New(rdb, redislimit.Options{Prefix: prefix})
	t.Cleanup(func() { rdb.Del(context.Background(), prefix+"k") })
	lim := ports.Limit{Rate: 3, Period: time.Minute}
	if r, err := l.Allow(t.Context(), "k", lim); err != nil || r.Remaining != 2 {
		t.Fatalf("first Allow = %+v, %v", r, err)
	}
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Allow(t.Context(), "k", lim); err != nil || !r.Allowed || r.Remaining != 1 {
		t.Fatalf("Allow after SCRIPT FLUSH = %+v, %v; want allowed with Remaining 1", r, err)
	}
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if err := l.Refund(t.Context(), "k", lim); err != nil {
		t.Fatalf("Refund after SCRIPT FLUSH: %v", err)
	}
	if r, err := l.Allow(t.Context(), "k", lim); err != nil || r.Remaining != 1 {
		t.Fatalf("Allow after the refund = %+v, %v; want Remaining 1", r, err)
	}
}

// A Redis that takes connections and never answers costs each Allow at
// most its wait budget (a second), however many calls queue behind it,
// not the client's read timeouts: the caller gets an error and lets the
// request through.
func TestSilentRedisFailsWithinTheWaitBudget(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() }) // read nothing, answer nothing
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: 30 * time.Second, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	l := redislimit.New(rdb, redislimit.Options{Pause: 500 * time.Millisecond})
	start := time.Now()
	errs := make(chan error, 300)
	for i := range 300 {
		go func() {
			_, err := l.Allow(t.Context(), "ip:"+strconv.Itoa(i), ports.Limit{Rate: 10, Period: time.Minute})
			errs <- err
		}()
	}
	for range 300 {
		if err := <-errs; err == nil {
			t.Fatal("Allow answered without Redis")
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("300 Allows against a silent Redis took %s, want each within about a second", took)
	}
	// Redis having failed, the next checks fail at once for the pause,
	// then Redis is asked again.
	lim := ports.Limit{Rate: 10, Period: time.Minute}
	start = time.Now()
	if _, err := l.Allow(t.Context(), "ip:next", lim); err == nil || time.Since(start) > 100*time.Millisecond {
		t.Errorf("a check right after Redis failed: %v after %s, want an error at once", err, time.Since(start))
	}
	time.Sleep(600 * time.Millisecond)
	start = time.Now()
	if _, err := l.Allow(t.Context(), "ip:later", lim); err == nil || time.Since(start) < 500*time.Millisecond {
		t.Errorf("a check after the pause: %v after %s, want Redis asked again (and its wait)", err, time.Since(start))
	}
}
